package engine

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/route"
)

// What the switch owes issuers when things go wrong: every request is written down (its intent)
// before it leaves, and whatever the issuer may hold without a durable outcome here is reversed.

func TestEveryRequestLeavesWithItsIntentAndTheAnswerResolvesIt(t *testing.T) {
	v := newEnv(t, nil)
	for _, amount := range []int64{1001, 1051} { // approved, declined
		resp := v.handle(v.auth(visa, amount))
		require.NotEqual(t, "96", resp.ResponseCode)
	}
	require.Zero(t, v.ledger.pendingIntents(), "answered requests leave no intent behind")
	require.Empty(t, v.ledger.forwarded(t), "and owe the issuer nothing")
}

func TestTimeoutIsReversedByRule(t *testing.T) {
	v := newEnv(t, nil)
	req := v.auth(visa, 1099) // the issuer never answers
	resp := v.handle(req)
	require.Equal(t, "91", resp.ResponseCode)
	fwd := v.ledger.forwarded(t)
	require.Len(t, fwd, 1, "the timed-out request is reversed whether or not an answer ever comes")
	rev := fwd[0]
	require.Equal(t, "0400", rev.MTI)
	require.Equal(t, resp.RRN, rev.RRN)
	require.Equal(t, visa, rev.PAN)
	require.Equal(t, req.Amount, rev.Amount)
	od, err := iso8583.ParseOriginalData(rev.OriginalData)
	require.NoError(t, err)
	require.Equal(t, "0100", od.MTI)
	require.Zero(t, v.ledger.pendingIntents())
}

func TestQueuedMessagesKeepNoCardSecrets(t *testing.T) {
	v := newEnv(t, nil)
	req := v.auth(visa, 1099)
	req.Track2 = visa + "=28121010000000000000"
	req.PINBlock = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	req.TerminalID = "TERM0001" // has a PIN key
	v.handle(req)
	v.ledger.mu.Lock()
	items := append([]ledger.SAFItem(nil), v.ledger.queued...)
	v.ledger.mu.Unlock()
	require.Len(t, items, 1)
	require.False(t, bytes.Contains(items[0].Packed, []byte(visa)), "no clear PAN in the stored message")
	require.False(t, bytes.Contains(items[0].Packed, []byte("=2812")), "no track data")
	require.True(t, bytes.HasPrefix(items[0].PANSealed, []byte(fakeSealPrefix)), "the PAN travels sealed")
	rev := v.ledger.forwarded(t)[0]
	require.Nil(t, rev.PINBlock)
	require.Empty(t, rev.Track2)
}

func TestApprovalTheLedgerRefusesIsReversed(t *testing.T) {
	v := newEnv(t, nil)
	refund := v.purchase(visa, 5000)
	refund.ProcessingCode = "200000" // nothing owed to the merchant yet: the ledger refuses
	resp := v.handle(refund)
	require.Equal(t, "13", resp.ResponseCode)
	fwd := v.ledger.forwarded(t)
	require.Len(t, fwd, 1, "the issuer's approval of the refund is undone")
	require.Equal(t, "0400", fwd[0].MTI)
	require.Equal(t, "200000", fwd[0].ProcessingCode)
}

func TestRetransmissionAfter96IsProcessedAgain(t *testing.T) {
	v := newEnv(t, nil)
	req := v.auth(visa, 1001)
	v.ledger.failCommit.Store(true)
	require.Equal(t, "96", v.handle(req).ResponseCode)
	v.ledger.failCommit.Store(false)
	again := *req
	require.Equal(t, "00", v.handle(&again).ResponseCode, "not the 96 from the duplicate cache")
	require.Equal(t, int64(2), v.alpha.calls.Load())
}

