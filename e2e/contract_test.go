package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/iso8583"
)

const (
	visa = "4111111111111111"
	mc   = "5105105105105100"
)

// sharedSystem is started once for the contract tests (each test uses its own terminal IDs).
var sharedSystem *system

func contractSystem(t *testing.T) *system {
	t.Helper()
	if sharedSystem == nil {
		// The default topology's ledger: the embedded store in the data directory.
		sharedSystem = startSystem(&persistentT{t}, systemOpts{})
	}
	return sharedSystem
}

// persistentT lets the shared system outlive the test that started it: cleanups run at the end of
// the package (TestMain kills the processes when the package exits).
type persistentT struct{ *testing.T }

func (p *persistentT) Cleanup(f func()) { atExit = append(atExit, f) }
func (p *persistentT) TempDir() string {
	dir, err := osMkdirTemp()
	require.NoError(p.T, err)
	return dir
}

func noForbiddenFields(t *testing.T, m *iso8583.Message) {
	t.Helper()
	for _, id := range []int{14, 35, 45, 52, 55} {
		require.False(t, m.Has(id), "response carries field %d", id)
	}
}

func TestContractApprovalAndEcho(t *testing.T) {
	s := contractSystem(t)
	tm := dialTerminal(t, s.acquirer, "E2EAPPR1")
	req := tm.request("0100", visa, 12301)
	req.Track2 = visa + "=28121010000000000000"
	resp := tm.roundTrip(req)
	require.Equal(t, "0110", resp.MTI)
	require.Equal(t, "00", resp.ResponseCode)
	require.Len(t, resp.ApprovalCode, 6)
	require.Len(t, resp.RRN, 12)
	for _, f := range [][2]string{{req.PAN, resp.PAN}, {req.ProcessingCode, resp.ProcessingCode}, {req.Amount, resp.Amount},
		{req.TransmissionDateTime, resp.TransmissionDateTime}, {req.STAN, resp.STAN}, {req.LocalTime, resp.LocalTime},
		{req.LocalDate, resp.LocalDate}, {req.TerminalID, resp.TerminalID}, {req.MerchantID, resp.MerchantID}, {req.Currency, resp.Currency}} {
		require.Equal(t, f[0], f[1])
	}
	noForbiddenFields(t, resp)

	buy := tm.request("0200", mc, 2000)
	r2 := tm.roundTrip(buy)
	require.Equal(t, "0210", r2.MTI)
	require.Equal(t, "00", r2.ResponseCode)
}

func TestContractSimulatorDeclines(t *testing.T) {
	s := contractSystem(t)
	tm := dialTerminal(t, s.acquirer, "E2EDECL1")
	for _, code := range []string{"05", "14", "51", "54", "55", "57", "61", "62", "65"} {
		var n int64
		fmt.Sscanf(code, "%d", &n)
		resp := tm.roundTrip(tm.request("0200", visa, 10000+n))
		require.Equal(t, code, resp.ResponseCode, "amount ending %s", code)
		require.Empty(t, resp.ApprovalCode)
		noForbiddenFields(t, resp)
	}
}

func TestContractSwitchCodes(t *testing.T) {
	s := contractSystem(t)
	tm := dialTerminal(t, s.acquirer, "E2ECODE1")
	cases := []struct {
		name   string
		mutate func(*iso8583.Message)
		code   string
	}{
		{"Luhn", func(m *iso8583.Message) { m.PAN = "4111111111111112" }, "14"},
		{"no route", func(m *iso8583.Message) { m.PAN = "6011000000000004" }, "15"},
		{"unknown merchant", func(m *iso8583.Message) { m.MerchantID = "NOSUCHMERCHANT1" }, "03"},
		{"expired", func(m *iso8583.Message) { m.Expiry = "2001" }, "54"},
		{"zero amount", func(m *iso8583.Message) { m.Amount = "000000000000" }, "13"},
		{"missing field 22", func(m *iso8583.Message) { m.POSEntryMode = "" }, "30"},
		{"missing field 49", func(m *iso8583.Message) { m.Currency = "" }, "30"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tm.request("0100", visa, 1001)
			tc.mutate(req)
			resp := tm.roundTrip(req)
			require.Equal(t, tc.code, resp.ResponseCode)
			require.Equal(t, "0110", resp.MTI)
		})
	}
	// After a 30, the connection still works.
	require.Equal(t, "00", tm.roundTrip(tm.request("0100", visa, 1001)).ResponseCode)
}

