package issuer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger/reconcile"
)

func openJournal(t *testing.T, path string) *Journal {
	t.Helper()
	j, err := OpenJournal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func readJournalFile(t *testing.T, path string) ([]reconcile.Record, reconcile.ReadStats) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, stats, err := reconcile.ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	return recs, stats
}

// TestJournalRecordsWhatWasDecided sends every kind of message and reads the journal back: one
// record per request, advice and reversal (none for network management), each written before its
// answer arrived, the PAN masked, and the positions a reconciliation computes from it.
func TestJournalRecordsWhatWasDecided(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alpha.jsonl")
	j := openJournal(t, path)
	sim := startSim(t, Config{Journal: j, SlowDelay: time.Hour})
	c := dial(t, sim.Addr(), nil)
	with := func(m *iso8583.Message, edit func(*iso8583.Message)) *iso8583.Message { edit(m); return m }
	purchase := with(authorization("000001", "000000001001"), func(m *iso8583.Message) { m.MTI = "0200" })
	reversal := with(authorization("000005", "000000001001"), func(m *iso8583.Message) {
		m.MTI, m.RRN, m.OriginalData = "0400", purchase.RRN, "0200000001112614301500000000000000000000000"[:42]
		m.ReplacementAmounts = "000000000400000000000400000000000000000000"
	})
	sent := []*iso8583.Message{
		purchase,
		authorization("000002", "000000001051"), // declined
		authorization("000003", "000000001099"), // never answered
		authorization("000004", "000000001098"), // approved, the answer an hour away
		reversal,
		{MTI: "0800", TransmissionDateTime: "1126143600", STAN: "000006", NetworkCode: "301"},
		with(authorization("000007", "000000000450"), func(m *iso8583.Message) { m.MTI = "0120" }),
	}
	for _, m := range sent {
		c.send(m)
	}
	for range 5 { // the answers due now: 000001, 000002, 000005, 000006 (0810) and 000007
		got := c.recv()
		recs, _ := readJournalFile(t, path)
		if got.MTI != "0810" && !journalHas(recs, got.STAN) {
			t.Errorf("the answer to STAN %s arrived before its record was in the journal", got.STAN)
		}
	}
	var recs []reconcile.Record
	deadline := time.Now().Add(ioTimeout)
	for len(recs) < 6 && time.Now().Before(deadline) {
		recs, _ = readJournalFile(t, path)
		time.Sleep(5 * time.Millisecond)
	}
	if len(recs) != 6 {
		t.Fatalf("%d records, want 6 (no 0800): %+v", len(recs), recs)
	}
	by := map[string]reconcile.Record{}
	for _, r := range recs {
		by[r.STAN] = r
		if r.PAN != "411111******1111" {
			t.Errorf("STAN %s: pan %q, want it masked 6+4", r.STAN, r.PAN)
		}
		if r.Time.IsZero() || time.Since(r.Time) > time.Minute {
			t.Errorf("STAN %s: time %v", r.STAN, r.Time)
		}
	}
	if r := by["000001"]; r.MTI != "0200" || r.ResponseCode != "00" || r.ApprovalCode != ApprovalCode(purchase) ||
		r.Amount != 1001 || r.RRN != purchase.RRN || r.ProcessingCode != "000000" || r.Currency != "840" ||
		r.Transmitted != "1126143015" || r.Terminal != "TERM0001" || r.AcquirerID != "12345678901" {
		t.Errorf("purchase: %+v", r)
	}
	if r := by["000002"]; r.ResponseCode != "51" || r.ApprovalCode != "" {
		t.Errorf("decline: %+v", r)
	}
	if r := by["000003"]; r.ResponseCode != "" {
		t.Errorf("never answered: %+v, want no response code", r)
	}
	if r := by["000004"]; r.ResponseCode != "00" {
		t.Errorf("slow approval: %+v, want it recorded as approved at once", r)
	}
	if r := by["000005"]; r.MTI != "0400" || r.OriginalData == "" || r.Replacement == nil || *r.Replacement != 400 {
		t.Errorf("reversal: %+v", r)
	}
	book := reconcile.NewIssuerBook(recs)
	for rrn, want := range map[string]int64{purchase.RRN: 400, "633014000002": 0, "633014000003": 0, "633014000004": 1098, "633014000007": 450} {
		if p := book.Positions[rrn]; p == nil || p.Holds != want {
			t.Errorf("%s: %+v, want holds %d", rrn, p, want)
		}
	}
}

func journalHas(recs []reconcile.Record, stan string) bool {
	for _, r := range recs {
		if r.STAN == stan {
			return true
		}
	}
	return false
}

// TestJournalSurvivesRestartAndTornLine reopens a journal whose last line a killed simulator did
// not finish: the torn line is cut off and the new records follow the old ones.
func TestJournalSurvivesRestartAndTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	first := `{"time":"2026-12-06T10:00:01Z","mti":"0200","rrn":"R1","stan":"000001","transmitted":"1206100000","processing_code":"000000","amount":1000,"currency":"840","response_code":"00","pan":"411111******1111"}` + "\n"
	if err := os.WriteFile(path, []byte(first+`{"time":"2026-12-06T10:00:02Z","mti":"02`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stats := readJournalFile(t, path); !stats.Torn {
		t.Fatal("the reader does not report the torn line")
	}
	j := openJournal(t, path)
	sim := startSim(t, Config{Journal: j})
	c := dial(t, sim.Addr(), nil)
	c.send(authorization("000009", "000000002001"))
	if got := c.recv(); got.ResponseCode != "00" {
		t.Fatalf("answer %s", got.ResponseCode)
	}
	recs, stats := readJournalFile(t, path)
	if stats.Torn || len(recs) != 2 || recs[0].RRN != "R1" || recs[1].STAN != "000009" {
		t.Fatalf("after the restart: %+v %+v", recs, stats)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), first) {
		t.Errorf("the first record was changed: %q", b)
	}
}

func TestJournalTornSingleLineAndEmpty(t *testing.T) {
	dir := t.TempDir()
	torn := filepath.Join(dir, "torn")
	os.WriteFile(torn, []byte(`{"mti":"02`), 0o600)
	openJournal(t, torn)
	if b, _ := os.ReadFile(torn); len(b) != 0 {
		t.Errorf("a journal of one torn line: %q left", b)
	}
	openJournal(t, filepath.Join(dir, "new"))
	if st, err := os.Stat(filepath.Join(dir, "new")); err != nil || st.Size() != 0 {
		t.Errorf("new journal: %v %v", st, err)
	}
}

func TestJournalRefusesASecondWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	openJournal(t, path)
	if j, err := OpenJournal(path, false); err == nil {
		j.Close()
		t.Fatal("a second simulator could open the same journal")
	}
}

// TestJournalFailureRefusesTheApproval: an issuer that cannot record an approval does not give it.
func TestJournalFailureRefusesTheApproval(t *testing.T) {
	j := openJournal(t, filepath.Join(t.TempDir(), "j"))
	sim := startSim(t, Config{Journal: j})
	j.Close() // every append now fails
	c := dial(t, sim.Addr(), nil)
	c.send(authorization("000001", "000000001001"))
	if got := c.recv(); got.ResponseCode != iso8583.RCSystemMalfunction || got.ApprovalCode != "" || got.MTI != "0110" {
		t.Errorf("answer %s/%s/%q, want 0110/96 without an approval code", got.MTI, got.ResponseCode, got.ApprovalCode)
	}
}
