package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/simulator/issuer"
)

// TestAgainstIssuerSimulator runs the default mix against the real issuer simulator: every
// answer is what the request should get, and every request is answered.
func TestAgainstIssuerSimulator(t *testing.T) {
	sim, err := issuer.New(issuer.Config{Listen: "127.0.0.1:0"}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("issuer simulator: %v", err)
		}
	}()
	rep := run(t, sim.Addr(), Config{Rate: 1000, Duration: testWait, Requests: 500, Terminals: 4, CompletionDelay: time.Millisecond})
	if rep.Sent != 500 || rep.Answered != rep.Sent || rep.Unexpected != 0 || rep.Timeouts != 0 {
		t.Fatalf("sent %d answered %d unexpected %d timeouts %d; want 500 sent, all answered as expected: %v",
			rep.Sent, rep.Answered, rep.Unexpected, rep.Timeouts, rep.Examples)
	}
	for _, k := range []string{"purchase", "preauth", "decline"} {
		if rep.Kinds[k].Answered == 0 {
			t.Errorf("no %s answered: %+v", k, rep.Kinds)
		}
	}
}

// TestOpenModelSlots checks that the open model has Rate × Duration send slots, dealt over the
// connections.
func TestOpenModelSlots(t *testing.T) {
	f := startFake(t, nil)
	rep := run(t, f.addr(), Config{Rate: 400, Duration: 250 * time.Millisecond, Terminals: 3, Mix: Mix{KindPurchase: 1}})
	if rep.Sent+rep.Skipped != 100 || rep.Answered != rep.Sent {
		t.Fatalf("sent %d, skipped %d, answered %d: want 100 slots, every request answered", rep.Sent, rep.Skipped, rep.Answered)
	}
}

// TestMixProportions checks that the kinds drawn from the mix arrive in its proportions.
func TestMixProportions(t *testing.T) {
	cases := []struct {
		name string
		mix  Mix
	}{
		{"default", DefaultMix},
		{"with timeouts", Mix{KindPurchase: 50, KindPreauth: 20, KindDecline: 20, KindTimeout: 10}},
		{"with slow approvals", Mix{KindPurchase: 60, KindDecline: 20, KindSlow: 20}},
		{"refunds and reversals", Mix{KindPurchase: 60, KindRefund: 20, KindReversal: 20}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, nil)
			const requests = 1500
			rep := run(t, f.addr(), Config{Rate: 3000, Duration: testWait, Requests: requests, Mix: tc.mix, Terminals: 8,
				Timeout: time.Second, CompletionShare: -1})
			if rep.ConnErrors != 0 {
				t.Fatalf("%d connection errors", rep.ConnErrors)
			}
			var counts [kindCount]int
			primaries := 0
			for _, r := range f.requests(rep.Sent) {
				if iso8583.IsRepeat(r.req.MTI) {
					continue
				}
				if k := kindOf(r.req); int(k) < mixKinds {
					counts[k]++
					primaries++
				}
			}
			if primaries != requests {
				t.Fatalf("%d requests drawn from the mix, want %d", primaries, requests)
			}
			total := float64(tc.mix.total())
			for k := 0; k < mixKinds; k++ {
				want := float64(tc.mix[k]) / total
				got := float64(counts[k]) / float64(primaries)
				// Five standard deviations of a binomial proportion, plus the few refunds and
				// reversals that become purchases while a terminal has nothing to refer to yet.
				tol := 5*math.Sqrt(want*(1-want)/float64(primaries)) + 24/float64(primaries)
				if math.Abs(got-want) > tol {
					t.Errorf("%s: %.3f of %d requests, want %.3f ± %.3f", Kind(k), got, primaries, want, tol)
				}
			}
		})
	}
}