func TestEveryIssuerRequestHasItsOwnRRN(t *testing.T) {
	v := newEnv(t, nil)
	a, b := v.auth(visa, 1001), v.auth(visa, 1001)
	a.RRN, b.RRN = "TERMRRN00001", "TERMRRN00001" // a terminal reusing field 37
	ra, rb := v.handle(a), v.handle(b)
	require.Equal(t, "TERMRRN00001", ra.RRN, "the terminal's 37 is echoed")
	require.Equal(t, "TERMRRN00001", rb.RRN)
	ta := v.ledger.get(transactionID(a.MTI, a.TerminalID, a.STAN, a.TransmissionDateTime))
	tb := v.ledger.get(transactionID(b.MTI, b.TerminalID, b.STAN, b.TransmissionDateTime))
	require.NotEqual(t, ta.RRN, tb.RRN, "the issuer sees two RRNs")
	require.Equal(t, "TERMRRN00001", ta.AcquirerRRN)
	// The terminal's reversal by its own 37 finds the latest.
	rev := &iso8583.Message{MTI: "0400", PAN: visa, Amount: b.Amount, TransmissionDateTime: "1126143600", STAN: "000500",
		TerminalID: b.TerminalID, MerchantID: b.MerchantID, Currency: "840", RRN: "TERMRRN00001"}
	require.Equal(t, "00", v.handle(rev).ResponseCode)
	revTx := v.ledger.get(transactionID(rev.MTI, rev.TerminalID, rev.STAN, rev.TransmissionDateTime))
	require.Equal(t, tb.ID, revTx.OriginalID)
}

func TestRetransmissionAfterARestartIsNotDecidedTwice(t *testing.T) {
	v := newEnv(t, nil)
	req := v.auth(visa, 1001)
	first := v.handle(req)
	require.Equal(t, "00", first.ResponseCode)
	// A new engine over the same ledger: its duplicate cache is empty, as after a restart.
	table, err := route.New([]route.Entry{{Prefix: "4", Issuer: "alpha"}, {Prefix: "5", Issuer: "beta"}})
	require.NoError(t, err)
	restarted, err := New(v.e.cfg, Deps{Router: table, Ledger: v.ledger, HSM: v.hsm, Protector: fakeProtector{},
		Log: zaptest.NewLogger(t), Metrics: NewMetrics(prometheus.NewRegistry()), Now: func() time.Time { return testNow.Add(2 * time.Second) }})
	require.NoError(t, err)
	again := *req
	resp := restarted.Handle(t.Context(), &again)
	require.Equal(t, "00", resp.ResponseCode)
	require.Equal(t, first.ApprovalCode, resp.ApprovalCode, "the first decision stands")
	fwd := v.ledger.forwarded(t)
	require.Len(t, fwd, 1, "the second send's approval is reversed: the ledger holds the first")
	require.NotEqual(t, first.RRN, fwd[0].RRN)
}

func TestStandIn(t *testing.T) {
	rules := StandIn{Enabled: true, MaxAmount: 5000, MaxPerCardDay: 8000}
	v := newEnv(t, func(c *Config) { c.Issuers[1].StandIn = rules })
	v.beta.down.Store(true)

	resp := v.handle(v.purchase(mc, 5000))
	require.Equal(t, "00", resp.ResponseCode)
	require.True(t, strings.HasPrefix(resp.ApprovalCode, "SI"), "a stand-in approval code marks it: %q", resp.ApprovalCode)
	require.Len(t, resp.ApprovalCode, 6)
	fwd := v.ledger.forwarded(t)
	require.Len(t, fwd, 1, "the issuer is advised")
	require.Equal(t, "0220", fwd[0].MTI)
	require.Equal(t, resp.ApprovalCode, fwd[0].ApprovalCode)
	require.Equal(t, mc, fwd[0].PAN)

	require.Equal(t, "91", v.handle(v.purchase(mc, 5001)).ResponseCode, "over the amount per transaction")
	require.Equal(t, "91", v.handle(v.purchase(mc, 3001)).ResponseCode, "over the card's daily total")
	require.Equal(t, "00", v.handle(v.purchase("5555555555554444", 3001)).ResponseCode, "another card")

	auth := v.auth("5200828282828210", 1001)
	require.Equal(t, "00", v.handle(auth).ResponseCode)
	last := v.ledger.forwarded(t)
	require.Equal(t, "0120", last[len(last)-1].MTI, "an authorization's advice is a 0120")

	refund := v.purchase("5454545454545454", 1001)
	refund.ProcessingCode = "200000"
	require.Equal(t, "91", v.handle(refund).ResponseCode, "refunds are not stood in by default")

	withPIN := v.purchase("5454545454545454", 1001)
	withPIN.TerminalID, withPIN.PINBlock = "TERM0001", []byte{1, 2, 3, 4, 5, 6, 7, 8}
	v.e.issuer("beta").ZPK = v.e.issuer("alpha").ZPK
	require.Equal(t, "91", v.handle(withPIN).ResponseCode, "never with a PIN")

	v.e.issuer("beta").StandIn.MCCs = []string{"4111"}
	require.Equal(t, "91", v.handle(v.purchase("5431111111111111", 1001)).ResponseCode, "merchant's MCC not allowed")
}

