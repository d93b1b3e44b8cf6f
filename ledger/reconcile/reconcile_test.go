package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/ledger"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// rec builds an issuer record; at is seconds after t0.
func rec(at int, mti, rrn, stan string, amount int64, code string) Record {
	return Record{Time: t0.Add(time.Duration(at) * time.Second), MTI: mti, RRN: rrn, STAN: stan,
		Transmitted: "1206100000", ProcessingCode: "000000", Amount: amount, Currency: "840", ResponseCode: code,
		PAN: "411111******1111", Terminal: "LOAD0001"}
}

func refund(r Record) Record { r.ProcessingCode = "200000"; return r }

func partial(r Record, left int64) Record { r.Replacement = &left; return r }

func noRRN(r Record, original string) Record { r.RRN, r.OriginalData = "", original; return r }

func TestIssuerBook(t *testing.T) {
	recs := []Record{
		rec(1, "0200", "P1", "000001", 1000, "00"),        // purchase
		rec(2, "0200", "D1", "000002", 1051, "51"),        // declined
		refund(rec(3, "0200", "F1", "000003", 250, "00")), // refund: the cardholder credited
		rec(4, "0100", "A1", "000004", 3000, "00"),        // hold …
		rec(5, "0220", "A1", "000005", 2400, "00"),        // … completed for less
		rec(7, "0200", "L1", "000007", 900, "00"),         // a late original …
		rec(6, "0420", "L1", "000006", 900, "00"),         // … whose reversal came first
		rec(8, "0200", "N1", "000008", 700, "00"),         // reversed by field 90 only
		noRRN(rec(9, "0400", "", "000009", 700, "00"), "0200000008120610000000000000000000000000000"[:42]),
		rec(10, "0200", "R1", "000010", 800, "00"), // reversed twice (a SAF retry)
		rec(11, "0420", "R1", "000011", 800, "00"),
		rec(12, "0421", "R1", "000012", 800, "00"),
		rec(13, "0200", "Q1", "000013", 5000, "00"), // partly reversed to 1500
		partial(rec(14, "0400", "Q1", "000014", 5000, "00"), 1500),
		rec(15, "0200", "T1", "000015", 600, "00"), // a repeat with the same STAN and time
		rec(16, "0201", "T1", "000015", 600, "00"),
		rec(17, "0200", "W1", "000017", 400, "00"), // approved twice under one RRN
		rec(18, "0200", "W1", "000018", 400, "00"),
		rec(19, "0200", "X1", "000019", 1099, ""),  // never answered
		rec(20, "0120", "S1", "000020", 450, "00"), // a stand-in advice
		rec(21, "0220", "S2", "000021", 460, "00"), // a completion advice with no hold
		noRRN(rec(22, "0420", "", "000022", 1, "00"), "0200999999120610000000000000000000000000000"[:42]),
		// Field 90 naming another terminal's request, or another card's: it reverses neither.
		rec(23, "0200", "M1", "000023", 300, "00"),
		func() Record {
			r := noRRN(rec(24, "0400", "", "000024", 300, "00"), "0200000023120610000000000000000000000000000"[:42])
			r.Terminal = "LOAD0002"
			return r
		}(),
		func() Record {
			r := noRRN(rec(25, "0400", "", "000025", 300, "00"), "0200000023120610000000000000000000000000000"[:42])
			r.PAN = "522222******2222"
			return r
		}(),
	}
	b := NewIssuerBook(recs)
	want := map[string]int64{"P1": 1000, "D1": 0, "F1": -250, "A1": 2400, "L1": 0, "N1": 0, "R1": 0, "Q1": 1500,
		"T1": 600, "W1": 800, "X1": 0, "S1": 450, "S2": 460, "M1": 300}
	for rrn, holds := range want {
		p := b.Positions[rrn]
		if p == nil {
			t.Errorf("%s: no position", rrn)
			continue
		}
		if p.Holds != holds {
			t.Errorf("%s holds %d, want %d (%+v)", rrn, p.Holds, holds, *p)
		}
	}
	if len(b.Positions) != len(want) {
		t.Errorf("%d positions, want %d", len(b.Positions), len(want))
	}
	if p := b.Positions["W1"]; p.Approved != 2 {
		t.Errorf("W1 approved %d times, want 2", p.Approved)
	}
	if p := b.Positions["T1"]; p.Approved != 1 {
		t.Errorf("T1 (a repeat) approved %d times, want 1", p.Approved)
	}
	if p := b.Positions["R1"]; p.Reversals != 2 {
		t.Errorf("R1 reversals %d, want 2", p.Reversals)
	}
	if p := b.Positions["A1"]; !p.Completed || p.Kind != kindAuthorization {
		t.Errorf("A1: %+v, want a completed authorization", *p)
	}
	if len(b.Unmatched) != 3 || b.Unmatched[0].STAN != "000022" {
		t.Errorf("unmatched reversals: %+v, want those of STAN 000022, 000024 and 000025", b.Unmatched)
	}
}