// TestCardsTerminalsAndSTANs checks what terminals send: Luhn-valid PANs of the configured BINs
// with a future expiry, one terminal per connection, and per terminal a STAN sequence 000001,
// 000002, … without gaps or repeats.
func TestCardsTerminalsAndSTANs(t *testing.T) {
	f := startFake(t, nil)
	bins := []string{"4", "51", "222100"}
	rep := run(t, f.addr(), Config{Rate: 800, Duration: testWait, Requests: 320, Terminals: 5, ConnsPerTerminal: 2,
		BINs: bins, PANLength: 16, TerminalPrefix: "TST", CompletionDelay: time.Millisecond})
	reqs := f.requests(rep.Sent)
	if int64(len(reqs)) != rep.Sent || rep.Sent < 320 {
		t.Fatalf("fake received %d requests, the report says %d sent (want at least 320)", len(reqs), rep.Sent)
	}
	now := time.Now().UTC()
	thisMonth := (now.Year()%100)*100 + int(now.Month())
	stans := map[string][]int{}
	connTerminal := map[int]string{}
	terminalConns := map[string]map[int]bool{}
	binsSeen := map[string]bool{}
	for _, r := range reqs {
		m := r.req
		if !iso8583.LuhnValid(m.PAN) || len(m.PAN) != 16 {
			t.Fatalf("PAN %s is not a 16-digit Luhn-valid number", iso8583.MaskPAN(m.PAN))
		}
		bin := ""
		for _, b := range bins {
			if strings.HasPrefix(m.PAN, b) {
				bin = b
			}
		}
		if bin == "" {
			t.Fatalf("PAN %s is in none of the BINs %v", iso8583.MaskPAN(m.PAN), bins)
		}
		binsSeen[bin] = true
		if m.MTI == iso8583.MTIAuthorization || m.MTI == iso8583.MTIFinancial {
			if exp := atoi2(m.Expiry[:2])*100 + atoi2(m.Expiry[2:]); exp <= thisMonth || m.Expiry[2:] > "12" {
				t.Fatalf("expiry %s is not a future month", m.Expiry)
			}
		}
		if !regexp.MustCompile(`^TST0000[1-5]$`).MatchString(m.TerminalID) {
			t.Fatalf("terminal %q is not one of TST00001..TST00005", m.TerminalID)
		}
		if prev, ok := connTerminal[r.conn]; ok && prev != m.TerminalID {
			t.Fatalf("connection %d carries terminals %s and %s", r.conn, prev, m.TerminalID)
		}
		connTerminal[r.conn] = m.TerminalID
		if terminalConns[m.TerminalID] == nil {
			terminalConns[m.TerminalID] = map[int]bool{}
		}
		terminalConns[m.TerminalID][r.conn] = true
		n, ok := parseSTAN(m.STAN)
		if !ok {
			t.Fatalf("STAN %q is not 6 digits", m.STAN)
		}
		stans[m.TerminalID] = append(stans[m.TerminalID], int(n))
	}
	if len(binsSeen) != len(bins) {
		t.Errorf("BINs used: %v, want all of %v", binsSeen, bins)
	}
	if len(terminalConns) != 5 {
		t.Errorf("%d terminals seen, want 5", len(terminalConns))
	}
	for term, conns := range terminalConns {
		if len(conns) != 2 {
			t.Errorf("terminal %s used %d connections, want 2", term, len(conns))
		}
	}
	for term, list := range stans {
		seen := make([]bool, len(list)+1)
		for _, s := range list {
			if s < 1 || s > len(list) || seen[s] {
				t.Fatalf("terminal %s: STANs %v are not 1..%d each once", term, list, len(list))
			}
			seen[s] = true
		}
	}
}

// TestSTANWraps checks that the STAN after 999999 is 000001.
func TestSTANWraps(t *testing.T) {
	var term terminal
	term.stan.Store(stanMax - 1)
	got := []uint32{term.nextSTAN(), term.nextSTAN(), term.nextSTAN()}
	if got[0] != 999999 || got[1] != 1 || got[2] != 2 {
		t.Fatalf("STANs after 999998: %v, want 999999 1 2", got)
	}
}

