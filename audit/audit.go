// Package audit is the operators' audit log: every action an operator takes on a running switch
// or its ledger (a cutover, a configuration reload, a store-and-forward retry or park, an API key
// created or revoked, any other administrative write) recorded with who, what and when, in a
// table of the ledger's database (PostgreSQL or the embedded store) and in the process log.
//
// Callers build an Entry and call Log.Record; the actor is one of the forms of the Actor*
// functions (docs/security.md says how "who" is known). The table has its own migrations and
// version table (audit_schema_migrations), so that it never collides with the ledger's.
package audit

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/carddata"
)

// Entry is one operator action.
type Entry struct {
	// ID is assigned by the store when the entry is recorded.
	ID int64 `json:"id"`
	// At is when the action happened (UTC); zero means now.
	At time.Time `json:"at"`
	// Actor is who did it: "token:10.0.0.5", "cli:alice@ops1", "system:cutover-schedule" (see
	// ActorCLI, ActorHTTP, ActorSystem).
	Actor string `json:"actor"`
	// Action is what was done, one of the Action* names (dot-separated lower case).
	Action string `json:"action"`
	// Target is what it was done to: a business day, an API key id, a SAF item id, a file.
	Target string `json:"target,omitempty"`
	// Detail is a short human-readable account (what changed, why it was refused). Never a
	// secret: card data in it is masked on the way in, but keys and tokens are the caller's care.
	Detail string `json:"detail,omitempty"`
	// Result is ResultOK (the default), ResultRefused or ResultFailed.
	Result string `json:"result"`
}

// Action names. Cutover is recorded today (the schedule and `cardswitch ledger cutover`); the
// others are the names the actions use when their engineers wire them (docs/security.md).
const (
	ActionCutover      = "ledger.cutover" // a business day closed and settled
	ActionReload       = "config.reload"  // SIGHUP or `cardswitch reload`
	ActionSAFRetry     = "saf.retry"      // `cardswitch saf retry`
	ActionSAFPark      = "saf.park"       // `cardswitch saf park`
	ActionAPIKeyCreate = "api_key.create" // `cardswitch api-key create`
	ActionAPIKeyRevoke = "api_key.revoke" // `cardswitch api-key revoke`
)

// Results of an action.
const (
	ResultOK      = "ok"
	ResultRefused = "refused" // the action was rejected (a bad configuration file, an unknown id)
	ResultFailed  = "failed"  // the action was attempted and failed (a database error)
)

// Limits of an entry's fields, so that a caller's mistake cannot fill the table.
const (
	ActorMax  = 200
	ActionMax = 64
	TargetMax = 200
	DetailMax = 2000
)

// ErrInvalid is returned for an entry that cannot be recorded as it is (no actor, a bad action).
var ErrInvalid = errors.New("audit: invalid entry")

var actionName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

// Filter selects entries for List.
type Filter struct {
	Since  time.Time // only entries at or after Since (zero: all)
	Action string    // only this action (empty: all)
	Limit  int       // at most this many, newest first (0: ListDefault; capped at ListMax)
}

// List limits.
const (
	ListDefault = 100
	ListMax     = 10000
)

// store is a database's audit table.
type store interface {
	insert(ctx context.Context, e Entry) (int64, error)
	list(ctx context.Context, f Filter) ([]Entry, error)
	close()
}

// Log records operator actions in the database and the process log. It is safe for concurrent
// use.
type Log struct {
	db       store
	log      *zap.Logger
	now      func() time.Time
	failures prometheus.Counter
}

// Config configures Open.
type Config struct {
	// DatabaseURL is the ledger's PostgreSQL URL; empty means the embedded store at SQLitePath.
	DatabaseURL string
	// SQLitePath is the embedded ledger's file (the audit table lives beside the ledger's).
	SQLitePath string
	// Logger receives one info line per entry (message "operator action"). Default: none.
	Logger *zap.Logger
	// Now is the clock for entries without At. Default time.Now.
	Now func() time.Time
}

