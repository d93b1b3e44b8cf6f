package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/route"
)

type env struct {
	e       *Engine
	alpha   *fakeIssuer
	beta    *fakeIssuer
	ledger  *fakeLedger
	hsm     *fakeHSM
	metrics *Metrics
	stan    int
}

var testNow = time.Date(2026, 11, 26, 14, 30, 15, 0, time.UTC)

func newEnv(t testing.TB, mutate func(*Config)) *env {
	t.Helper()
	table, err := route.New([]route.Entry{{Prefix: "4", Issuer: "alpha"}, {Prefix: "5", Issuer: "beta"}})
	require.NoError(t, err)
	v := &env{alpha: &fakeIssuer{}, beta: &fakeIssuer{}, ledger: newFakeLedger(), hsm: &fakeHSM{}}
	cfg := Config{
		AcquirerID: "00000012345", NodeID: '0', DuplicateWindow: 10 * time.Minute, DuplicateMax: 4096, HoldTimeout: time.Hour,
		Merchants: []Merchant{
			{ID: "MERCHANT0000001", Kind: ledger.Merchant, Currencies: []string{"840"}, Allowed: TxnAll, MaxAmount: 1_000_000,
				Fee: ledger.FeeSchedule{Percent: decimal.RequireFromString("1.5"), Fixed: 10}},
			{ID: "GOVAGENCY000001", Kind: ledger.Agency, Currencies: []string{"840"}, Allowed: TxnPurchase | TxnReversal, ConvenienceFee: 100},
		},
		Terminals: []Terminal{
			{ID: "TERM0001", PINKey: hsm.Key{Cryptogram: "U0123"}, PINFormat: hsm.PINFormatISO0},
			{ID: "MACTERM1", MACKey: hsm.Key{Cryptogram: "U4567"}, MACAlg: hsm.MACRetail},
			{ID: "DUKPT001", PINKey: hsm.Key{Cryptogram: "U89AB"}, DUKPT: true},
		},
		Issuers: []Issuer{
			{Name: "alpha", Link: v.alpha, Timeout: 200 * time.Millisecond, ZPK: hsm.Key{Cryptogram: "UZPK"}},
			{Name: "beta", Link: v.beta, Timeout: 200 * time.Millisecond},
		},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	v.metrics = NewMetrics(prometheus.NewRegistry())
	v.e, err = New(cfg, Deps{Router: table, Ledger: v.ledger, HSM: v.hsm, Protector: fakeProtector{}, Log: zaptest.NewLogger(t),
		Metrics: v.metrics, Now: func() time.Time { return testNow }})
	require.NoError(t, err)
	return v
}

// auth builds a valid 0100 for MERCHANT0000001 with a fresh STAN.
func (v *env) auth(pan string, amount int64) *iso8583.Message {
	v.stan++
	return &iso8583.Message{
		MTI: "0100", PAN: pan, ProcessingCode: "000000", Amount: iso8583.FormatAmount(amount),
		TransmissionDateTime: "1126143015", STAN: fmt.Sprintf("%06d", v.stan), LocalTime: "143015", LocalDate: "1126",
		Expiry: "2812", MCC: "5999", POSEntryMode: "810", TerminalID: "WEB00001", MerchantID: "MERCHANT0000001", Currency: "840",
	}
}

func (v *env) purchase(pan string, amount int64) *iso8583.Message {
	m := v.auth(pan, amount)
	m.MTI = "0200"
	return m
}

func (v *env) handle(req *iso8583.Message) *iso8583.Message {
	cp := *req
	return v.e.Handle(context.Background(), &cp)
}

const (
	visa = "4111111111111111"
	mc   = "5105105105105100"
)

func TestApprovalEchoesFieldsAndCarriesApprovalCode(t *testing.T) {
	v := newEnv(t, nil)
	req := v.auth(visa, 12301)
	req.Track2, req.ICC = visa+"=28121010000000000000", "9F2608AABBCCDDEEFF0011"
	resp := v.handle(req)
	require.Equal(t, "0110", resp.MTI)
	require.Equal(t, "00", resp.ResponseCode)
	require.Len(t, resp.ApprovalCode, 6)
	for _, f := range []struct {
		name      string
		got, want string
	}{
		{"2", resp.PAN, req.PAN}, {"3", resp.ProcessingCode, req.ProcessingCode}, {"4", resp.Amount, req.Amount},
		{"7", resp.TransmissionDateTime, req.TransmissionDateTime}, {"11", resp.STAN, req.STAN},
		{"12", resp.LocalTime, req.LocalTime}, {"13", resp.LocalDate, req.LocalDate}, {"41", resp.TerminalID, req.TerminalID},
		{"42", resp.MerchantID, req.MerchantID}, {"49", resp.Currency, req.Currency},
	} {
		require.Equal(t, f.want, f.got, "field %s", f.name)
	}
	require.Len(t, resp.RRN, 12, "the switch assigns field 37")
	for _, id := range []int{14, 35, 45, 52, 55} {
		require.False(t, resp.Has(id), "field %d must not be in a response", id)
	}
	// The ledger holds the approval as a hold, with the decision.
	tx := v.ledger.get(transactionID("0100", "WEB00001", req.STAN, req.TransmissionDateTime))
	require.NotNil(t, tx)
	require.Equal(t, ledger.Authorize, tx.Kind)
	require.Equal(t, "411111******1111", tx.MaskedPAN)
	require.Equal(t, resp.RRN, tx.RRN)
	require.Equal(t, "alpha", tx.Issuer)
	// The issuer got the RRN and the card data, never the terminal's MAC.
	sent := v.alpha.last()
	require.Equal(t, resp.RRN, sent.RRN)
	require.Equal(t, req.Track2, sent.Track2)
}

func TestIssuerDeclinesAreRelayed(t *testing.T) {
	v := newEnv(t, nil)
	for _, code := range []string{"05", "14", "51", "54", "55", "57", "61", "62", "65"} {
		t.Run(code, func(t *testing.T) {
			amount := int64(10000)
			fmt.Sscanf(code, "%d", new(int))
			var n int
			fmt.Sscanf(code, "%d", &n)
			resp := v.handle(v.purchase(mc, amount+int64(n)))
			require.Equal(t, code, resp.ResponseCode)
			require.Empty(t, resp.ApprovalCode)
			require.Equal(t, "0210", resp.MTI)
		})
	}
	require.Equal(t, int64(9), v.beta.calls.Load(), "declines come from the issuer")
}

func TestValidationCodes(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(m *iso8583.Message)
		code   string
	}{
		{"luhn", func(m *iso8583.Message) { m.PAN = "4111111111111112" }, "14"},
		{"PAN too short", func(m *iso8583.Message) { m.PAN = "41111111113" }, "14"},
		{"PAN not digits", func(m *iso8583.Message) { m.PAN = "41111111111111X1" }, "14"},
		{"no route", func(m *iso8583.Message) { m.PAN = "6011000000000004" }, "15"},
		{"unknown merchant", func(m *iso8583.Message) { m.MerchantID = "NOSUCHMERCHANT1" }, "03"},
		{"expired", func(m *iso8583.Message) { m.Expiry = "2610" }, "54"},
		{"expiring this month is valid", func(m *iso8583.Message) { m.Expiry = "2611" }, "00"},
		{"expiry month 13", func(m *iso8583.Message) { m.Expiry = "2813" }, "30"},
		{"zero amount", func(m *iso8583.Message) { m.Amount = "000000000000" }, "13"},
		{"amount not numeric", func(m *iso8583.Message) { m.Amount = "0000000012A4" }, "13"},
		{"amount over the merchant limit", func(m *iso8583.Message) { m.Amount = iso8583.FormatAmount(1_000_001) }, "13"},
		{"refund in a 0100", func(m *iso8583.Message) { m.ProcessingCode = "200000" }, "12"},
		{"cash advance", func(m *iso8583.Message) { m.MTI = "0200"; m.ProcessingCode = "010000" }, "12"},
		{"currency not accepted", func(m *iso8583.Message) { m.Currency = "978" }, "12"},
		{"missing PAN", func(m *iso8583.Message) { m.PAN = "" }, "30"},
		{"missing amount", func(m *iso8583.Message) { m.Amount = "" }, "30"},
		{"missing STAN", func(m *iso8583.Message) { m.STAN = "" }, "30"},
		{"missing expiry", func(m *iso8583.Message) { m.Expiry = "" }, "30"},
		{"expiry from track 2", func(m *iso8583.Message) { m.Expiry = ""; m.Track2 = visa + "=28121010000000000000" }, "00"},
		{"missing transmission time", func(m *iso8583.Message) { m.TransmissionDateTime = "" }, "30"},
		{"bad transmission time", func(m *iso8583.Message) { m.TransmissionDateTime = "1399999999" }, "30"},
		{"missing POS entry mode", func(m *iso8583.Message) { m.POSEntryMode = "" }, "30"},
		{"missing currency", func(m *iso8583.Message) { m.Currency = "" }, "30"},
		{"missing terminal", func(m *iso8583.Message) { m.TerminalID = "" }, "30"},
		{"missing local date", func(m *iso8583.Message) { m.LocalDate = "" }, "30"},
		{"unsupported MTI", func(m *iso8583.Message) { m.MTI = "0300" }, "12"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, nil)
			req := v.auth(visa, 5001)
			tc.mutate(req)
			resp := v.handle(req)
			require.Equal(t, tc.code, resp.ResponseCode)
			if tc.code != "00" {
				require.Zero(t, v.alpha.calls.Load(), "a refused request never reaches the issuer")
			}
		})
	}
}