// TestWrongAnswersAreUnexpected changes the answers of one kind in one way each and checks that
// every changed answer is counted unexpected, with the reason in the examples and the PAN masked.
func TestWrongAnswersAreUnexpected(t *testing.T) {
	approvedSale := func(req, resp *iso8583.Message) bool {
		return resp.MTI == iso8583.MTIFinancialResponse && resp.ResponseCode == iso8583.RCApproved
	}
	cases := []struct {
		name   string
		mix    Mix
		fault  func(req, resp *iso8583.Message)
		reason string // "": the answers are right
	}{
		{"right answers", DefaultMix, nil, ""},
		{"approval without 38", Mix{KindPurchase: 1}, func(req, resp *iso8583.Message) {
			if approvedSale(req, resp) {
				resp.ApprovalCode = ""
			}
		}, "approval code"},
		{"decline instead of approval", Mix{KindPurchase: 1}, func(req, resp *iso8583.Message) { resp.ResponseCode = "05" }, "response code"},
		{"approval instead of decline", Mix{KindDecline: 1}, func(req, resp *iso8583.Message) {
			resp.ResponseCode, resp.ApprovalCode = "00", "ABC123"
		}, "response code"},
		{"other decline code", Mix{KindDecline: 1}, func(req, resp *iso8583.Message) { resp.ResponseCode = "96" }, "response code"},
		{"expiry echoed", Mix{KindPurchase: 1}, func(req, resp *iso8583.Message) { resp.Expiry = req.Expiry }, "field 14"},
		{"track 2 echoed", Mix{KindPurchase: 1}, func(req, resp *iso8583.Message) { resp.Track2 = req.PAN + "=29121010000000000" }, "field 35"},
		{"amount changed", Mix{KindPurchase: 1}, func(req, resp *iso8583.Message) { resp.Amount = iso8583.FormatAmount(1) }, "field 4"},
		{"PAN not echoed", Mix{KindPurchase: 1}, func(req, resp *iso8583.Message) { resp.PAN = "" }, "field 2"},
		{"transmission time changed", Mix{KindPurchase: 1}, func(req, resp *iso8583.Message) { resp.TransmissionDateTime = "0101000000" }, "field 7"},
		{"terminal changed", Mix{KindPurchase: 1}, func(req, resp *iso8583.Message) { resp.TerminalID = "OTHER001" }, "field 41"},
		{"merchant changed", Mix{KindPurchase: 1}, func(req, resp *iso8583.Message) { resp.MerchantID = "OTHERMERCHANT01" }, "field 42"},
		{"currency changed", Mix{KindPurchase: 1}, func(req, resp *iso8583.Message) { resp.Currency = "978" }, "field 49"},
		{"wrong response MTI", Mix{KindPurchase: 1}, func(req, resp *iso8583.Message) { resp.MTI = "0110" }, "MTI"},
		{"reversal RRN changed", Mix{KindPurchase: 1, KindReversal: 1}, func(req, resp *iso8583.Message) {
			if resp.MTI == iso8583.MTIReversalResponse {
				resp.RRN = "999999999999"
			}
		}, "field 37"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, func(f *fakeAcquirer) {
				if tc.fault != nil {
					f.fault = func(req, resp *iso8583.Message) *iso8583.Message { tc.fault(req, resp); return resp }
				}
			})
			var logs bytes.Buffer
			rep := run(t, f.addr(), Config{Concurrency: 4, Duration: testWait, Requests: 40, Mix: tc.mix, Terminals: 2,
				Log: zap.New(newBufferCore(&logs))})
			if rep.Answered < 40 || rep.Answered != rep.Sent {
				t.Fatalf("sent %d, answered %d: want at least 40, all answered", rep.Sent, rep.Answered)
			}
			if tc.reason == "" {
				if rep.Unexpected != 0 {
					t.Fatalf("%d unexpected: %v", rep.Unexpected, rep.Examples)
				}
				return
			}
			if rep.Unexpected == 0 {
				t.Fatalf("no answer counted unexpected")
			}
			if len(rep.Examples) == 0 || !strings.Contains(rep.Examples[0], tc.reason) {
				t.Fatalf("examples %q do not name %q", rep.Examples, tc.reason)
			}
			clearPAN := regexp.MustCompile(`\d{13,19}`)
			for _, text := range append(rep.Examples, logs.String()) {
				if clearPAN.MatchString(text) {
					t.Fatalf("a PAN in clear: %q", clearPAN.FindString(text))
				}
			}
			if !strings.Contains(logs.String(), "unexpected answer") {
				t.Errorf("no unexpected answer logged")
			}
		})
	}
}

