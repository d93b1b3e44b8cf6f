package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/cardswitch/cardswitch/carddata"
	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
	"github.com/cardswitch/cardswitch/simulator/testkeys"
)

// TestCardDataNeverLeaks runs a mixed load through the switch (ISO 8583 with and without PIN
// blocks, track 2, declines, refunds, completions, reversals, issuer timeouts and an issuer
// outage that leaves reversals in store-and-forward), on each ledger store, and then looks for
// card data (CONTRACT §11) everywhere the switch writes: every log line, every metric, every
// answer of the operators' HTTP API, the settlement reports and ledger and audit listings, and
// every column of every row of every table of the database. It fails on
//
//   - anything carddata.Scan finds: a 13-19 digit run that passes Luhn and is neither an amount
//     nor a date, track data, a named CVV or PIN block;
//   - any card number the test or the load generator used, in clear, anywhere in a value, even
//     inside a longer run of digits (a packed ISO 8583 message in a blob): the test's own cards
//     literally, the load's by their first six and last four digits as the load reported them;
//   - the test's PIN blocks (under the terminal's key and under the issuer's), the clear PIN, and
//     track 2, in hex or raw bytes;
//   - a count above zero of cardswitch_card_data_detections_total (the log guard masks a line
//     with card data before it is written, so a leak in the log shows up there).
func TestCardDataNeverLeaks(t *testing.T) {
	for _, store := range []string{"embedded", "postgres"} {
		t.Run(store, func(t *testing.T) {
			dbURL := ""
			if store == "postgres" {
				dbURL = pgtest.Schema(t)
			}
			s := startCardSystem(t, dbURL)
			ledgerLog := filepath.Join(t.TempDir(), "approvals.jsonl")
			ld := start(t, "load", nil, "load", "--target", s.acquirer, "--rate", loadRate(120), "--duration", "6s", "--timeout", "5s",
				"--mix", "purchase=40,preauth=20,refund=10,reversal=10,decline=15,timeout=5", "--terminals", "6",
				"--pin-share", "40", "--keys", s.keysFile, "--pin", cardPIN, "--ledger-log", ledgerLog, "--quiet", "--seed", "7")
			select {
			case <-ld.done:
			case <-time.After(60 * time.Second):
				t.Fatal("the load did not finish")
			}
			require.Equal(t, 0, ld.cmd.ProcessState.ExitCode(), tail(ld.out.String(), 2000))
			secrets := s.handcrafted(t)
			apiAnswers := s.apiTraffic(t, &secrets)
			approved := loadApprovals(t, ledgerLog)
			require.Greater(t, len(approved), 80, "the load was approved: the scan covers real traffic")

			var artifacts []artifact
			artifacts = append(artifacts, s.httpArtifacts(t, approved)...)
			artifacts = append(artifacts, apiAnswers...)
			metrics := artifacts[0].text
			require.Zero(t, metricSum(metrics, "cardswitch_card_data_detections_total"), "the log guard found card data in a log line")
			require.Positive(t, metricSum(metrics, `cardswitch_hsm_requests_total{operation="translate_pin",result="ok"}`), "PIN blocks went through")
			require.Equal(t, 0, s.sw.stop(30*time.Second), "the switch stops cleanly")
			artifacts = append(artifacts, artifact{"serve log", s.sw.out.String()})
			artifacts = append(artifacts, s.cliArtifacts(t)...)
			artifacts = append(artifacts, dbArtifacts(t, s.dataDir, dbURL)...)

			leaks, loadCards := secrets.leaks(), loadCardKeys(approved)
			require.Greater(t, len(loadCards), 40)
			findings, seenKnown := 0, map[int]bool{}
			for _, a := range artifacts {
				for _, line := range strings.Split(a.text, "\n") {
					for _, f := range carddata.Scan([]byte(line)) {
						findings++
						t.Errorf("%s: %s found: %s", a.name, f.Kind, excerpt(line, f.Start, f.End))
					}
					for _, f := range findLeaks(line, leaks, loadCards) {
						if k := knownFinding(a.name, f.name); k >= 0 {
							seenKnown[k] = true
							t.Logf("KNOWN DEFECT %s: %s found: %q (%s)", a.name, f.name, excerpt(line, f.start, f.end), knownFindings[k].defect)
							continue
						}
						findings++
						t.Errorf("%s: %s found: %q", a.name, f.name, excerpt(line, f.start, f.end))
					}
					if findings > 50 {
						t.Fatal("more than 50 findings; stopping")
					}
				}
			}
			for k, kf := range knownFindings {
				require.True(t, seenKnown[k], "known defect no longer found, remove it from knownFindings: %s", kf.defect)
			}
			t.Logf("%s: %d artifacts scanned (the log, HTTP answers, CLI reports, database rows) for %d known secrets and %d load cards",
				store, len(artifacts), len(leaks), len(loadCards))
		})
	}
}