func TestDuplicateGetsTheOriginalResponse(t *testing.T) {
	v := newEnv(t, nil)
	req := v.auth(visa, 4201)
	first := v.handle(req)
	require.Equal(t, "00", first.ResponseCode)
	repeat := *req
	repeat.MTI = "0101"
	again := v.handle(&repeat)
	require.Equal(t, "0110", again.MTI)
	require.Equal(t, first.ResponseCode, again.ResponseCode)
	require.Equal(t, first.ApprovalCode, again.ApprovalCode)
	require.Equal(t, first.RRN, again.RRN)
	require.Equal(t, int64(1), v.alpha.calls.Load(), "no second issuer request")
	require.Equal(t, 1, v.ledger.count(), "no second ledger posting")

	changed := *req
	changed.Amount = iso8583.FormatAmount(4202)
	diff := v.handle(&changed)
	require.Equal(t, "94", diff.ResponseCode)
	changedPAN := *req
	changedPAN.PAN = "4012888888881881"
	require.Equal(t, "94", v.handle(&changedPAN).ResponseCode)
	require.Equal(t, int64(1), v.alpha.calls.Load())
	require.Equal(t, 1.0, testutil.ToFloat64(v.metrics.duplicates.WithLabelValues("original_response")))
}

func TestDuplicateWhileTheOriginalIsInFlight(t *testing.T) {
	v := newEnv(t, func(c *Config) { c.Issuers[0].Timeout = 100 * time.Millisecond })
	req := v.auth(visa, 7798) // the issuer holds "98" until the timeout
	var wg sync.WaitGroup
	resps := make([]*iso8583.Message, 5)
	for i := range resps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps[i] = v.handle(req)
		}()
	}
	wg.Wait()
	for _, r := range resps {
		require.Equal(t, "91", r.ResponseCode)
	}
	require.Equal(t, int64(1), v.alpha.calls.Load())
}