// TestTimeoutsAreReversed checks that a 0100/0200 without an answer is counted as a timeout and
// reversed with a 0400 whose field 90 names it, unless reversals are turned off, and that a
// reversal without an answer is repeated (0401) RepeatsMax times.
func TestTimeoutsAreReversed(t *testing.T) {
	const timeout = 150 * time.Millisecond
	cases := []struct {
		name         string
		noReversal   bool
		muteReversal bool // the acquirer answers no reversal either
		repeats      int
	}{
		{"reversed", false, false, 0},
		{"no reversal", true, false, 0},
		{"reversal repeated", false, true, 2},
		{"reversal answered 96 repeated", false, true, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, func(f *fakeAcquirer) {
				if tc.muteReversal {
					f.fault = func(req, resp *iso8583.Message) *iso8583.Message {
						if resp.MTI != iso8583.MTIReversalResponse {
							return resp
						}
						if strings.Contains(tc.name, "96") {
							if req.MTI == iso8583.MTIReversal {
								resp.ResponseCode = iso8583.RCSystemMalfunction // the repeat gets its 00
							}
							return resp
						}
						return nil
					}
				}
			})
			repeatsMax := tc.repeats
			if repeatsMax == 0 {
				repeatsMax = -1 // none
			}
			rep := run(t, f.addr(), Config{Rate: 200, Duration: testWait, Requests: 40, Terminals: 2,
				Mix: Mix{KindPurchase: 1, KindPreauth: 1, KindTimeout: 2}, Timeout: timeout, NoReversal: tc.noReversal,
				RepeatsMax: repeatsMax})
			timeouts := rep.Kinds["timeout"].Sent
			if timeouts < 5 || rep.Kinds["timeout"].Timeouts != timeouts {
				t.Fatalf("%d timeout requests sent, %d timed out: want at least 5, all timed out", timeouts, rep.Kinds["timeout"].Timeouts)
			}
			answered96 := strings.Contains(tc.name, "96")
			if rep.Unexpected != 0 && !answered96 {
				t.Fatalf("%d unexpected: %v", rep.Unexpected, rep.Examples)
			}
			sent := map[string]Kind{} // terminal and field 90 of every 0100/0200 → its kind
			var reversals, repeats []*iso8583.Message
			for _, r := range f.requests(rep.Sent) {
				switch m := r.req; m.MTI {
				case iso8583.MTIAuthorization, iso8583.MTIFinancial:
					od := iso8583.OriginalData{MTI: m.MTI, STAN: m.STAN, TransmissionDateTime: m.TransmissionDateTime}
					sent[m.TerminalID+"/"+od.String()] = kindOf(m)
				case iso8583.MTIReversal:
					reversals = append(reversals, m)
				case "0401":
					repeats = append(repeats, m)
				}
			}
			if tc.noReversal {
				if len(reversals) != 0 || rep.Reversals != 0 {
					t.Fatalf("%d reversals sent with reversals off", len(reversals))
				}
				return
			}
			// On a busy machine an answered kind may time out too: it is reversed like the others.
			if int64(len(reversals)) != rep.Timeouts-rep.Kinds["timeout_reversal"].Timeouts || rep.Reversals != int64(len(reversals)) {
				t.Fatalf("%d reversals received, %d reported, want one per timed-out 0100/0200 (%d)", len(reversals), rep.Reversals,
					rep.Timeouts-rep.Kinds["timeout_reversal"].Timeouts)
			}
			reversed := map[Kind]int64{}
			for _, rev := range reversals {
				k, ok := sent[rev.TerminalID+"/"+rev.OriginalData]
				if !ok || rev.RRN != "" || !iso8583.LuhnValid(rev.PAN) {
					t.Fatalf("reversal field 90 %q of terminal %s names no request it sent", rev.OriginalData, rev.TerminalID)
				}
				reversed[k]++
			}
			if reversed[KindTimeout] != timeouts {
				t.Fatalf("%d of the %d requests the acquirer never answered were reversed", reversed[KindTimeout], timeouts)
			}
			if answered96 && rep.Unexpected != int64(len(reversals)) {
				t.Fatalf("%d unexpected, want the %d reversals answered 96", rep.Unexpected, len(reversals))
			}
			if want := tc.repeats * len(reversals); len(repeats) != want || rep.Repeats != int64(want) {
				t.Fatalf("%d repeats received, %d reported, want %d", len(repeats), rep.Repeats, want)
			}
			for _, rp := range repeats {
				found := false
				for _, rev := range reversals {
					found = found || (rev.STAN == rp.STAN && rev.TerminalID == rp.TerminalID &&
						rev.TransmissionDateTime == rp.TransmissionDateTime && rev.OriginalData == rp.OriginalData)
				}
				if !found {
					t.Fatalf("repeat STAN %s is not a copy of a reversal", rp.STAN)
				}
			}
		})
	}
}