// knownFindings are card data the scan finds today whose fix belongs to code this test's owner
// does not own. Each is a defect, reported with its fix; the test fails when it is no longer
// found, so that the entry goes with the fix. Never add one to make a new finding pass.
var knownFindings = []struct{ artifact, leak, defect string }{}

func knownFinding(artifact, leak string) int {
	for i, k := range knownFindings {
		if strings.HasPrefix(artifact, k.artifact) && leak == k.leak {
			return i
		}
	}
	return -1
}

// cardPIN is the cardholders' PIN in this test: 12 digits, so that finding it is no accident.
const cardPIN = "582914736015"

// artifact is one thing the switch wrote: its name and its text (or a row's columns).
type artifact struct{ name, text string }

// excerpt shows where a finding is without printing it whole: masked, with some context.
func excerpt(s string, from, to int) string {
	lo, hi := max(0, from-40), min(len(s), to+40)
	found := []byte(s[from:to])
	masked := append([]byte(nil), found...)
	for i := 6; i < len(masked)-4; i++ {
		masked[i] = '*'
	}
	return s[lo:from] + "[" + string(masked) + "]" + s[to:hi]
}

// cardSystem is the switch with PIN keys for the load's terminals and the test's own.
type cardSystem struct {
	acquirer, http, api, dataDir, dbURL string
	keysFile                            string
	keys                                testkeys.Set
	soft                                *hsm.Soft
	sw, beta                            *proc
}

const cardTerminal = "E2ECARD1"

func startCardSystem(t *testing.T, dbURL string) *cardSystem {
	t.Helper()
	soft := hsm.NewSoft(hsm.TestLMK())
	keys, err := testkeys.Generate(soft, "test")
	require.NoError(t, err)
	s := &cardSystem{dataDir: t.TempDir(), dbURL: dbURL, keys: keys, soft: soft, keysFile: filepath.Join(t.TempDir(), "keys.txt")}
	require.NoError(t, keys.WriteFile(s.keysFile))
	alpha, beta := freePort(t), freePort(t)
	sim := func(name, addr string) *proc {
		return start(t, "issuer-sim "+name, nil, "issuer-sim", "--listen", addr, "--name", name, "--slow-delay", "3s",
			"--lmk", "test", "--zpk", keys.ZPK.Cryptogram, "--pin", cardPIN)
	}
	sim("alpha", alpha)
	s.beta = sim("beta", beta)
	waitTCP(t, alpha)
	waitTCP(t, beta)
	k := testkeys.ConfigKey
	var terminals strings.Builder
	for i := 1; i <= 6; i++ {
		fmt.Fprintf(&terminals, "  - {id: LOAD%04d, tpk: %s}\n", i, k(keys.TPK))
	}
	fmt.Fprintf(&terminals, "  - {id: %s, merchant: MERCHANT0000001, tpk: %s}\n", cardTerminal, k(keys.TPK))
	s.sw = startServeOnFreePorts(t, "serve", func() (string, string) {
		s.acquirer, s.http, s.api = freePort(t), freePort(t), freePort(t)
		cfg := fmt.Sprintf(`acceptor: {listen: %q}
http: {listen: %q}
api: {listen: %q}
issuers:
  - {name: alpha, addr: %q, prefixes: ["4"], timeout: 3s, echo_interval: 1s, zpk: %s}
  - {name: beta, addr: %q, prefixes: ["5"], timeout: 3s, echo_interval: 1s, zpk: %s}
terminals:
%sledger: {data_dir: %q, database_url: %q, settlement_dir: %q}
log: {level: debug}
`, s.acquirer, s.http, s.api, alpha, k(keys.ZPK), beta, k(keys.ZPK), terminals.String(), s.dataDir, dbURL, filepath.Join(s.dataDir, "settlement"))
		path := filepath.Join(t.TempDir(), "cardswitch.yaml")
		require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
		return path, s.http
	})
	return s
}