func TestIssuerTimeoutAndUnavailable(t *testing.T) {
	v := newEnv(t, nil)
	resp := v.handle(v.auth(visa, 1099))
	require.Equal(t, "91", resp.ResponseCode)
	tx := v.ledger.get(transactionID("0100", "WEB00001", resp.STAN, resp.TransmissionDateTime))
	require.Equal(t, ledger.Decline, tx.Kind, "a timeout is journaled as a decline")

	v.beta.down.Store(true)
	require.Equal(t, "91", v.handle(v.purchase(mc, 500)).ResponseCode)
}

func TestStandInApprovesSmallAmountsWhenTheIssuerIsDown(t *testing.T) {
	v := newEnv(t, func(c *Config) { c.Issuers[1].StandIn = StandIn{Enabled: true, MaxAmount: 5000} })
	v.beta.down.Store(true)
	resp := v.handle(v.purchase(mc, 5000))
	require.Equal(t, "00", resp.ResponseCode)
	require.Len(t, resp.ApprovalCode, 6)
	require.Equal(t, "91", v.handle(v.purchase(mc, 5001)).ResponseCode)
}

func TestNetworkManagement(t *testing.T) {
	v := newEnv(t, nil)
	for code, want := range map[string]string{"001": "00", "002": "00", "301": "00", "999": "12", "": "30"} {
		resp := v.handle(&iso8583.Message{MTI: "0800", TransmissionDateTime: "1126143600", STAN: "000127", NetworkCode: code})
		require.Equal(t, "0810", resp.MTI)
		require.Equal(t, want, resp.ResponseCode, "70=%q", code)
		require.Equal(t, "000127", resp.STAN)
	}
}

