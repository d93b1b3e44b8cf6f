package reconcile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/cardswitch/cardswitch/iso8583"
)

// ClientApproval is what a terminal was told: a line of `cardswitch load --ledger-log` (one per
// answer with response code 00; docs/load.md).
type ClientApproval struct {
	RRN         string          `json:"rrn"`
	MTI         string          `json:"mti"`
	Kind        string          `json:"kind"`
	Terminal    string          `json:"terminal"`
	STAN        string          `json:"stan"`
	Transmitted string          `json:"transmitted"`
	Merchant    string          `json:"merchant"`
	Amount      int64           `json:"amount"`
	Currency    string          `json:"currency"`
	PAN         string          `json:"pan"`
	Approval    string          `json:"approval"`
	Original    *ClientOriginal `json:"original,omitempty"`
}

// ClientOriginal is the transaction a completion or reversal refers to (field 90's parts).
type ClientOriginal struct {
	MTI         string `json:"mti"`
	STAN        string `json:"stan"`
	Transmitted string `json:"transmitted"`
	RRN         string `json:"rrn"`
	Amount      int64  `json:"amount"`
}

// ReadClientLog reads a load generator's ledger log; like a journal, an incomplete last line
// (the generator was killed while writing it) is left out and reported.
func ReadClientLog(r io.Reader) ([]ClientApproval, ReadStats, error) {
	br := bufio.NewReaderSize(r, maxLine)
	var (
		out   []ClientApproval
		stats ReadStats
	)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, stats, fmt.Errorf("%w: line %d is longer than %d bytes", ErrFormat, n, maxLine)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, stats, err
		}
		last := errors.Is(err, io.EOF)
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			var a ClientApproval
			if jerr := json.Unmarshal(trimmed, &a); jerr != nil || a.Terminal == "" || len(a.MTI) != 4 {
				if last {
					stats.Torn = true
					return out, stats, nil
				}
				return nil, stats, fmt.Errorf("%w: ledger log line %d: not an approval line (terminal, mti, stan, transmitted)", ErrFormat, n)
			}
			out = append(out, a)
			stats.Records++
		}
		if last {
			return out, stats, nil
		}
	}
}

// ClientDiffKind is how what a terminal was told and what the ledger holds disagree.
type ClientDiffKind string

// Kinds of client disagreement.
const (
	// Lost: the terminal was told a sale, hold or refund was approved (and did not reverse it),
	// and the ledger does not hold it.
	Lost ClientDiffKind = "lost"
	// ClientAmountDiffers: the ledger holds it with another amount than the terminal was told
	// (the captured amount for a completed hold).
	ClientAmountDiffers ClientDiffKind = "amount_differs"
	// ReversedButHeld: the terminal was told its reversal was accepted, and the ledger still
	// holds the original.
	ReversedButHeld ClientDiffKind = "reversed_but_held"
)

// ClientDiffKinds lists every kind, in report order.
var ClientDiffKinds = []ClientDiffKind{Lost, ClientAmountDiffers, ReversedButHeld}

// ClientDifference is one transaction on which a terminal and the ledger disagree.
type ClientDifference struct {
	Kind ClientDiffKind `json:"kind"`
	// ID is the transaction's identity in the switch: MTI class/terminal/STAN/transmitted.
	ID       string `json:"id"`
	RRN      string `json:"rrn"`
	Told     int64  `json:"told"`     // what the terminal's answers add up to (0: reversed)
	Held     int64  `json:"held"`     // what the ledger's chain of the transaction holds
	Status   string `json:"status"`   // the ledger's status of it ("" when it is not in the ledger)
	Terminal string `json:"terminal"` // for people
	Kinds    string `json:"kinds"`    // the approvals told, e.g. "preauth,completion"
}

// Summary is the difference in a line.
func (d ClientDifference) Summary() string {
	st := d.Status
	if st == "" {
		st = "not in the ledger"
	}
	return fmt.Sprintf("%s %s rrn %s: terminal told %d (%s), ledger holds %d (%s)", d.Kind, d.ID, d.RRN, d.Told, d.Kinds, d.Held, st)
}