// TestLostConnection closes every connection after a few requests: the generator reconnects and
// goes on, counts the requests in flight as timeouts and reverses them.
func TestLostConnection(t *testing.T) {
	f := startFake(t, func(f *fakeAcquirer) { f.closeAfter = 25 })
	rep := run(t, f.addr(), Config{Rate: 400, Duration: testWait, Requests: 200, Terminals: 2, Mix: Mix{KindPurchase: 1},
		Timeout: 200 * time.Millisecond})
	if rep.ConnErrors < 2 || rep.Sent < 100 {
		t.Fatalf("%d connection errors, %d sent: want the connections lost and re-established", rep.ConnErrors, rep.Sent)
	}
	if rep.Timeouts == 0 || rep.Reversals == 0 {
		t.Fatalf("%d timeouts, %d reversals: the request unanswered at each close must time out and be reversed", rep.Timeouts, rep.Reversals)
	}
	if rep.Unexpected != 0 {
		t.Fatalf("%d unexpected: %v", rep.Unexpected, rep.Examples)
	}
}

// TestLedgerLog checks one line per approved answer, with completions and reversals naming their
// original as the terminal sent and the acquirer answered it.
func TestLedgerLog(t *testing.T) {
	f := startFake(t, nil)
	var buf bytes.Buffer
	rep := run(t, f.addr(), Config{Concurrency: 8, Duration: testWait, Requests: 300, Terminals: 2,
		Mix: Mix{KindPurchase: 40, KindPreauth: 30, KindReversal: 15, KindDecline: 15}, CompletionDelay: time.Millisecond,
		LedgerLog: &buf})
	type orig struct {
		MTI, STAN, Transmitted, RRN string
		Amount                      int64
	}
	type line struct {
		RRN, MTI, Kind, Terminal, STAN, Transmitted, Merchant, Currency, PAN, Approval string
		Amount                                                                         int64
		Original                                                                       *orig
	}
	var approved int64
	for _, kc := range rep.Kinds {
		approved += kc.Approved
	}
	byID := map[string]line{}
	var lines []line
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
		byID[l.Terminal+"/"+l.STAN+"/"+l.Transmitted] = l
	}
	if int64(len(lines)) != approved || approved < 150 {
		t.Fatalf("%d lines, %d approvals: want one line each (and at least 150)", len(lines), approved)
	}
	panMasked := regexp.MustCompile(`^\d{6}\*{6}\d{4}$`)
	withOriginal := 0
	for _, l := range lines {
		if len(l.RRN) != 12 || !panMasked.MatchString(l.PAN) || l.Merchant != DefaultMerchant || l.Currency != "840" || l.Amount <= 0 {
			t.Fatalf("line %+v lacks an RRN, a masked PAN, the merchant, currency or amount", l)
		}
		switch l.Kind {
		case "completion", "reversal":
			o, ok := byID[l.Terminal+"/"+l.Original.STAN+"/"+l.Original.Transmitted]
			if l.Original == nil || !ok || o.RRN != l.Original.RRN || o.MTI != l.Original.MTI || o.Amount != l.Original.Amount {
				t.Fatalf("%s line %+v names no approved original of its terminal", l.Kind, l)
			}
			withOriginal++
		case "decline":
			t.Fatalf("a decline was logged: %+v", l)
		}
	}
	if withOriginal == 0 {
		t.Fatalf("no completion or reversal logged")
	}
}