func TestReversalOfAnApprovedAuthorization(t *testing.T) {
	for _, how := range []string{"field 90", "terminal and STAN", "RRN and terminal"} {
		t.Run(how, func(t *testing.T) {
			v := newEnv(t, nil)
			req := v.auth(visa, 2501)
			resp := v.handle(req)
			require.Equal(t, "00", resp.ResponseCode)
			rev := &iso8583.Message{MTI: "0400", PAN: visa, ProcessingCode: "000000", Amount: req.Amount,
				TransmissionDateTime: "1126143500", STAN: req.STAN, TerminalID: req.TerminalID, MerchantID: req.MerchantID, Currency: "840"}
			switch how {
			case "field 90":
				rev.STAN = "000900"
				rev.OriginalData = iso8583.OriginalData{MTI: "0100", STAN: req.STAN, TransmissionDateTime: req.TransmissionDateTime}.String()
			case "RRN and terminal":
				rev.STAN = "000901"
				rev.RRN = resp.RRN
			}
			out := v.handle(rev)
			require.Equal(t, "0410", out.MTI)
			require.Equal(t, "00", out.ResponseCode)
			require.Equal(t, resp.RRN, out.RRN)
			origID := transactionID("0100", req.TerminalID, req.STAN, req.TransmissionDateTime)
			revTx := v.ledger.get(transactionID("0400", rev.TerminalID, rev.STAN, rev.TransmissionDateTime))
			require.Equal(t, ledger.Reverse, revTx.Kind)
			require.Equal(t, origID, revTx.OriginalID)
			fwd := v.ledger.forwarded(t)
			require.Len(t, fwd, 1, "the reversal is forwarded to the issuer")
			require.Equal(t, "0400", fwd[0].MTI)
		})
	}
}

func TestReversalOfUnknownOriginal(t *testing.T) {
	v := newEnv(t, nil)
	rev := &iso8583.Message{MTI: "0400", PAN: visa, Amount: "000000001000", TransmissionDateTime: "1126143500",
		STAN: "123456", TerminalID: "WEB00001", MerchantID: "MERCHANT0000001", Currency: "840"}
	require.Equal(t, "25", v.handle(rev).ResponseCode)
	adv := *rev
	adv.MTI = "0420"
	adv.STAN = "123457"
	require.Equal(t, "00", v.handle(&adv).ResponseCode, "an advice is always acknowledged")
	require.NotNil(t, v.ledger.get(transactionID("0420", "WEB00001", "123457", "1126143500")), "and recorded")
	require.NotNil(t, v.ledger.get(transactionID("0400", "WEB00001", "123456", "1126143500")), "so is the request")
	// The original may have reached the issuer before a crash: both go to the issuer the PAN
	// routes to, with the card number.
	fwd := v.ledger.forwarded(t)
	require.Len(t, fwd, 2)
	require.Equal(t, "0400", fwd[0].MTI)
	require.Equal(t, "0420", fwd[1].MTI)
	require.Equal(t, visa, fwd[0].PAN)
}

func TestCompletionCapturesTheHold(t *testing.T) {
	v := newEnv(t, nil)
	req := v.auth(visa, 10001)
	resp := v.handle(req)
	require.Equal(t, "00", resp.ResponseCode)
	comp := &iso8583.Message{MTI: "0220", PAN: visa, ProcessingCode: "000000", Amount: iso8583.FormatAmount(8000),
		TransmissionDateTime: "1126150000", STAN: "000777", TerminalID: req.TerminalID, MerchantID: req.MerchantID, Currency: "840",
		OriginalData: iso8583.OriginalData{MTI: "0100", STAN: req.STAN, TransmissionDateTime: req.TransmissionDateTime}.String()}
	out := v.handle(comp)
	require.Equal(t, "0230", out.MTI)
	require.Equal(t, "00", out.ResponseCode)
	cap := v.ledger.get(transactionID("0220", comp.TerminalID, comp.STAN, comp.TransmissionDateTime))
	require.Equal(t, ledger.Capture, cap.Kind)

	tooMuch := *comp
	tooMuch.STAN = "000778"
	tooMuch.Amount = iso8583.FormatAmount(10002)
	require.Equal(t, "13", v.handle(&tooMuch).ResponseCode)

	unknown := *comp
	unknown.STAN = "000779"
	unknown.OriginalData = iso8583.OriginalData{MTI: "0100", STAN: "999999", TransmissionDateTime: req.TransmissionDateTime}.String()
	require.Equal(t, "25", v.handle(&unknown).ResponseCode)
}