func TestIssuerBookFullReversalIsFinal(t *testing.T) {
	for name, recs := range map[string][]Record{
		"partial then full": {rec(1, "0200", "Q", "1", 5000, "00"), partial(rec(2, "0400", "Q", "2", 5000, "00"), 1500), rec(3, "0400", "Q", "3", 5000, "00")},
		"full then partial": {rec(1, "0200", "Q", "1", 5000, "00"), rec(2, "0400", "Q", "2", 5000, "00"), partial(rec(3, "0400", "Q", "3", 5000, "00"), 1500)},
	} {
		if h := NewIssuerBook(recs).Positions["Q"].Holds; h != 0 {
			t.Errorf("%s: holds %d, want 0", name, h)
		}
	}
}

// entry builds a ledger journal entry of issuer alpha.
func entry(id string, kind ledger.EventKind, rrn string, amount, held int64) ledger.JournalEntry {
	return ledger.JournalEntry{ID: id, Kind: kind, Issuer: "alpha", RRN: rrn, Currency: "840", Amount: amount,
		Held: held, ResponseCode: "00", Terminal: "LOAD0001", MTI: "0200"}
}

func follow(e ledger.JournalEntry, original string) ledger.JournalEntry {
	e.OriginalID = original
	return e
}

func TestIssuerReconcile(t *testing.T) {
	recs := []Record{
		rec(1, "0200", "OK1", "1", 1000, "00"),
		rec(2, "0100", "OK2", "2", 3000, "00"), rec(3, "0220", "OK2", "3", 2400, "00"),
		rec(4, "0200", "OK3", "4", 500, "00"), rec(5, "0420", "OK3", "5", 500, "00"),
		rec(6, "0200", "CHG", "6", 700, "00"),                                          // the ledger never heard of it
		rec(7, "0200", "LED", "7", 800, "51"),                                          // declined, but the ledger holds it
		rec(8, "0200", "AMT", "8", 900, "00"),                                          // the ledger holds another amount
		rec(9, "0200", "TWI", "9", 400, "00"), rec(10, "0200", "TWI", "10", 400, "00"), // approved twice
		rec(11, "0100", "EXP", "11", 1200, "00"), // the ledger's hold expired
		rec(12, "0200", "RCV", "12", 650, "00"),  // recovered in the ledger, never reversed
		rec(13, "0200", "DEC", "13", 1051, "51"),
	}
	expired := entry("0100/T/11/X", ledger.Authorize, "EXP", 1200, 0)
	expired.Expired = 1200
	entries := []ledger.JournalEntry{
		entry("0200/T/1/X", ledger.Purchase, "OK1", 1000, 1000),
		entry("0100/T/2/X", ledger.Authorize, "OK2", 3000, 0),
		follow(entry("0220/T/3/X", ledger.Capture, "OK2", 2400, 2400), "0100/T/2/X"),
		entry("0200/T/4/X", ledger.Purchase, "OK3", 500, 500),
		follow(entry("0400/T/5/X", ledger.Reverse, "OK3", 500, -500), "0200/T/4/X"),
		entry("0200/T/7/X", ledger.Purchase, "LED", 800, 800),
		entry("0200/T/8/X", ledger.Purchase, "AMT", 950, 950),
		entry("0200/T/9/X", ledger.Purchase, "TWI", 400, 400),
		expired,
		entry("0200/T/12/X", ledger.Recovered, "RCV", 650, 0),
		entry("0200/T/13/X", ledger.Decline, "DEC", 1051, 0),
		entry("0200/T/20/X", ledger.Purchase, "DBL", 300, 300), // two ledger transactions, one RRN
		entry("0200/T/21/X", ledger.Purchase, "DBL", 300, 300),
		entry("0200/B/1/X", ledger.Purchase, "BETA", 300, 300), // another issuer's: ignored
	}
	entries[len(entries)-1].Issuer = "beta"
	rep := Issuer("alpha", recs, entries)
	want := map[string]DiffKind{"CHG": IssuerOnly, "RCV": IssuerOnly, "LED": LedgerOnly, "AMT": AmountDiffers,
		"TWI": IssuerDoubled, "DBL": LedgerDoubled}
	got := map[string]DiffKind{}
	for _, d := range rep.Differences {
		got[d.RRN] = d.Kind
		if !strings.Contains(d.Summary(), d.RRN) {
			t.Errorf("summary %q does not name the RRN", d.Summary())
		}
	}
	for rrn, k := range want {
		if got[rrn] != k {
			t.Errorf("%s: %q, want %q", rrn, got[rrn], k)
		}
	}
	if len(got) != len(want) {
		t.Errorf("differences %v, want %v", got, want)
	}
	if rep.Expired != 1 || rep.Agreed != 4 || rep.Held != 2 || rep.OK() {
		t.Errorf("expired %d agreed %d held %d ok %v; want 1, 4 (OK1 OK2 OK3 DEC), 2, false", rep.Expired, rep.Agreed, rep.Held, rep.OK())
	}
	if rep.Counts[IssuerOnly] != 2 || rep.LedgerEntries != len(entries)-1 {
		t.Errorf("counts %v, ledger entries %d", rep.Counts, rep.LedgerEntries)
	}
	if d := find(rep, "DBL"); d == nil || d.Ledger.Holding != 2 || len(d.Ledger.Originals) != 2 || d.Ledger.Originals[0].Status != "posted" {
		t.Errorf("DBL: %+v", d)
	}
}