// Open opens the audit table of the ledger's database, applying its migrations.
func Open(ctx context.Context, c Config) (*Log, error) {
	var (
		db  store
		err error
	)
	if c.DatabaseURL != "" {
		db, err = openPostgres(ctx, c.DatabaseURL)
	} else {
		db, err = openSQLite(ctx, c.SQLitePath)
	}
	if err != nil {
		return nil, err
	}
	l := &Log{db: db, log: c.Logger, now: c.Now}
	if l.log == nil {
		l.log = zap.NewNop()
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

// Register publishes cardswitch_audit_write_failures_total on reg: entries that could not be
// written to the database (an alert watches it; the entry is still in the log).
func (l *Log) Register(reg prometheus.Registerer) error {
	l.failures = prometheus.NewCounter(prometheus.CounterOpts{Name: "cardswitch_audit_write_failures_total",
		Help: "Operator actions that could not be written to the audit table (they are in the log, at error level)."})
	return reg.Register(l.failures)
}

// Close closes the database connections.
func (l *Log) Close() { l.db.close() }

// Record writes e to the database and the log, and returns it as recorded (with its ID and
// time). Card data in Target or Detail is masked first. An entry the database refused is still
// logged, at error level, and the error returned: the caller decides whether the action stands.
func (l *Log) Record(ctx context.Context, e Entry) (Entry, error) {
	e, err := l.normalize(e)
	if err != nil {
		return e, err
	}
	id, err := l.db.insert(ctx, e)
	fields := []zap.Field{zap.String("actor", e.Actor), zap.String("action", e.Action), zap.String("target", e.Target),
		zap.String("detail", e.Detail), zap.String("result", e.Result), zap.Time("at", e.At)}
	if err != nil {
		if l.failures != nil {
			l.failures.Inc()
		}
		l.log.Error("operator action not written to the audit table", append(fields, zap.Error(err))...)
		return e, fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	e.ID = id
	l.log.Info("operator action", append(fields, zap.Int64("audit-id", id))...)
	return e, nil
}

// List returns the entries f selects, newest first.
func (l *Log) List(ctx context.Context, f Filter) ([]Entry, error) {
	if f.Limit <= 0 {
		f.Limit = ListDefault
	}
	f.Limit = min(f.Limit, ListMax)
	return l.db.list(ctx, f)
}

func (l *Log) normalize(e Entry) (Entry, error) {
	if e.At.IsZero() {
		e.At = l.now()
	}
	e.At = e.At.UTC()
	if e.Result == "" {
		e.Result = ResultOK
	}
	switch {
	case e.Actor == "" || len(e.Actor) > ActorMax || !utf8.ValidString(e.Actor):
		return e, fmt.Errorf("%w: actor must be 1..%d bytes of UTF-8", ErrInvalid, ActorMax)
	case len(e.Action) > ActionMax || !actionName.MatchString(e.Action):
		return e, fmt.Errorf("%w: action %q must be dot-separated lower-case words", ErrInvalid, e.Action)
	case e.Result != ResultOK && e.Result != ResultRefused && e.Result != ResultFailed:
		return e, fmt.Errorf("%w: result %q must be ok, refused or failed", ErrInvalid, e.Result)
	}
	e.Target = clean(e.Target, TargetMax)
	e.Detail = clean(e.Detail, DetailMax)
	e.Actor = clean(e.Actor, ActorMax)
	return e, nil
}

// clean masks card data, drops invalid UTF-8 and cuts s to at most max bytes.
func clean(s string, max int) string {
	b := []byte(s)
	if f := carddata.Scan(b); len(f) > 0 {
		b = carddata.Mask(b, f)
	}
	s = string(b)
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // invalid bytes become U+FFFD
	}
	for len(s) > max {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// ParseSince reads a --since or ?since= value: a time in RFC 3339, or a duration back from now
// ("24h", "30m").
func ParseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("since %q must be an RFC 3339 time or a duration such as 24h", s)
	}
	return t, nil
}