func TestLedgerFailureAnswers96(t *testing.T) {
	t.Run("before the request leaves", func(t *testing.T) {
		v := newEnv(t, nil)
		v.ledger.fail.Store(true)
		resp := v.handle(v.auth(visa, 3001))
		require.Equal(t, "96", resp.ResponseCode)
		require.Empty(t, resp.ApprovalCode)
		require.Zero(t, v.alpha.calls.Load(), "no intent, no request: nothing to undo")
		require.Equal(t, 1.0, testutil.ToFloat64(v.metrics.ledgerFailures))
	})
	t.Run("at the commit", func(t *testing.T) {
		v := newEnv(t, nil)
		v.ledger.failCommit.Store(true)
		resp := v.handle(v.auth(visa, 3001))
		require.Equal(t, "96", resp.ResponseCode)
		require.Equal(t, int64(1), v.alpha.calls.Load())
		require.Equal(t, 1, v.ledger.pendingIntents(), "the intent stays: the recovery sweep reverses the request")
	})
	t.Run("commit outcome unknown", func(t *testing.T) {
		v := newEnv(t, nil)
		v.ledger.failCommit.Store(true)
		v.ledger.failErr = ledger.ErrCommitUnknown
		require.Equal(t, "96", v.handle(v.auth(visa, 3001)).ResponseCode)
		require.Len(t, v.e.compensations, 1, "the approval goes to the compensator")
	})
}

func TestGovernmentPaymentKeepsTheReference(t *testing.T) {
	v := newEnv(t, nil)
	req := v.purchase(mc, 10100)
	req.MerchantID, req.AdditionalData, req.MCC = "GOVAGENCY000001", "TAX-2026-000457", "9311"
	resp := v.handle(req)
	require.Equal(t, "00", resp.ResponseCode)
	tx := v.ledger.get(transactionID("0200", req.TerminalID, req.STAN, req.TransmissionDateTime))
	require.Equal(t, "TAX-2026-000457", tx.PaymentRef)
	require.Equal(t, ledger.Agency, tx.PayeeKind)
	small := v.purchase(mc, 100)
	small.MerchantID = "GOVAGENCY000001"
	require.Equal(t, "13", v.handle(small).ResponseCode, "the amount must exceed the convenience fee it includes")
	refund := v.purchase(mc, 5000)
	refund.MerchantID, refund.ProcessingCode = "GOVAGENCY000001", "200000"
	require.Equal(t, "12", v.handle(refund).ResponseCode, "the agency is not set up for refunds")
}

func TestPINIsTranslatedForTheIssuer(t *testing.T) {
	v := newEnv(t, nil)
	req := v.purchase(visa, 2501)
	req.TerminalID = "TERM0001"
	req.PINBlock = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	resp := v.handle(req)
	require.Equal(t, "00", resp.ResponseCode)
	require.Equal(t, []byte{0xFE, 0xFD, 0xFC, 0xFB, 0xFA, 0xF9, 0xF8, 0xF7}, v.alpha.last().PINBlock)

	bad := v.purchase(visa, 2501)
	bad.TerminalID, bad.PINBlock = "TERM0001", make([]byte, 8)
	require.Equal(t, "63", v.handle(bad).ResponseCode)

	noKey := v.purchase(visa, 2501)
	noKey.PINBlock = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	require.Equal(t, "63", v.handle(noKey).ResponseCode, "a terminal without a PIN key")

	toBeta := v.purchase(mc, 2501)
	toBeta.TerminalID, toBeta.PINBlock = "TERM0001", []byte{1, 2, 3, 4, 5, 6, 7, 8}
	require.Equal(t, "63", v.handle(toBeta).ResponseCode, "an issuer without a ZPK")

	dukptNoKSN := v.purchase(visa, 2501)
	dukptNoKSN.TerminalID, dukptNoKSN.PINBlock = "DUKPT001", []byte{1, 2, 3, 4, 5, 6, 7, 8}
	require.Equal(t, "63", v.handle(dukptNoKSN).ResponseCode)
	dukpt := v.purchase(visa, 2501)
	dukpt.TerminalID, dukpt.PINBlock, dukpt.Private62 = "DUKPT001", []byte{1, 2, 3, 4, 5, 6, 7, 8}, "FFFF9876543210E00001"
	require.Equal(t, "00", v.handle(dukpt).ResponseCode)
	require.Empty(t, v.alpha.last().Private62, "the KSN is not forwarded")

	v.hsm.down.Store(true)
	down := v.purchase(visa, 2501)
	down.TerminalID, down.PINBlock = "TERM0001", []byte{1, 2, 3, 4, 5, 6, 7, 8}
	require.Equal(t, "96", v.handle(down).ResponseCode)
}