func TestContractDuplicates(t *testing.T) {
	s := contractSystem(t)
	tm := dialTerminal(t, s.acquirer, "E2EDUPL1")
	req := tm.request("0100", visa, 4201)
	first := tm.roundTrip(req)
	require.Equal(t, "00", first.ResponseCode)
	repeat := *req
	repeat.MTI = "0101"
	again := tm.roundTrip(&repeat)
	require.Equal(t, "0110", again.MTI)
	require.Equal(t, first.ApprovalCode, again.ApprovalCode)
	require.Equal(t, first.RRN, again.RRN)
	changed := *req
	changed.Amount = iso8583.FormatAmount(4202)
	require.Equal(t, "94", tm.roundTrip(&changed).ResponseCode)
}

func TestContractNetworkEcho(t *testing.T) {
	s := contractSystem(t)
	tm := dialTerminal(t, s.acquirer, "E2EECHO1")
	resp := tm.roundTrip(&iso8583.Message{MTI: "0800", TransmissionDateTime: time.Now().UTC().Format("0102150405"),
		STAN: tm.nextSTAN(), NetworkCode: "301"})
	require.Equal(t, "0810", resp.MTI)
	require.Equal(t, "00", resp.ResponseCode)
	require.Equal(t, "301", resp.NetworkCode)
}

func TestContractReversal(t *testing.T) {
	s := contractSystem(t)
	tm := dialTerminal(t, s.acquirer, "E2EREVR1")
	auth := tm.request("0100", visa, 2501)
	approved := tm.roundTrip(auth)
	require.Equal(t, "00", approved.ResponseCode)
	rev := tm.request("0400", visa, 2501)
	rev.OriginalData = iso8583.OriginalData{MTI: "0100", STAN: auth.STAN, TransmissionDateTime: auth.TransmissionDateTime}.String()
	resp := tm.roundTrip(rev)
	require.Equal(t, "0410", resp.MTI)
	require.Equal(t, "00", resp.ResponseCode)
	require.Equal(t, approved.RRN, resp.RRN)

	unknown := tm.request("0400", visa, 2501)
	unknown.OriginalData = iso8583.OriginalData{MTI: "0100", STAN: "999999", TransmissionDateTime: auth.TransmissionDateTime}.String()
	require.Equal(t, "25", tm.roundTrip(unknown).ResponseCode)
	advice := *unknown
	advice.MTI, advice.STAN = "0420", tm.nextSTAN()
	require.Equal(t, "00", tm.roundTrip(&advice).ResponseCode)
}

func TestContractPipelining200(t *testing.T) {
	s := contractSystem(t)
	tm := dialTerminal(t, s.acquirer, "E2EPIPE1")
	var chans []<-chan *iso8583.Message
	var reqs []*iso8583.Message
	for i := range 200 {
		pan := visa
		if i%2 == 1 {
			pan = mc
		}
		req := tm.request("0100", pan, int64(1001+100*(i%50)))
		reqs = append(reqs, req)
		chans = append(chans, tm.send(req))
	}
	for i, ch := range chans {
		resp := tm.await(ch, 20*time.Second)
		require.Equal(t, reqs[i].STAN, resp.STAN)
		require.Equal(t, reqs[i].Amount, resp.Amount, "matched to its own request")
		require.Equal(t, "00", resp.ResponseCode)
	}
}

