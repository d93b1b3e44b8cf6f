package ledger

import (
	"context"
	"time"
)

// Backend is what a store gives the Writer and the cutover: batch transactions over its tables.
// Implementations: ledger/postgres and ledger/sqlite.
type Backend interface {
	// BeginBatch starts one database transaction. With exclusive it excludes every other batch of
	// every process (cutover); otherwise batches run beside each other and exclude only a cutover.
	BeginBatch(ctx context.Context, exclusive bool) (BatchTx, error)
}

// BatchTx is one database transaction of the Writer or the cutover. Errors from Write and Commit
// that violate a constraint are *ConstraintError; retryable errors wrap ErrTransient.
type BatchTx interface {
	// BusinessDay returns the open business day (YYYY-MM-DD).
	BusinessDay(ctx context.Context) (string, error)
	// EnsureAccounts returns the accounts for keys, creating missing ones with FlagsFor(name).
	EnsureAccounts(ctx context.Context, keys []AccountKey) ([]AccountInfo, error)
	// AccountsByID returns the accounts with these ids.
	AccountsByID(ctx context.Context, ids []int64) ([]AccountInfo, error)
	// Transactions returns the journal rows with these ids (absent ids are skipped).
	Transactions(ctx context.Context, ids []string) ([]*Transaction, error)
	// RefundsOf returns the accepted refunds (kind Refund, not rejected) that name one of ids as
	// their original.
	RefundsOf(ctx context.Context, ids []string) ([]*Transaction, error)
	// Transfers returns the transfers with these ids. With lock, the rows are locked until the
	// end of the transaction (in id order, so that two processes cannot deadlock on them).
	Transfers(ctx context.Context, ids []TransferID, lock bool) ([]*TransferRecord, error)
	// Posts returns the post and void transfers of these pending ids.
	Posts(ctx context.Context, pendingIDs []TransferID) ([]*TransferRecord, error)
	// DuePending locks and returns up to limit pending transfers whose timeout is at or before
	// now, skipping rows another transaction holds.
	DuePending(ctx context.Context, now time.Time, limit int) ([]*TransferRecord, error)
	// Write applies a plan: inserts its journal rows and transfers, changes pending states, and
	// adds the balance deltas (accounts touched in id order). A store may send some of it with the
	// COMMIT, so only Commit or Rollback may follow Write, and its errors may surface there.
	Write(ctx context.Context, p *Plan) error
	// CloseBusinessDay closes day and opens next (cutover only).
	CloseBusinessDay(ctx context.Context, day, next string, at time.Time) error
	// SettlementRows returns the day's posted money movements grouped as SettlementRow says.
	SettlementRows(ctx context.Context, day string) ([]SettlementRow, error)
	// SettlementPayments returns the day's posted movements on agency payables, in id order.
	SettlementPayments(ctx context.Context, day string) ([]SettlementPayment, error)
	// StaleIntents returns up to limit intents written before before, oldest first; with node
	// set, only those of that switch instance (its own, after its restart).
	StaleIntents(ctx context.Context, before time.Time, node string, limit int) ([]*SAFItem, error)
	// SAFKeys returns which of keys are stored already.
	SAFKeys(ctx context.Context, keys []string) ([]string, error)
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Plan is everything one batch writes, decided in Go from the loaded state.
type Plan struct {
	BusinessDay  string
	Now          time.Time
	Transactions []*Transaction    // new journal rows
	Transfers    []*TransferRecord // new transfers, including remembered rejections
	StateChanges []StateChange     // pending transfers written earlier that change state, by id
	Deltas       []AccountDelta    // balance increments, by account id
	SAFInserts   []*SAFItem        // new store-and-forward items and intents
	SAFChanges   []SAFChange       // changes of stored items, applied after the inserts, in order
	// SAFPruneBefore, when set, deletes up to SAFPruneMax items delivered before it.
	SAFPruneBefore time.Time
	SAFPruneMax    int
}

// Empty reports whether the plan writes nothing.
func (p *Plan) Empty() bool {
	return len(p.Transactions) == 0 && len(p.Transfers) == 0 && len(p.StateChanges) == 0 && len(p.Deltas) == 0 &&
		len(p.SAFInserts) == 0 && len(p.SAFChanges) == 0 && p.SAFPruneBefore.IsZero()
}

// queuesSAF reports whether committing the plan makes items due for delivery.
func (p *Plan) queuesSAF() bool {
	for _, r := range p.SAFInserts {
		if r.State == SAFQueued {
			return true
		}
	}
	for _, c := range p.SAFChanges {
		if c.Op == SAFActivate || c.Op == SAFRetry {
			return true
		}
	}
	return false
}

// StateChange moves a stored pending transfer to a new state.
type StateChange struct {
	ID    TransferID
	State TransferState
}

// AccountDelta is the increment of one account's four totals (negative to release pending).
type AccountDelta struct {
	AccountID      int64
	DebitsPending  int64
	DebitsPosted   int64
	CreditsPending int64
	CreditsPosted  int64
}

// SettlementRow is one group of a business day's posted transfers (settlement transfers
// excluded): one debit account, credit account, code, and payee of the journaled transaction.
type SettlementRow struct {
	DebitAccount  string
	CreditAccount string
	Currency      string
	Code          TransferCode
	PayeeKind     PayeeKind // of the transaction that caused the transfers (journal), 0 if none
	PayeeID       string
	Amount        int64
	Count         int64 // distinct transactions
}

// SettlementPayment is one posted movement of the day on an agency's payable, with its payment
// reference (principal credited, refunded or reversed).
type SettlementPayment struct {
	AgencyID      string       `json:"-"`
	Currency      string       `json:"-"`
	PaymentRef    string       `json:"payment_ref"`
	TransactionID string       `json:"transaction_id"`
	Code          TransferCode `json:"code"`
	Amount        int64        `json:"amount"` // credited to the agency; negative when debited
}