func TestMACIsVerified(t *testing.T) {
	v := newEnv(t, nil)
	req := v.purchase(visa, 2501)
	req.TerminalID = "MACTERM1"
	req.MAC = make([]byte, 8)
	packed, err := req.Pack(iso8583.AcquirerSpec())
	require.NoError(t, err)
	req.MAC = fakeMAC(packed[:len(packed)-16])
	require.Equal(t, "00", v.handle(req).ResponseCode)
	require.Nil(t, v.alpha.last().MAC, "the terminal's MAC is not forwarded")

	bad := v.purchase(visa, 2501)
	bad.TerminalID, bad.MAC = "MACTERM1", []byte{1, 2, 3, 4, 5, 6, 7, 8}
	calls := v.alpha.calls.Load()
	require.Equal(t, "63", v.handle(bad).ResponseCode)
	missing := v.purchase(visa, 2501)
	missing.TerminalID = "MACTERM1"
	require.Equal(t, "63", v.handle(missing).ResponseCode)
	require.Equal(t, calls, v.alpha.calls.Load(), "nothing goes to the issuer after a bad MAC")
}

func TestResponseSentByTerminalGetsNoAnswer(t *testing.T) {
	v := newEnv(t, nil)
	require.Nil(t, v.handle(&iso8583.Message{MTI: "0110", STAN: "000001"}))
}

func TestMalformedAnswered30(t *testing.T) {
	v := newEnv(t, nil)
	resp := v.e.HandleMalformed(context.Background(), &iso8583.Message{MTI: "0200", STAN: "000042"}, errUnused)
	require.Equal(t, "0210", resp.MTI)
	require.Equal(t, "30", resp.ResponseCode)
	require.Equal(t, "000042", resp.STAN)
	require.Nil(t, v.e.HandleMalformed(context.Background(), &iso8583.Message{MTI: "0210"}, errUnused))
}

func TestRRNsAreUniqueAndWellFormed(t *testing.T) {
	src := newRRNSource('7', testNow)
	seen := map[string]bool{}
	for range 10000 {
		r := src.next(testNow)
		require.Len(t, r, 12)
		require.Equal(t, "6330", r[:4], "year digit and day of year")
		require.Equal(t, byte('7'), r[4], "node id")
		require.False(t, seen[r])
		seen[r] = true
	}
	later := newRRNSource('7', testNow.Add(time.Second))
	require.False(t, seen[later.next(testNow.Add(time.Second))], "a restart a second later does not reuse RRNs")
}

func TestDupCacheIsBounded(t *testing.T) {
	c := newDupCache(dupShards*2, time.Hour)
	for i := range 10000 {
		e, seen := c.begin(fmt.Sprint("k", i), 1, testNow)
		require.False(t, seen)
		c.finish(e, &iso8583.Message{})
	}
	total := 0
	for i := range c.shards {
		total += len(c.shards[i].entries)
	}
	require.LessOrEqual(t, total, dupShards*2)
	_, seen := c.begin("k9999", 1, testNow)
	require.True(t, seen, "the newest are remembered")
	_, seen = c.begin("k9999", 1, testNow.Add(2*time.Hour))
	require.False(t, seen, "an entry older than the window is forgotten")
}

func TestRefundOverWhatTheMerchantIsOwed(t *testing.T) {
	v := newEnv(t, nil)
	require.Equal(t, "00", v.handle(v.purchase(visa, 10001)).ResponseCode)
	refund := v.purchase(visa, 5000)
	refund.ProcessingCode = "200000"
	require.Equal(t, "00", v.handle(refund).ResponseCode)
	tooMuch := v.purchase(visa, 5002)
	tooMuch.ProcessingCode = "200000"
	resp := v.handle(tooMuch)
	require.Equal(t, "13", resp.ResponseCode, "a refund over the merchant's payable is over its limit, not a malfunction")
	fwd := v.ledger.forwarded(t)
	require.Len(t, fwd, 1, "the issuer's approval of the refund is reversed")
	require.Equal(t, "0400", fwd[0].MTI)
}
