package load

import (
	"bufio"
	"net"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// forbidden are the fields a response must never carry (CONTRACT §2): card data from the request.
var forbidden = [...]struct {
	id     int
	reason string
}{
	{14, "response carries field 14 (expiry)"},
	{35, "response carries field 35 (track 2)"},
	{45, "response carries field 45 (track 1)"},
	{52, "response carries field 52 (PIN block)"},
	{55, "response carries field 55 (ICC data)"},
}

// readLoop reads, matches and checks answers until the connection is closed.
func (c *conn) readLoop(nc net.Conn) {
	cfg := &c.g.cfg
	br := bufio.NewReaderSize(nc, readBufferSize)
	var buf, line []byte
	for {
		frame, err := iso8583.ReadFrame(br, cfg.Framing, cfg.MaxFrame, buf)
		if err != nil {
			return
		}
		buf = frame[:0]
		now := time.Now()
		_, msg, err := cfg.Header.Split(frame)
		var resp *iso8583.Message
		if err == nil {
			resp, err = iso8583.Unpack(cfg.Spec, msg)
		}
		if err != nil {
			c.mu.Lock()
			c.mu.stats.unmatched++
			c.mu.Unlock()
			c.g.noteUnreadable(c.term.id, err)
			continue
		}
		if line = c.answer(resp, now, line[:0]); len(line) > 0 {
			c.g.ledgerLog.write(line)
		}
	}
}

// answer matches resp to its request, checks it and counts it. When the answer is an approval and
// a ledger log is kept, it returns the log line appended to line.
func (c *conn) answer(resp *iso8583.Message, now time.Time, line []byte) []byte {
	stan, ok := parseSTAN(resp.STAN)
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &c.mu.stats
	r := c.mu.inflight[stan]
	if !ok || r == nil {
		if ok {
			st.late++
		} else {
			st.unmatched++
		}
		return line
	}
	delete(c.mu.inflight, stan)
	if c.wait.CompareAndSwap(true, false) {
		select {
		case c.freed <- struct{}{}:
		default:
		}
	}
	k := &st.kinds[r.kind]
	st.answered++
	k.Answered++
	st.codes[codeKey(resp.ResponseCode)]++
	st.record(now.Sub(r.intended))
	approved := resp.ResponseCode == iso8583.RCApproved
	if approved {
		k.Approved++
	}
	if reason := c.verdict(r, resp); reason != "" {
		st.unexpected++
		k.Unexpected++
		c.g.noteUnexpected(r, resp, c.term.id, reason)
	} else if approved {
		c.approvedLocked(r, resp, now)
	}
	if approved && c.g.ledgerLog != nil {
		line = c.g.ledgerLine(line, r, resp, c.term.id)
	}
	if !c.repeatAfterMalfunctionLocked(r, resp.ResponseCode) {
		c.recycleLocked(r)
	}
	return line
}

// repeatAfterMalfunctionLocked queues a repeat (0401, 0221) of a reversal or completion answered
// 96, as of one never answered: a terminal keeps a reversal or an advice until the switch
// acknowledges it, and the switch processes a repeat after a 96 again (its outcome is unknown,
// not a refusal). It reports whether r was queued.
func (c *conn) repeatAfterMalfunctionLocked(r *request, code string) bool {
	if code != iso8583.RCSystemMalfunction || r.repeats >= c.g.cfg.RepeatsMax {
		return false
	}
	switch iso8583.MTIClass(r.mti) {
	case iso8583.MTIReversal, iso8583.MTICompletion:
	default:
		return false
	}
	r.follow = followRepeat
	if dropped, full := c.mu.followUps.push(r); full {
		c.mu.stats.dropped++
		c.recycleLocked(dropped)
	}
	return true
}

// verdict returns "" when resp is the right answer to r, and otherwise what is wrong with it.
func (c *conn) verdict(r *request, resp *iso8583.Message) string {
	if resp.MTI != responseMTI(r.mti) {
		return "wrong response MTI"
	}
	for _, f := range forbidden {
		if resp.Has(f.id) {
			return f.reason
		}
	}
	switch {
	case resp.PAN != r.card.pan:
		return "field 2 (PAN) not echoed"
	case resp.ProcessingCode != r.pc:
		return "field 3 (processing code) not echoed"
	case !amountIs(resp.Amount, r.amount):
		return "field 4 (amount) not echoed"
	case resp.TransmissionDateTime != string(r.f7[:]):
		return "field 7 (transmission date and time) not echoed"
	case r.hasOrig && r.orig.rrn != "" && resp.RRN != r.orig.rrn:
		return "field 37 (RRN) not echoed"
	case resp.TerminalID != c.term.id:
		return "field 41 (terminal) not echoed"
	case resp.MerchantID != c.g.merchantIDs[r.merchant]:
		return "field 42 (merchant) not echoed"
	case resp.Currency != c.g.cfg.Currency:
		return "field 49 (currency) not echoed"
	case !r.expected(resp.ResponseCode):
		return "unexpected response code"
	case resp.ResponseCode == iso8583.RCApproved && r.needsApprovalCode() && len(resp.ApprovalCode) != 6:
		return "approval without a 6-character approval code (38)"
	}
	return ""
}

// approvedLocked remembers an approved transaction for the follow-ups that may refer to it.
func (c *conn) approvedLocked(r *request, resp *iso8583.Message, now time.Time) {
	rrn := resp.RRN
	if len(rrn) != 12 {
		rrn = "" // a peer that assigns none (an issuer simulator as target): follow-ups use field 90 alone
	}
	switch r.kind {
	case KindPurchase, KindSlow:
		c.mu.purchases.push(r.asOriginal(rrn))
	case KindPreauth:
		if r.capture > 0 {
			c.mu.completions.push(pendingCompletion{hold: r.asOriginal(rrn), amount: r.capture, due: now.Add(c.g.cfg.CompletionDelay)})
		} else {
			c.mu.preauths.push(r.asOriginal(rrn))
		}
	}
}

// parseSTAN reads field 11.
func parseSTAN(s string) (uint32, bool) {
	if len(s) != 6 {
		return 0, false
	}
	var n uint32
	for i := 0; i < 6; i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + uint32(d)
	}
	return n, true
}

// amountIs reports whether field 4 holds amount, without allocating.
func amountIs(s string, amount int64) bool {
	n, err := iso8583.ParseAmount(s)
	return err == nil && n == amount
}

// atoi2 reads two ASCII digits.
func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }
