package engine

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
)

// fakeIssuer answers like the issuer simulator of CONTRACT §5 (on the amount's last two digits),
// records what it was sent, and can be made unavailable or slow.
type fakeIssuer struct {
	mu       sync.Mutex
	sent     []*iso8583.Message
	down     atomic.Bool
	calls    atomic.Int64
	released chan struct{} // when set, a "98" waits on it instead of timing out
}

func (f *fakeIssuer) Send(ctx context.Context, req *iso8583.Message) (*iso8583.Message, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return nil, ErrIssuerUnavailable
	}
	cp := *req
	f.mu.Lock()
	f.sent = append(f.sent, &cp)
	f.mu.Unlock()
	resp := &iso8583.Message{MTI: iso8583.ResponseMTI(req.MTI), STAN: req.STAN, RRN: req.RRN, ResponseCode: "00"}
	last := ""
	if len(req.Amount) >= 2 {
		last = req.Amount[len(req.Amount)-2:]
	}
	switch last {
	case "05", "14", "51", "54", "55", "57", "61", "62", "65":
		resp.ResponseCode = last
	case "98", "99":
		<-ctx.Done()
		return nil, ErrIssuerTimeout
	default:
		resp.ApprovalCode = "A1B2C3"
	}
	return resp, nil
}

func (f *fakeIssuer) last() *iso8583.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) == 0 {
		return nil
	}
	return f.sent[len(f.sent)-1]
}

// fakeLedger is an in-memory journal with the ledger's lookup and rejection behaviour for the
// engine's flows (the real stores are tested in package ledger).
type fakeLedger struct {
	mu         sync.Mutex
	byID       map[string]*ledger.Transaction
	order      []string
	reversed   map[string]bool
	captured   map[string]bool
	payable    map[string]int64 // what the merchant is owed, from purchases and refunds
	intents    map[string]ledger.Intent
	queued     []ledger.SAFItem // follow-ups and activated intents, in order
	fail       atomic.Bool      // Intend and Commit fail
	failCommit atomic.Bool      // Commit fails
	failErr    error            // what a failing Commit returns (default ErrUnavailable)
	// refuse, when set, may refuse an event with a reason (the real ledger's rules are tested in
	// package ledger; the engine's answers to them here).
	refuse func(ev ledger.Event) *ledger.Reason
	// heldThenFail: the next Commit holds the event, then fails with failErr (a COMMIT lost with
	// its connection after it took effect).
	heldThenFail atomic.Bool
	// failLookups makes every look-up fail as a store would (not ErrNotFound).
	failLookups atomic.Bool
}

func newFakeLedger() *fakeLedger {
	return &fakeLedger{byID: map[string]*ledger.Transaction{}, reversed: map[string]bool{}, captured: map[string]bool{},
		payable: map[string]int64{}, intents: map[string]ledger.Intent{}}
}

func (l *fakeLedger) Intend(_ context.Context, in ledger.Intent) error {
	if l.fail.Load() {
		return ledger.ErrUnavailable
	}
	if err := ledger.ValidateIntent(&in); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.intents[in.Key]; ok {
		return ledger.ErrIntentExists
	}
	l.intents[in.Key] = in
	return nil
}

// settle resolves ev's intent and queues its follow-ups as the ledger's planner does (held: the
// ledger holds ev itself).
func (l *fakeLedger) settle(ev ledger.Event, held, duplicate bool) {
	if ref := ev.Intent; ref.Key != "" {
		in, ok := l.intents[ref.Key]
		if ok && (ref.Reverse || ref.Approved && !held) {
			l.queued = append(l.queued, ledger.SAFItem{Key: in.Key, EventID: in.EventID, Issuer: in.Issuer,
				Kind: ledger.SAFReversal, State: ledger.SAFQueued, MTI: in.Message.MTI, RRN: in.Message.RRN,
				Packed: in.Message.Packed, PANSealed: in.Message.PANSealed})
		}
		delete(l.intents, ref.Key)
	}
	if duplicate {
		return
	}
	for _, f := range ev.FollowUps {
		if f.When == ledger.FollowAlways || held {
			l.queued = append(l.queued, ledger.SAFItem{EventID: ev.ID, Issuer: f.Issuer, Kind: f.Kind,
				State: ledger.SAFQueued, MTI: f.Message.MTI, RRN: f.Message.RRN, Packed: f.Message.Packed,
				PANSealed: f.Message.PANSealed})
		}
	}
}