// ClientReport compares what terminals were told with the ledger.
type ClientReport struct {
	Approvals int  `json:"approvals"` // lines read
	Torn      bool `json:"torn_last_line,omitempty"`
	// Transactions the terminals were told about, Standing those still approved for them (not
	// reversed), Agreed those the ledger holds as told.
	Transactions int                    `json:"transactions"`
	Standing     int                    `json:"standing"`
	Agreed       int                    `json:"agreed"`
	Expired      int                    `json:"expired"`
	Counts       map[ClientDiffKind]int `json:"counts"`
	Differences  []ClientDifference     `json:"differences"`
}

// OK reports whether every approval a terminal was told is held as told.
func (r *ClientReport) OK() bool { return len(r.Differences) == 0 }

// told is what terminals were told about one original transaction.
type told struct {
	id, rrn, terminal string
	amount            int64 // signed, the captured amount once completed
	reversed          bool
	kinds             []string
}

// Client checks what terminals were told against the ledger: every transaction approved for a
// terminal and not reversed by it is held by the ledger once, with the amount the terminal was
// told; every transaction whose reversal a terminal was told was accepted holds nothing.
func Client(approvals []ClientApproval, lb *LedgerBook) *ClientReport {
	byID := map[string]*told{}
	get := func(class, terminal, stan, transmitted string) *told {
		id := iso8583.MTIClass(class) + "/" + terminal + "/" + stan + "/" + transmitted
		t := byID[id]
		if t == nil {
			t = &told{id: id, terminal: terminal}
			byID[id] = t
		}
		return t
	}
	for _, a := range approvals {
		switch class := iso8583.MTIClass(a.MTI); class {
		case iso8583.MTIAuthorization, iso8583.MTIFinancial:
			t := get(class, a.Terminal, a.STAN, a.Transmitted)
			t.rrn = a.RRN
			if t.amount == 0 { // a completion seen first keeps its captured amount
				t.amount = a.Amount
				if a.Kind == "refund" {
					t.amount = -a.Amount
				}
			}
			t.kinds = append(t.kinds, a.Kind)
		case iso8583.MTICompletion, iso8583.MTIReversal, iso8583.MTIReversalAdvice:
			if a.Original == nil {
				continue
			}
			t := get(a.Original.MTI, a.Terminal, a.Original.STAN, a.Original.Transmitted)
			t.kinds = append(t.kinds, a.Kind)
			if t.rrn == "" {
				t.rrn = a.Original.RRN
			}
			if class == iso8583.MTICompletion {
				t.amount = a.Amount
			} else {
				t.reversed = true
			}
		}
	}
	rep := &ClientReport{Approvals: len(approvals), Counts: map[ClientDiffKind]int{}, Differences: []ClientDifference{}}
	for _, k := range ClientDiffKinds {
		rep.Counts[k] = 0
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		t := byID[id]
		rep.Transactions++
		want := t.amount
		if t.reversed {
			want = 0
		} else {
			rep.Standing++
		}
		held, inLedger := lb.Chain[id]
		e := lb.ByID[id]
		var kind ClientDiffKind
		switch {
		case held == want:
		case want == 0:
			kind = ReversedButHeld
		case held == 0 && e != nil && e.Expired != 0 && strings.HasPrefix(id, iso8583.MTIAuthorization):
			rep.Expired++
			continue
		case held == 0 || !inLedger:
			kind = Lost
		default:
			kind = ClientAmountDiffers
		}
		if kind == "" {
			rep.Agreed++
			continue
		}
		rep.Counts[kind]++
		rep.Differences = append(rep.Differences, ClientDifference{Kind: kind, ID: id, RRN: t.rrn, Told: want, Held: held,
			Status: lb.Status[id], Terminal: t.terminal, Kinds: strings.Join(t.kinds, ",")})
	}
	return rep
}