func find(rep *Report, rrn string) *Difference {
	for i := range rep.Differences {
		if rep.Differences[i].RRN == rrn {
			return &rep.Differences[i]
		}
	}
	return nil
}

func TestIssuerReconcileAgreesWhenEmpty(t *testing.T) {
	rep := Issuer("alpha", nil, nil)
	if !rep.OK() || rep.Compared != 0 {
		t.Errorf("%+v", rep)
	}
}

func TestLedgerStatus(t *testing.T) {
	hold := entry("0100/T/1/X", ledger.Authorize, "A", 1000, 1000)
	voided := entry("0100/T/2/X", ledger.Authorize, "B", 1000, 0)
	captured := entry("0100/T/3/X", ledger.Authorize, "C", 1000, 0)
	rev := entry("0100/T/4/X", ledger.Authorize, "D", 1000, 0)
	rejected := entry("0200/T/5/X", ledger.Purchase, "E", 1000, 0)
	rejected.Rejection = "exceeds_credits"
	b := NewLedgerBook([]ledger.JournalEntry{
		hold, voided, follow(entry("0400/T/6/X", ledger.Reverse, "B", 1000, 0), voided.ID),
		captured, follow(entry("0220/T/7/X", ledger.Capture, "C", 800, 800), captured.ID),
		rev, follow(entry("0220/T/8/X", ledger.Capture, "D", 800, 800), rev.ID),
		follow(entry("0400/T/9/X", ledger.Reverse, "D", 800, -800), rev.ID),
		rejected,
	})
	for id, want := range map[string]string{hold.ID: "held", voided.ID: "voided", captured.ID: "captured",
		rev.ID: "reversed", rejected.ID: "rejected"} {
		if got := b.Status[id]; got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}
	if b.Chain[captured.ID] != 800 || b.Chain[rev.ID] != 0 || b.Positions["C"].Holds != 800 {
		t.Errorf("chains: %v", b.Chain)
	}
}