// forwarded returns the queued follow-ups as the issuer would get them (unpacked, PAN opened).
func (l *fakeLedger) forwarded(t testing.TB) []*iso8583.Message {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*iso8583.Message
	for _, it := range l.queued {
		m, err := iso8583.Unpack(iso8583.AcquirerSpec(), it.Packed)
		if err != nil {
			t.Fatalf("queued %s does not unpack: %v", it.MTI, err)
		}
		if it.PANSealed != nil {
			m.PAN = strings.TrimPrefix(string(it.PANSealed), fakeSealPrefix)
		}
		out = append(out, m)
	}
	return out
}

func (l *fakeLedger) pendingIntents() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.intents)
}

func (l *fakeLedger) Commit(_ context.Context, ev ledger.Event) (ledger.Outcome, error) {
	if l.fail.Load() || l.failCommit.Load() {
		if l.failErr != nil {
			return ledger.Outcome{}, l.failErr
		}
		return ledger.Outcome{}, ledger.ErrUnavailable
	}
	if err := ledger.ValidateEvent(&ev); err != nil {
		return ledger.Outcome{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if tx, ok := l.byID[ev.ID]; ok {
		l.settle(ev, false, true)
		return ledger.Outcome{Duplicate: true, Original: tx}, nil
	}
	reject := func(r *ledger.Reason) (ledger.Outcome, error) {
		l.store(ev, ledger.StatusRejected)
		l.settle(ev, false, false)
		return ledger.Outcome{}, &ledger.RejectionError{EventID: ev.ID, Reason: r}
	}
	if l.refuse != nil {
		if r := l.refuse(ev); r != nil {
			return reject(r)
		}
	}
	switch ev.Kind {
	case ledger.Capture:
		orig := l.byID[ev.OriginalID]
		switch {
		case orig == nil:
			return reject(ledger.ErrOriginalNotFound)
		case l.reversed[orig.ID]:
			return reject(ledger.ErrHoldVoided)
		case l.captured[orig.ID]:
			return reject(ledger.ErrAlreadyCaptured)
		case ev.Amount > orig.Amount:
			return reject(ledger.ErrCaptureExceedsHold)
		}
		l.captured[orig.ID] = true
	case ledger.Refund:
		if ev.Amount > l.payable[ev.Payee.ID] {
			return reject(ledger.ErrExceedsCredits)
		}
		l.payable[ev.Payee.ID] -= ev.Amount
	case ledger.Purchase:
		l.payable[ev.Payee.ID] += ev.Amount
	case ledger.Reverse:
		orig := l.byID[ev.OriginalID]
		switch {
		case orig == nil:
			return reject(ledger.ErrOriginalNotFound)
		case l.reversed[orig.ID]:
			return reject(ledger.ErrAlreadyReversed)
		case orig.Kind == ledger.Decline:
			return reject(ledger.ErrNothingToReverse)
		}
		l.reversed[orig.ID] = true
	}
	l.store(ev, ledger.StatusPosted)
	l.settle(ev, true, false)
	if l.heldThenFail.CompareAndSwap(true, false) {
		return ledger.Outcome{}, l.failErr
	}
	return ledger.Outcome{}, nil
}

func (l *fakeLedger) store(ev ledger.Event, st ledger.TransactionStatus) {
	l.byID[ev.ID] = &ledger.Transaction{ID: ev.ID, Kind: ev.Kind, Status: st, OriginalID: ev.OriginalID, Currency: ev.Currency,
		Amount: ev.Amount, PayeeKind: ev.Payee.Kind, PayeeID: ev.Payee.ID, Issuer: ev.Issuer, PaymentRef: ev.PaymentRef, RRN: ev.RRN,
		AcquirerRRN: ev.AcquirerRRN,
		STAN:        ev.STAN, Terminal: ev.Terminal, MTI: ev.MTI, MaskedPAN: ev.MaskedPAN, ResponseCode: ev.ResponseCode,
		ApprovalCode: ev.ApprovalCode, At: ev.At}
	l.order = append(l.order, ev.ID)
}

func (l *fakeLedger) get(id string) *ledger.Transaction {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byID[id]
}

func (l *fakeLedger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.order)
}

func (l *fakeLedger) Transaction(_ context.Context, id string) (*ledger.Transaction, error) {
	if l.failLookups.Load() {
		return nil, errLookup
	}
	if tx := l.get(id); tx != nil {
		return tx, nil
	}
	return nil, ledger.ErrNotFound
}

func (l *fakeLedger) TransactionByRRN(_ context.Context, rrn string) (*ledger.Transaction, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.order) - 1; i >= 0; i-- {
		if tx := l.byID[l.order[i]]; tx.RRN == rrn && tx.OriginalID == "" {
			return tx, nil
		}
	}
	return nil, ledger.ErrNotFound
}