func TestContractGarbageAndTruncatedFrames(t *testing.T) {
	s := contractSystem(t)
	good := dialTerminal(t, s.acquirer, "E2EGOOD1")
	for _, raw := range [][]byte{
		{0x00, 0x08, 'G', 'A', 'R', 'B', 'A', 'G', 'E', '!'},
		{0xFF, 0xFF, 0x00},
		[]byte("\x00\x40" + "0100723C4400"), // announces 64 bytes, sends 12 and closes
	} {
		nc, err := net.Dial("tcp", s.acquirer)
		require.NoError(t, err)
		_, err = nc.Write(raw)
		require.NoError(t, err)
		nc.(*net.TCPConn).CloseWrite()
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		_, err = nc.Read(buf)
		require.Error(t, err, "the server closes a connection it cannot read")
		nc.Close()
		require.Equal(t, "00", good.roundTrip(good.request("0100", visa, 1001)).ResponseCode, "other connections keep working")
	}
	// A readable MTI with a broken body is answered 30 and the connection stays open.
	bad := dialTerminal(t, s.acquirer, "E2EBAD01")
	resp := bad.await(bad.sendRaw("0200", "", []byte("0200723C44")), 10*time.Second)
	require.Equal(t, "0210", resp.MTI)
	require.Equal(t, "30", resp.ResponseCode)
	require.Equal(t, "00", bad.roundTrip(bad.request("0100", visa, 1001)).ResponseCode)
}

func TestContractHTTP(t *testing.T) {
	s := contractSystem(t)
	code, body := httpGet(t, "http://"+s.http+"/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "cardswitch_transactions_total")
	require.Contains(t, body, "cardswitch_issuer_request_duration_seconds")
	require.NotContains(t, body, "4111111111111111")
	require.NotContains(t, body, "MERCHANT0000001")
	code, _ = httpGet(t, "http://"+s.http+"/livez")
	require.Equal(t, http.StatusOK, code)
	var issuers []map[string]any
	require.Equal(t, http.StatusOK, getJSON(t, "http://"+s.http+"/v1/issuers", &issuers))
	require.Len(t, issuers, 2)
	names := []string{}
	for _, is := range issuers {
		names = append(names, fmt.Sprint(is["name"]))
	}
	require.ElementsMatch(t, []string{"alpha", "beta"}, names)

	tm := dialTerminal(t, s.acquirer, "E2EHTTP1")
	resp := tm.roundTrip(tm.request("0200", visa, 1234501))
	require.Equal(t, "00", resp.ResponseCode)
	var tx map[string]any
	require.Equal(t, http.StatusOK, getJSON(t, "http://"+s.http+"/v1/transactions/"+resp.RRN, &tx))
	require.Equal(t, "411111******1111", tx["masked_pan"])
	code, _ = httpGet(t, "http://"+s.http+"/v1/transactions/NOSUCHRRN000")
	require.Equal(t, http.StatusNotFound, code)

	var tb struct {
		Currencies []struct {
			Currency string `json:"currency"`
			Totals   struct {
				DebitsPosted, CreditsPosted, DebitsPending, CreditsPending int64
			} `json:"totals"`
		} `json:"currencies"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, "http://"+s.http+"/v1/ledger/trial-balance", &tb))
	require.NotEmpty(t, tb.Currencies)
	_, raw := httpGet(t, "http://"+s.http+"/v1/ledger/trial-balance")
	require.True(t, strings.Contains(raw, `"debits_posted"`))
}

// Logf writes to stderr: the test that started the shared system may be over.
func (p *persistentT) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// Failed reports failures of the package run; the shared system's logs are printed then.
func (p *persistentT) Failed() bool { return packageFailed }

func TestContractRefunds(t *testing.T) {
	s := contractSystem(t)
	tm := dialTerminal(t, s.acquirer, "E2EREFN1")
	require.Equal(t, "00", tm.roundTrip(tm.request("0200", visa, 20001)).ResponseCode)
	refund := tm.request("0200", visa, 5000)
	refund.ProcessingCode = "200000"
	resp := tm.roundTrip(refund)
	require.Equal(t, "00", resp.ResponseCode)
	require.Len(t, resp.ApprovalCode, 6)
	huge := tm.request("0200", visa, 900_000_000_000)
	huge.ProcessingCode = "200000"
	require.Equal(t, "13", tm.roundTrip(huge).ResponseCode, "a refund over what the merchant is owed")
}