func TestTimeoutIsNotStoodIn(t *testing.T) {
	v := newEnv(t, func(c *Config) { c.Issuers[0].StandIn = StandIn{Enabled: true, MaxAmount: 5000} })
	require.Equal(t, "91", v.handle(v.auth(visa, 1099)).ResponseCode, "the request reached the issuer: no stand-in")
}

// The ledger's refusals are business answers, never 96 (the ledger's own rules — a reversal of a
// refunded sale, a refund over what is left of its sale — are tested in package ledger).
func TestLedgerRefusalsAreBusinessAnswers(t *testing.T) {
	v := newEnv(t, nil)
	sale := v.purchase(visa, 10001)
	saleResp := v.handle(sale)
	require.Equal(t, "00", saleResp.ResponseCode)
	saleID := transactionID(sale.MTI, sale.TerminalID, sale.STAN, sale.TransmissionDateTime)
	of := iso8583.OriginalData{MTI: "0200", STAN: sale.STAN, TransmissionDateTime: sale.TransmissionDateTime}.String()

	refund := v.purchase(visa, 3001)
	refund.ProcessingCode, refund.OriginalData = "200000", of
	require.Equal(t, "00", v.handle(refund).ResponseCode)
	refundTx := v.ledger.get(transactionID(refund.MTI, refund.TerminalID, refund.STAN, refund.TransmissionDateTime))
	require.Equal(t, saleID, refundTx.OriginalID, "a refund naming its sale by field 90 is linked to it")

	byRRN := v.purchase(visa, 1001)
	byRRN.ProcessingCode, byRRN.RRN = "200000", saleResp.RRN
	require.Equal(t, "00", v.handle(byRRN).ResponseCode)
	require.Equal(t, saleID, v.ledger.get(transactionID(byRRN.MTI, byRRN.TerminalID, byRRN.STAN, byRRN.TransmissionDateTime)).OriginalID,
		"or by the RRN its answer carried")

	unknown := v.purchase(visa, 1001)
	unknown.ProcessingCode = "200000"
	unknown.OriginalData = iso8583.OriginalData{MTI: "0200", STAN: "999999", TransmissionDateTime: sale.TransmissionDateTime}.String()
	calls := v.alpha.calls.Load()
	require.Equal(t, "25", v.handle(unknown).ResponseCode, "field 90 naming no sale")
	require.Equal(t, calls, v.alpha.calls.Load(), "nothing went to the issuer")

	v.ledger.refuse = func(ev ledger.Event) *ledger.Reason {
		switch {
		case ev.Kind == ledger.Refund && ev.OriginalID == saleID:
			return ledger.ErrRefundExceedsOriginal
		case ev.Kind == ledger.Reverse && ev.OriginalID == saleID:
			return ledger.ErrRefunded
		}
		return nil
	}
	tooMuch := v.purchase(visa, 9001)
	tooMuch.ProcessingCode, tooMuch.OriginalData = "200000", of
	before := len(v.ledger.forwarded(t))
	require.Equal(t, "13", v.handle(tooMuch).ResponseCode, "a refund over what is left of its sale")
	fwd := v.ledger.forwarded(t)
	require.Len(t, fwd, before+1, "the issuer's approval of that refund is undone")
	require.Equal(t, "200000", fwd[len(fwd)-1].ProcessingCode)

	rev := &iso8583.Message{MTI: "0400", PAN: visa, ProcessingCode: "000000", Amount: sale.Amount, TransmissionDateTime: "1126150000",
		STAN: "000950", TerminalID: sale.TerminalID, MerchantID: sale.MerchantID, Currency: "840", OriginalData: of}
	require.Equal(t, "12", v.handle(rev).ResponseCode, "a refunded sale cannot be reversed whole: refund the rest")
	adv := *rev
	adv.MTI, adv.STAN = "0420", "000951"
	require.Equal(t, "00", v.handle(&adv).ResponseCode, "an advice is acknowledged")
	require.Len(t, v.ledger.forwarded(t), before+1, "neither goes to the issuer: nothing moved")
	require.Equal(t, 2.0, testutil.ToFloat64(v.metrics.reversalsRefused.WithLabelValues("refunded")))
}