func (l *fakeLedger) ByTerminalRRN(_ context.Context, terminal, rrn string) (*ledger.Transaction, error) {
	if l.failLookups.Load() {
		return nil, errLookup
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.order) - 1; i >= 0; i-- {
		if tx := l.byID[l.order[i]]; tx.Terminal == terminal && (tx.RRN == rrn || tx.AcquirerRRN == rrn) && tx.OriginalID == "" {
			return tx, nil
		}
	}
	return nil, ledger.ErrNotFound
}

func (l *fakeLedger) LatestByTerminalSTAN(_ context.Context, terminal, stan string) (*ledger.Transaction, error) {
	if l.failLookups.Load() {
		return nil, errLookup
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.order) - 1; i >= 0; i-- {
		if tx := l.byID[l.order[i]]; tx.Terminal == terminal && tx.STAN == stan {
			return tx, nil
		}
	}
	return nil, ledger.ErrNotFound
}

// fakeHSM "translates" a PIN block by XOR with 0xFF and accepts a MAC equal to the first 8 bytes
// of the data XOR 0x5A: enough to tell the engine's paths apart.
type fakeHSM struct {
	translations atomic.Int64
	down         atomic.Bool
}

func (h *fakeHSM) TranslatePIN(_ context.Context, req hsm.TranslatePINRequest) ([]byte, error) {
	if h.down.Load() {
		return nil, hsm.ErrUnavailable
	}
	if len(req.PINBlock) != 8 || bytes.Equal(req.PINBlock, make([]byte, 8)) {
		return nil, hsm.ErrPINBlock
	}
	h.translations.Add(1)
	out := make([]byte, 8)
	for i, b := range req.PINBlock {
		out[i] = b ^ 0xFF
	}
	return out, nil
}

func fakeMAC(data []byte) []byte {
	out := make([]byte, 8)
	for i := range out {
		if i < len(data) {
			out[i] = data[i] ^ 0x5A
		}
	}
	return out
}

func (h *fakeHSM) VerifyMAC(_ context.Context, _ hsm.Key, _ hsm.MACAlgorithm, data, mac []byte) error {
	if !bytes.Equal(fakeMAC(data), mac) {
		return hsm.ErrMACMismatch
	}
	return nil
}

// VerifyARQC is not used by the tests with the fake (security_test.go uses a real hsm.Soft).
func (h *fakeHSM) VerifyARQC(context.Context, hsm.ARQCRequest) ([]byte, error) {
	return nil, hsm.ErrCryptogramMismatch
}

// fakeProtector "seals" by prefixing: enough to see that the PAN travels sealed and comes back.
type fakeProtector struct{}

const fakeSealPrefix = "sealed:"

func (fakeProtector) Seal(plain string) ([]byte, error) { return []byte(fakeSealPrefix + plain), nil }
func (fakeProtector) Hash(plain string) string          { return "hash:" + plain }

var errUnused = errors.New("unused")

// errLookup is a store failure of a look-up.
var errLookup = errors.New("connection refused (test)")

// fixedClock is a settable clock.
type fixedClock struct{ t atomic.Int64 }

func (c *fixedClock) now() time.Time { return time.Unix(0, c.t.Load()).UTC() }