func approval(kind, mti, stan string, amount int64) ClientApproval {
	return ClientApproval{RRN: "R" + stan, MTI: mti, Kind: kind, Terminal: "LOAD0001", STAN: stan, Transmitted: "1206100000",
		Amount: amount, Currency: "840"}
}

func of(a ClientApproval, mti, stan string) ClientApproval {
	a.Original = &ClientOriginal{MTI: mti, STAN: stan, Transmitted: "1206100000"}
	return a
}

func TestClient(t *testing.T) {
	const tx = "1206100000"
	id := func(mti, stan string) string { return mti + "/LOAD0001/" + stan + "/" + tx }
	e := func(mti, stan string, kind ledger.EventKind, amount, held int64) ledger.JournalEntry {
		je := entry(id(mti, stan), kind, "R"+stan, amount, held)
		je.STAN = stan
		return je
	}
	expired := e("0100", "000009", ledger.Authorize, 900, 0)
	expired.Expired = 900
	lb := NewLedgerBook([]ledger.JournalEntry{
		e("0200", "000001", ledger.Purchase, 1000, 1000), // held as told
		e("0100", "000002", ledger.Authorize, 3000, 0),   // captured for 2400
		follow(e("0220", "000003", ledger.Capture, 2400, 2400), id("0100", "000002")),
		e("0200", "000004", ledger.Purchase, 500, 500), // reversed, but still held
		e("0200", "000006", ledger.Purchase, 700, 0),   // told approved, ledger rejected it
		e("0200", "000007", ledger.Purchase, 650, 660), // another amount
		e("0200", "000008", ledger.Refund, 250, -250),  // a refund
		expired, // a hold that expired
		e("0200", "000010", ledger.Purchase, 300, 300), // reversed by the terminal
		follow(e("0400", "000011", ledger.Reverse, 300, -300), id("0200", "000010")),
	})
	rep := Client([]ClientApproval{
		approval("purchase", "0200", "000001", 1000),
		approval("preauth", "0100", "000002", 3000),
		of(approval("completion", "0220", "000003", 2400), "0100", "000002"),
		approval("purchase", "0200", "000004", 500),
		of(approval("reversal", "0400", "000005", 500), "0200", "000004"),
		approval("purchase", "0200", "000006", 700),
		approval("purchase", "0200", "000007", 650),
		approval("refund", "0200", "000008", 250),
		approval("preauth", "0100", "000009", 900),
		approval("purchase", "0200", "000010", 300),
		of(approval("reversal", "0400", "000011", 300), "0200", "000010"),
		approval("purchase", "0200", "000012", 123), // not in the ledger at all
	}, lb)
	want := map[string]ClientDiffKind{id("0200", "000004"): ReversedButHeld, id("0200", "000006"): Lost,
		id("0200", "000007"): ClientAmountDiffers, id("0200", "000012"): Lost}
	got := map[string]ClientDiffKind{}
	for _, d := range rep.Differences {
		got[d.ID] = d.Kind
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("differences %v", rep.Differences)
	}
	if rep.Transactions != 9 || rep.Standing != 7 || rep.Agreed != 4 || rep.Expired != 1 || rep.Counts[Lost] != 2 {
		t.Errorf("transactions %d standing %d agreed %d expired %d counts %v", rep.Transactions, rep.Standing, rep.Agreed, rep.Expired, rep.Counts)
	}
}