// cardSecrets are the card data the test itself sent.
type cardSecrets struct {
	pans      []string
	pinBlocks map[string][]byte // name → the encrypted PIN block
	track2    []string
}

// The test's own cards (test numbers of the card schemes; Luhn-valid).
var cardPANs = struct{ pin, track, refund, decline, timeout, outage string }{
	pin: "4111111111111111", track: "4012888888881881", refund: "4000056655665556",
	decline: "4242424242424242", timeout: "4917610000000000", outage: "5555555555554444",
}

// handcrafted sends the test's own requests with known card data: a PIN purchase and its
// reversal, a hold with track 2 and its completion, a refund, a decline, a timeout (reversed at
// the issuer through store-and-forward), and, with beta stopped, a purchase and its reversal,
// which stays in store-and-forward until the end.
func (s *cardSystem) handcrafted(t *testing.T) cardSecrets {
	t.Helper()
	sec := cardSecrets{pinBlocks: map[string][]byte{}}
	tm := dialTerminal(t, s.acquirer, cardTerminal)
	pinBlock := func(pan string) []byte {
		b, err := s.soft.EncryptPIN(context.Background(), s.keys.TPK, hsm.PINFormatISO0, cardPIN, pan)
		require.NoError(t, err)
		zpk, err := s.soft.EncryptPIN(context.Background(), s.keys.ZPK, hsm.PINFormatISO0, cardPIN, pan)
		require.NoError(t, err)
		sec.pinBlocks["PIN block under the TPK for "+pan[:6]] = b
		sec.pinBlocks["PIN block under the ZPK for "+pan[:6]] = zpk
		return b
	}
	reversal := func(orig *iso8583.Message, resp *iso8583.Message) *iso8583.Message {
		rev := tm.request("0400", orig.PAN, 0)
		rev.Amount, rev.RRN = orig.Amount, resp.RRN
		rev.OriginalData = iso8583.OriginalData{MTI: orig.MTI, STAN: orig.STAN, TransmissionDateTime: orig.TransmissionDateTime}.String()
		return rev
	}

	buy := tm.request("0200", cardPANs.pin, 4321)
	buy.PINBlock = pinBlock(buy.PAN)
	resp := tm.roundTrip(buy)
	require.Equal(t, "00", resp.ResponseCode, "PIN purchase")
	require.Equal(t, "00", tm.roundTrip(reversal(buy, resp)).ResponseCode, "its reversal")

	hold := tm.request("0100", cardPANs.track, 8710)
	hold.Track2 = cardPANs.track + "=28121010000012300000"
	sec.track2 = append(sec.track2, hold.Track2)
	resp = tm.roundTrip(hold)
	require.Equal(t, "00", resp.ResponseCode, "hold with track 2")
	done := tm.request("0220", cardPANs.track, 8000)
	done.RRN = resp.RRN
	done.OriginalData = iso8583.OriginalData{MTI: "0100", STAN: hold.STAN, TransmissionDateTime: hold.TransmissionDateTime}.String()
	require.Equal(t, "00", tm.roundTrip(done).ResponseCode, "completion")

	sale := tm.request("0200", cardPANs.refund, 20000)
	require.Equal(t, "00", tm.roundTrip(sale).ResponseCode)
	refund := tm.request("0200", cardPANs.refund, 5000)
	refund.ProcessingCode = "200000"
	require.Equal(t, "00", tm.roundTrip(refund).ResponseCode, "refund")

	require.Equal(t, "51", tm.roundTrip(tm.request("0200", cardPANs.decline, 1051)).ResponseCode, "decline")
	require.Equal(t, "91", tm.roundTrip(tm.request("0200", cardPANs.timeout, 1099)).ResponseCode, "issuer timeout")

	out := tm.request("0200", cardPANs.outage, 3000)
	outResp := tm.roundTrip(out)
	require.Equal(t, "00", outResp.ResponseCode, "a purchase at beta")
	require.Equal(t, 0, s.beta.stop(10*time.Second))
	require.Eventually(t, func() bool {
		_, body := httpGet(t, "http://"+s.http+"/metrics")
		return metricSum(body, `cardswitch_issuer_connections_signed_on{issuer="beta"}`) == 0
	}, 15*time.Second, 50*time.Millisecond, "beta is down")
	require.Equal(t, "00", tm.roundTrip(reversal(out, outResp)).ResponseCode, "its reversal is accepted and queued for beta")
	require.Eventually(t, func() bool {
		_, body := httpGet(t, "http://"+s.http+"/metrics")
		return metricSum(body, "cardswitch_saf_depth") > 0
	}, 10*time.Second, 50*time.Millisecond, "the reversal waits in store-and-forward")

	sec.pans = []string{cardPANs.pin, cardPANs.track, cardPANs.refund, cardPANs.decline, cardPANs.timeout, cardPANs.outage}
	return sec
}