// TestReport checks the JSON report and the text summary of a run.
func TestReport(t *testing.T) {
	f := startFake(t, nil)
	rep := run(t, f.addr(), Config{Rate: 500, Duration: testWait, Requests: 150, Terminals: 3})
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"target", "model", "rate", "sent", "answered", "timeouts", "unexpected", "achieved_rate",
		"latency_ms", "response_codes", "kinds", "duration_seconds", "connections"} {
		if _, ok := got[key]; !ok {
			t.Errorf("report JSON has no %q: %s", key, b)
		}
	}
	lat := got["latency_ms"].(map[string]any)
	for _, p := range []string{"p50", "p90", "p99", "p99_9", "max"} {
		if v, _ := lat[p].(float64); v <= 0 {
			t.Errorf("latency_ms.%s = %v, want a positive number of milliseconds", p, lat[p])
		}
	}
	if lat["p50"].(float64) > lat["p99"].(float64) || lat["p99"].(float64) > lat["max"].(float64) {
		t.Errorf("percentiles out of order: %v", lat)
	}
	if got["model"] != "open" || got["sent"].(float64) != float64(rep.Sent) || rep.Sent < 150 {
		t.Errorf("model %v, sent %v: want open and the run's %d (at least 150)", got["model"], got["sent"], rep.Sent)
	}
	var codes int64
	for _, n := range rep.ResponseCodes {
		codes += n
	}
	if codes != rep.Answered {
		t.Errorf("response-code mix totals %d, %d answered", codes, rep.Answered)
	}
	// Pacing: the 150th request is not sent before its slot at 149/500 s, so the rate cannot be
	// above the target (it may be below on a busy machine); and it is answers per sending second.
	if rep.DurationSeconds < 149.0/500 || math.Abs(rep.AchievedRate-float64(rep.Answered)/rep.DurationSeconds) > 1e-6 {
		t.Errorf("achieved rate %.1f/s over %.3fs for %d answers, want at most 500/s and answers/seconds",
			rep.AchievedRate, rep.DurationSeconds, rep.Answered)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"open model at 500/s", "answered", "p99.9", "purchase", " 00 "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, text.String())
		}
	}
}

// TestInterrupt cancels a run: it stops within the interrupt grace and says so.
func TestInterrupt(t *testing.T) {
	f := startFake(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	progressed := make(chan Progress, 1)
	var rep Report
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		rep, err = Run(ctx, Config{Target: f.addr(), Rate: 200, Duration: time.Minute, Terminals: 2,
			ProgressInterval: 50 * time.Millisecond, InterruptGrace: 200 * time.Millisecond,
			Progress: func(p Progress) {
				select {
				case progressed <- p:
				default:
				}
			}})
	}()
	select {
	case p := <-progressed:
		if p.Duration != time.Minute || p.Elapsed <= 0 {
			t.Errorf("progress %+v", p)
		}
	case <-time.After(testWait):
		t.Fatal("no progress reported")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(testWait):
		t.Fatal("Run did not return after cancel")
	}
	if err != nil || !rep.Interrupted || rep.Sent == 0 || rep.DurationSeconds > 30 {
		t.Fatalf("err %v, interrupted %v, sent %d, sending time %.1fs", err, rep.Interrupted, rep.Sent, rep.DurationSeconds)
	}
}

// TestUnreachableTarget fails at once with ErrDial.
func TestUnreachableTarget(t *testing.T) {
	f := startFake(t, nil)
	addr := f.addr()
	f.stop()
	_, err := Run(context.Background(), Config{Target: addr, Rate: 10, Duration: time.Second, Terminals: 1, DialTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("err %v, want ErrDial", err)
	}
}