func TestApprovalWithAnUnknownCommitOutcomeIsCompensated(t *testing.T) {
	v := newEnv(t, nil)
	v.ledger.failErr = ledger.ErrCommitUnknown
	v.ledger.heldThenFail.Store(true) // the commit took effect, but nobody could tell in time
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- v.e.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	req := v.auth(visa, 4001)
	require.Equal(t, "96", v.handle(req).ResponseCode, "the terminal is told it failed")
	id := transactionID(req.MTI, req.TerminalID, req.STAN, req.TransmissionDateTime)
	require.Eventually(t, func() bool {
		rev := v.ledger.get("compensation/" + id)
		return rev != nil && rev.Kind == ledger.Reverse && rev.OriginalID == id
	}, 5*time.Second, 10*time.Millisecond, "the approval the ledger turned out to hold is reversed")
	fwd := v.ledger.forwarded(t)
	require.Len(t, fwd, 1, "and at the issuer")
	require.Equal(t, "0400", fwd[0].MTI)
	require.Equal(t, 1.0, testutil.ToFloat64(v.metrics.compensations.WithLabelValues("reversed")))
}

// A look-up that fails because the store does is not "original not found": the terminal gets 96
// and repeats; nothing is recorded or forwarded meanwhile.
func TestFailedLookupIsNotOriginalNotFound(t *testing.T) {
	v := newEnv(t, nil)
	auth := v.auth(visa, 5001)
	require.Equal(t, "00", v.handle(auth).ResponseCode)
	of := iso8583.OriginalData{MTI: "0100", STAN: auth.STAN, TransmissionDateTime: auth.TransmissionDateTime}.String()
	v.ledger.failLookups.Store(true)
	before := v.ledger.count()
	for _, mti := range []string{"0400", "0420", "0220"} {
		m := &iso8583.Message{MTI: mti, PAN: visa, ProcessingCode: "000000", Amount: auth.Amount, TransmissionDateTime: "1126150000",
			STAN: "0009" + mti[1:3], TerminalID: auth.TerminalID, MerchantID: auth.MerchantID, Currency: "840", OriginalData: of}
		require.Equal(t, "96", v.handle(m).ResponseCode, mti)
	}
	require.Equal(t, before, v.ledger.count(), "nothing journaled")
	require.Empty(t, v.ledger.forwarded(t), "nothing forwarded")
	v.ledger.failLookups.Store(false)
	rev := &iso8583.Message{MTI: "0400", PAN: visa, ProcessingCode: "000000", Amount: auth.Amount, TransmissionDateTime: "1126150000",
		STAN: "000940", TerminalID: auth.TerminalID, MerchantID: auth.MerchantID, Currency: "840", OriginalData: of}
	require.Equal(t, "00", v.handle(rev).ResponseCode, "once the store is back, the reversal (repeated) is applied")
}

// A terminal of another dialect MACs the bytes it sent, which the acceptor hands over as they
// came (MACInput): the engine verifies those, not the contract spec's packing.
func TestMACOverTheReceivedBytes(t *testing.T) {
	v := newEnv(t, nil)
	req := v.purchase(visa, 1001)
	req.TerminalID = "MACTERM1"
	req.MACInput = []byte("\x02\x00\x70\x3a\x40...as a BCD terminal sent it")
	req.MAC = fakeMAC(req.MACInput)
	require.Equal(t, "00", v.handle(req).ResponseCode)
	bad := v.purchase(visa, 1001)
	bad.TerminalID = "MACTERM1"
	bad.MACInput = []byte("\x02\x00\x70\x3b\x40...as a BCD terminal sent it") // one bit changed (the fake MACs 8 bytes)
	bad.MAC = fakeMAC([]byte("\x02\x00\x70\x3a\x40...as a BCD terminal sent it"))
	require.Equal(t, "63", v.handle(bad).ResponseCode)
}

func TestQueuedMessagesKeepNoCVC(t *testing.T) {
	v := newEnv(t, nil)
	req := v.auth(visa, 1099) // times out: its reversal is queued
	req.Private63 = "11 739"  // a card-not-present request's CVC, as the payments API sends it
	v.handle(req)
	rev := v.ledger.forwarded(t)
	require.Len(t, rev, 1)
	require.Empty(t, rev[0].Private63)
	v.ledger.mu.Lock()
	defer v.ledger.mu.Unlock()
	require.False(t, bytes.Contains(v.ledger.queued[0].Packed, []byte("11 739")))
}