// leak is one thing that must appear nowhere, with its name.
type leak struct {
	name   string
	needle string // found as a substring, in either case (hex)
	raw    bool   // found byte for byte (binary)
}

// leaks are the test's own card data: each PAN, PIN block (in hex either case, and raw) and
// track 2, and the clear PIN.
func (sec cardSecrets) leaks() []leak {
	out := []leak{{name: "the clear PIN", needle: cardPIN}, {name: "the CVC as field 63 carries it", needle: "11 " + apiCVC}}
	for _, pan := range sec.pans {
		out = append(out, leak{name: "the test's card " + pan[:6] + "…" + pan[12:], needle: pan})
	}
	for _, tr := range sec.track2 {
		out = append(out, leak{name: "track 2 of " + tr[:6] + "…", needle: tr[strings.IndexByte(tr, '='):]})
	}
	for name, b := range sec.pinBlocks {
		out = append(out, leak{name: name + " (hex)", needle: strings.ToUpper(hex.EncodeToString(b))},
			leak{name: name + " (raw)", needle: string(b), raw: true})
	}
	return out
}

// found is one leak found in a line: its name and where.
type found struct {
	name       string
	start, end int
}

// findLeaks reports every leak in line, and every 16-digit window of a digit run that is one
// of the load's approved cards (known by their first six and last four digits).
func findLeaks(line string, leaks []leak, loadCards map[string]bool) []found {
	var out []found
	upper := strings.ToUpper(line)
	for _, l := range leaks {
		i := strings.Index(line, l.needle)
		if i < 0 && !l.raw {
			i = strings.Index(upper, strings.ToUpper(l.needle))
		}
		if i >= 0 {
			out = append(out, found{l.name, i, i + len(l.needle)})
		}
	}
	for i := 0; i < len(line); {
		j := i
		for j < len(line) && line[j] >= '0' && line[j] <= '9' {
			j++
		}
		for k := i; k+16 <= j; k++ {
			if w := line[k : k+16]; loadCards[w[:6]+w[12:]] {
				out = append(out, found{"a load card " + w[:6] + "******" + w[12:], k, k + 16})
			}
		}
		i = max(j, i+1)
	}
	return out
}

// loadCardKeys are the first six and last four digits of every card the load had approved.
func loadCardKeys(approved []loadApproval) map[string]bool {
	masked := regexp.MustCompile(`^([0-9]{6})\*{6}([0-9]{4})$`)
	out := map[string]bool{}
	for _, a := range approved {
		if m := masked.FindStringSubmatch(a.PAN); m != nil {
			out[m[1]+m[2]] = true
		}
	}
	return out
}

type loadApproval struct {
	RRN, PAN, Terminal, STAN, Transmitted string
}

func loadApprovals(t *testing.T, path string) []loadApproval {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []loadApproval
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a loadApproval
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a))
		out = append(out, a)
	}
	require.NoError(t, sc.Err())
	return out
}

// httpArtifacts are the answers of the operators' listener: /metrics first, then every admin
// endpoint, every approved transaction by RRN, and requests that name a card number.
func (s *cardSystem) httpArtifacts(t *testing.T, approved []loadApproval) []artifact {
	t.Helper()
	base := "http://" + s.http
	paths := []string{"/metrics", "/livez", "/readyz", "/v1/issuers", "/v1/ledger/trial-balance", "/v1/saf", "/v1/audit",
		"/v1/transactions/" + cardPANs.pin, "/v1/transactions?terminal=" + cardTerminal + "&stan=000001&transmitted=0101000000",
		"/v1/transactions/" + url.PathEscape(cardPANs.track+"=2812")}
	seen := map[string]bool{}
	for _, a := range approved {
		if a.RRN != "" && !seen[a.RRN] {
			seen[a.RRN] = true
			paths = append(paths, "/v1/transactions/"+a.RRN)
		}
	}
	var out []artifact
	found := 0
	for _, p := range paths {
		code, body := httpGet(t, base+p)
		require.NotZero(t, code, p)
		if code == http.StatusOK && strings.HasPrefix(p, "/v1/transactions/") {
			found++
		}
		out = append(out, artifact{"GET " + p, body})
	}
	require.Greater(t, found, len(seen)/2, "the transactions are found by RRN: their answers are scanned")
	return out
}

// cliArtifacts are the ledger's reports and listings as the CLI prints them, on the same store:
// the cutover's settlement report (JSON and CSV), the trial balance, the balances and the audit
// log, and the settlement files in the settlement directory.
func (s *cardSystem) cliArtifacts(t *testing.T) []artifact {
	t.Helper()
	db := []string{"--data-dir", s.dataDir}
	if s.dbURL != "" {
		db = []string{"--database-url", s.dbURL}
	}
	run := func(args ...string) artifact {
		cmd := exec.Command(binary, append(args, db...)...)
		cmd.Env = append(os.Environ(), "CARDSWITCH_DATABASE_URL=")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%v: %s", args, out)
		return artifact{"cardswitch " + strings.Join(args, " "), string(out)}
	}
	cut := run("ledger", "cutover", "--json")
	var rep struct {
		BusinessDay string `json:"business_day"`
	}
	require.NoError(t, json.Unmarshal([]byte(cut.text), &rep), cut.text)
	out := []artifact{cut,
		run("ledger", "settlement", "--business-day", rep.BusinessDay, "--csv"),
		run("ledger", "settlement", "--business-day", rep.BusinessDay, "--json"),
		run("ledger", "trial-balance", "--json"), run("ledger", "balances"), run("ledger", "verify"),
		run("audit", "list", "--json")}
	files, _ := filepath.Glob(filepath.Join(s.dataDir, "settlement", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		out = append(out, artifact{f, string(b)})
	}
	return out
}

// dbArtifacts returns every row of every table of the database as one artifact per row, each
// column as "table.column=value" (blobs as their raw bytes), so that a named detector sees the
// column's name.
func dbArtifacts(t *testing.T, dataDir, dbURL string) []artifact {
	t.Helper()
	var out []artifact
	tables := 0
	add := func(table string, cols []string, vals []any) {
		var b strings.Builder
		for i, c := range cols {
			fmt.Fprintf(&b, "%s.%s=", table, c)
			switch v := vals[i].(type) {
			case []byte:
				b.Write(v)
			case nil:
			default:
				fmt.Fprint(&b, v)
			}
			b.WriteByte('\t')
		}
		out = append(out, artifact{"table " + table, b.String()})
	}
	// The embedded ledger's file and any other SQLite file a store keeps in the data directory.
	files, err := filepath.Glob(filepath.Join(dataDir, "*.db"))
	require.NoError(t, err)
	for _, file := range files {
		tables += sqliteRows(t, file, add)
	}
	if dbURL == "" {
		require.NotEmpty(t, files, "the embedded store's file")
	} else {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dbURL)
		require.NoError(t, err)
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`)
		require.NoError(t, err)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		for _, name := range names {
			tables++
			rows, err := conn.Query(ctx, `SELECT * FROM "`+name+`"`)
			require.NoError(t, err)
			var cols []string
			for _, f := range rows.FieldDescriptions() {
				cols = append(cols, f.Name)
			}
			for rows.Next() {
				vals, err := rows.Values()
				require.NoError(t, err)
				add(name, cols, vals)
			}
			require.NoError(t, rows.Err())
		}
	}
	require.GreaterOrEqual(t, tables, 5, "the ledger's, the audit log's and the migrations' tables")
	queued := 0
	for _, a := range out {
		if a.name == "table saf_items" {
			queued++
		}
	}
	require.Positive(t, queued, "store-and-forward items are in the database when it is scanned")
	require.Greater(t, len(out), 300, "the database holds the run")
	return out
}

func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// The scan finds a card inside a packed ISO 8583 message, where its digits run on with the
// length prefix and the processing code, and the test's own secrets in hex of either case.
func TestFindLeaks(t *testing.T) {
	packed := "0200F23C46C1A8E0800000000000040000001644752112345669340000000000000177751126173603"
	cards := loadCardKeys([]loadApproval{{PAN: "447521******6934"}})
	require.Equal(t, []found{{"a load card 447521******6934", 38, 54}}, findLeaks(packed, nil, cards))
	require.Empty(t, findLeaks(`"pan":"447521******6934"`, nil, cards))
	leaks := []leak{{name: "pin block", needle: "0412AC89EF0123AB"}}
	require.Equal(t, []found{{"pin block", 2, 18}}, findLeaks("x=0412ac89ef0123ab", leaks, nil))
}

// The payments API's cards (Luhn-valid test numbers) and the CVC sent with each of them.
var apiPANs = struct{ sale, hold, decline, timeout string }{
	sale: "4263982640269299", hold: "4000000000000077", decline: "4000000000009995", timeout: "4000000000000069",
}

const apiCVC = "739"

// apiTraffic pays through the payments API with card numbers and a CVC in the request body (a
// sale refunded in part, a hold captured, a decline, a timeout reversed through
// store-and-forward, a request whose card number is malformed) and returns every answer the API
// gave, for the scan.
func (s *cardSystem) apiTraffic(t *testing.T, sec *cardSecrets) []artifact {
	t.Helper()
	var out []artifact
	call := func(method, path string, body any) (int, map[string]any) {
		t.Helper()
		code, b := apiDo(t, s.api, method, path, body)
		out = append(out, artifact{"payments API " + method + " " + path, string(b)})
		var v map[string]any
		_ = json.Unmarshal(b, &v)
		return code, v
	}
	pay := func(pan string, amount int64, capture string) (int, map[string]any) {
		return call(http.MethodPost, "/v1/payments", cardPayment(pan, amount, capture))
	}
	code, sale := pay(apiPANs.sale, 2500, "automatic")
	require.Equal(t, http.StatusCreated, code, "%v", sale)
	require.Equal(t, "succeeded", sale["status"])
	id := sale["id"].(string)
	code, _ = call(http.MethodPost, "/v1/payments/"+id+"/refunds", map[string]any{"amount": 700})
	require.Equal(t, http.StatusCreated, code, "refund")
	for _, p := range []string{"", "/events", "/receipt", "/refunds"} {
		code, _ = call(http.MethodGet, "/v1/payments/"+id+p, nil)
		require.Equal(t, http.StatusOK, code, p)
	}
	code, hold := pay(apiPANs.hold, 4000, "manual")
	require.Equal(t, http.StatusCreated, code, "%v", hold)
	code, _ = call(http.MethodPost, "/v1/payments/"+hold["id"].(string)+"/capture", map[string]any{"amount": 3000})
	require.Equal(t, http.StatusOK, code, "capture")
	code, declined := pay(apiPANs.decline, 1051, "automatic")
	require.Equal(t, "declined", declined["status"], "%d %v", code, declined)
	_, timedOut := pay(apiPANs.timeout, 1099, "automatic")
	require.Equal(t, "failed", timedOut["status"], "%v", timedOut)
	code, _ = call(http.MethodPost, "/v1/payments", map[string]any{"amount": 12, "currency": "USD", "reference": "r", "description": "d",
		"card": map[string]any{"number": apiPANs.sale + "x", "expiry_month": 1, "expiry_year": 2030, "cvc": apiCVC}})
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = call(http.MethodGet, "/v1/payments?limit=100", nil)
	require.Equal(t, http.StatusOK, code)
	sec.pans = append(sec.pans, apiPANs.sale, apiPANs.hold, apiPANs.decline, apiPANs.timeout)
	return out
}

// apiDo sends a request to the payments API at addr with the default topology's test key of
// MERCHANT0000001 and returns the status and body.
func apiDo(t testing.TB, addr, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer sk_test_MERCHANT0000001")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// cardPayment is a payments API request with a card.
func cardPayment(pan string, amount int64, capture string) map[string]any {
	return map[string]any{"amount": amount, "currency": "USD", "reference": "scan-" + pan[12:], "description": "card data scan",
		"capture": capture, "card": map[string]any{"number": pan, "expiry_month": 12, "expiry_year": time.Now().Year() + 2, "cvc": apiCVC}}
}

// loadRate is a load's rate in requests per second: lower when the binaries are built with the
// race detector, which makes the switch several times slower (an overloaded switch answers 91).
func loadRate(n int) string {
	if raceEnabled {
		n /= 3
	}
	return fmt.Sprint(n)
}

// sqliteRows hands every row of every table of the SQLite file to add and returns the number of
// tables.
func sqliteRows(t *testing.T, file string, add func(table string, cols []string, vals []any)) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	names := queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	for _, name := range names {
		rows, err := db.Query(`SELECT * FROM "` + name + `"`)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			add(name, cols, vals)
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return len(names)
}
