package load

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Defaults for the zero values of Config.
const (
	DefaultDuration         = 10 * time.Second
	DefaultTerminals        = 16
	DefaultConnsPerTerminal = 1
	// DefaultTerminalPrefix starts every terminal ID (field 41, 8 characters): LOAD0001, LOAD0002 …
	DefaultTerminalPrefix = "LOAD"
	DefaultMerchant       = "MERCHANT0000001"
	DefaultCurrency       = "840"
	// DefaultPANLength is the length of the test PANs (Visa and Mastercard issue 16 digits).
	DefaultPANLength = 16
	// DefaultCards is the number of distinct test cards: enough that no card dominates, small
	// enough to generate in a millisecond.
	DefaultCards = 10_000
	// DefaultTimeout is how long a terminal waits for an answer before it counts a timeout (and
	// reverses): above the switch's 5 s issuer timeout, so that a 91 arrives before it.
	DefaultTimeout = 10 * time.Second
	// DefaultRepeatsMax is how often a timed-out reversal or completion is repeated (0401, 0221).
	DefaultRepeatsMax = 3
	// DefaultCompletionShare is the percentage of approved pre-authorizations captured later by a 0220.
	DefaultCompletionShare = 50
	// DefaultPartialShare is the percentage of completions that capture less than the hold.
	DefaultPartialShare = 30
	// DefaultCompletionDelay is how long after its approval a hold is captured.
	DefaultCompletionDelay = time.Second
	// Amounts in minor units: 5.00 to 500.00, above any convenience fee and so that a quarter of
	// an amount (a refund) stays below what the sale left the payee.
	DefaultAmountMin = 500
	DefaultAmountMax = 50_000
	// DefaultMaxInFlightPerConn bounds the requests outstanding on one connection: the switch
	// reads at most 256 per connection before it pushes back.
	DefaultMaxInFlightPerConn = 256
	DefaultDialTimeout        = 5 * time.Second
	DefaultProgressInterval   = time.Second
	// DefaultInterruptGrace is how long an interrupted run waits for answers already in flight.
	DefaultInterruptGrace = time.Second
	// DefaultMaxFrame bounds a response: the acquirer spec's longest legitimate answer stays under it.
	DefaultMaxFrame = 8192
)

// Limits on the configuration, each with its reason.
const (
	// terminalsMax keeps terminal IDs (prefix + number) within field 41's 8 characters.
	terminalsMax = 9999
	// connsMax bounds the sockets the generator opens.
	connsMax = 4096
	// rateMax is far above what two cores can answer; a larger value is a typo.
	rateMax = 1_000_000
	// cardsMax bounds the memory of the card pool (about 60 bytes a card).
	cardsMax = 1_000_000
)

// declineEndings are the amount endings the issuer simulator declines with the code of the same
// digits (CONTRACT §5).
var declineEndings = []string{"05", "14", "51", "54", "55", "57", "61", "62", "65"}

// Amount endings with a timing rule in the issuer simulator (CONTRACT §5).
const (
	endingSlow  = 98
	endingNever = 99
)

// Config is one load run. Exactly one of Rate (open model) and Concurrency (closed model) is set.
type Config struct {
	Target      string        // host:port of the acquirer interface
	Rate        int           // open model: requests per second in total, paced by intended send time
	Concurrency int           // closed model: requests outstanding in total
	Duration    time.Duration // how long new requests are sent (default 10s)
	Requests    int64         // stop sending after this many slots (mix draws and completions); 0: no limit
	Mix         Mix           // zero: DefaultMix

	Terminals        int             // distinct terminals (field 41), each with its own STAN sequence (default 16)
	ConnsPerTerminal int             // TCP connections per terminal (default 1)
	TerminalPrefix   string          // start of every terminal ID, padded with digits to 8 (default "LOAD")
	Framing          iso8583.Framing // length header (default binary2)
	Spec             *iso8583.Spec   // message spec (default the acquirer spec)
	Header           iso8583.Header  // message header after the length (default none)

	BINs       []string        // PAN prefixes the test cards start with (default 4 and 5, the default routes)
	PANLength  int             // digits of a test PAN, check digit included (default 16)
	Cards      int             // distinct test cards (default 10,000)
	Merchants  []MerchantShare // field 42 and the share of requests for each (default MERCHANT0000001)
	Currency   string          // field 49, ISO 4217 numeric (default 840)
	AmountMin  int64           // smallest amount in minor units (default 500)
	AmountMax  int64           // largest amount in minor units (default 50,000)
	Declines   []string        // response codes the decline kind asks for (default 05 14 51 54 55 57 61 62 65)
	Timeout    time.Duration   // a request unanswered this long is a timeout (default 10s)
	NoReversal bool            // do not send a 0400 for a 0100/0200 that timed out
	RepeatsMax int             // repeats (0401, 0221) of a reversal or completion that timed out (default 3; -1: none)

	CompletionShare int           // percentage of approved holds captured by a 0220 (default 50; -1: none)
	PartialShare    int           // percentage of completions capturing less than the hold (default 30; -1: none)
	CompletionDelay time.Duration // time between a hold's approval and its capture (default 1s)

	MaxInFlightPerConn int           // requests outstanding on one connection (default 256)
	MaxFrame           int           // largest response accepted in bytes (default 8192)
	DialTimeout        time.Duration // per connection attempt (default 5s)
	InterruptGrace     time.Duration // after an interrupt, how long answers in flight are awaited (default 1s)
	Seed               uint64        // random seed for cards, amounts and the mix (0: from the clock)

	// Keys, when set, are the terminals' keys for PIN blocks and MACs (keys.go).
	Keys *Keys
	// TLS, when set, makes every connection TLS (with a client certificate: mutual TLS); its
	// ServerName is the name the switch's certificate must carry.
	TLS *tls.Config

	// LedgerLog, when set, receives one JSON line per approved answer (see docs/load.md).
	LedgerLog io.Writer
	// Progress, when set, is called every ProgressInterval with the totals so far, from a goroutine
	// of Run's; it must return quickly.
	Progress         func(Progress)
	ProgressInterval time.Duration // default 1s
	Log              *zap.Logger   // default: no logging
	// Now is the clock for message dates (fields 7, 12, 13) and card expiries (default time.Now).
	// Pacing and latency always use the monotonic clock.
	Now func() time.Time
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("load config")

func (c Config) withDefaults() Config {
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	setDur(&c.Duration, DefaultDuration)
	if c.Mix == (Mix{}) {
		c.Mix = DefaultMix
	}
	setInt(&c.Terminals, DefaultTerminals)
	setInt(&c.ConnsPerTerminal, DefaultConnsPerTerminal)
	if c.TerminalPrefix == "" {
		c.TerminalPrefix = DefaultTerminalPrefix
	}
	if c.Framing == nil {
		c.Framing = iso8583.Binary2{}
	}
	if c.Spec == nil {
		c.Spec = iso8583.AcquirerSpec()
	}
	if len(c.BINs) == 0 {
		c.BINs = []string{"4", "5"}
	}
	setInt(&c.PANLength, DefaultPANLength)
	setInt(&c.Cards, DefaultCards)
	if len(c.Merchants) == 0 {
		c.Merchants = []MerchantShare{{ID: DefaultMerchant, Weight: 1}}
	}
	if c.Currency == "" {
		c.Currency = DefaultCurrency
	}
	if c.AmountMin == 0 {
		c.AmountMin = DefaultAmountMin
	}
	if c.AmountMax == 0 {
		c.AmountMax = DefaultAmountMax
	}
	if len(c.Declines) == 0 {
		c.Declines = declineEndings
	}
	setDur(&c.Timeout, DefaultTimeout)
	setInt(&c.RepeatsMax, DefaultRepeatsMax)
	setInt(&c.CompletionShare, DefaultCompletionShare)
	setInt(&c.PartialShare, DefaultPartialShare)
	setDur(&c.CompletionDelay, DefaultCompletionDelay)
	setInt(&c.MaxInFlightPerConn, DefaultMaxInFlightPerConn)
	setInt(&c.MaxFrame, min(DefaultMaxFrame, c.Framing.MaxLength()))
	setDur(&c.DialTimeout, DefaultDialTimeout)
	setDur(&c.InterruptGrace, DefaultInterruptGrace)
	setDur(&c.ProgressInterval, DefaultProgressInterval)
	if c.Log == nil {
		c.Log = zap.NewNop()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Keys != nil {
		k := *c.Keys
		k.withDefaults()
		c.Keys = &k
	}
	return c
}

// Validate checks a Config after defaults are applied; errors name the field.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s %s", ErrConfig, field, fmt.Sprintf(format, args...))
	}
	if _, _, err := net.SplitHostPort(c.Target); err != nil {
		return bad("Target", "%q must be host:port", c.Target)
	}
	switch {
	case c.Rate > 0 && c.Concurrency > 0:
		return bad("Rate", "and Concurrency exclude each other (open or closed model)")
	case c.Rate <= 0 && c.Concurrency <= 0:
		return bad("Rate", "or Concurrency must be positive")
	case c.Rate > rateMax:
		return bad("Rate", "%d is above %d", c.Rate, rateMax)
	case c.Concurrency > c.Terminals*c.ConnsPerTerminal*c.MaxInFlightPerConn:
		return bad("Concurrency", "%d is above connections × MaxInFlightPerConn (%d)", c.Concurrency,
			c.Terminals*c.ConnsPerTerminal*c.MaxInFlightPerConn)
	case c.Duration <= 0:
		return bad("Duration", "must be positive")
	case c.Requests < 0:
		return bad("Requests", "must not be negative")
	case c.Terminals < 1 || c.Terminals > terminalsMax:
		return bad("Terminals", "must be 1..%d", terminalsMax)
	case c.ConnsPerTerminal < 1 || c.Terminals*c.ConnsPerTerminal > connsMax:
		return bad("ConnsPerTerminal", "must be at least 1, and at most %d connections in total", connsMax)
	case len(c.TerminalPrefix)+len(fmt.Sprint(c.Terminals)) > terminalIDLen || !printableASCII(c.TerminalPrefix):
		return bad("TerminalPrefix", "%q leaves no room for %d terminal numbers in 8 characters", c.TerminalPrefix, c.Terminals)
	case c.PANLength < iso8583.PANLengthMin || c.PANLength > iso8583.PANLengthMax:
		return bad("PANLength", "must be %d..%d", iso8583.PANLengthMin, iso8583.PANLengthMax)
	case c.Cards < 1 || c.Cards > cardsMax:
		return bad("Cards", "must be 1..%d", cardsMax)
	case len(c.Currency) != 3 || !iso8583.IsDigits(c.Currency):
		return bad("Currency", "%q must be 3 digits (ISO 4217 numeric)", c.Currency)
	case c.AmountMin < 200 || c.AmountMax < c.AmountMin+100 || c.AmountMax > 999_999_999:
		return bad("AmountMin", "must be at least 200 and AmountMax at least AmountMin + 100 (and below 10,000,000.00)")
	case c.Timeout <= 0 || c.CompletionDelay < 0 || c.DialTimeout <= 0 || c.InterruptGrace < 0 || c.ProgressInterval <= 0:
		return bad("Timeout", "and the other durations must be positive")
	case c.RepeatsMax < -1 || c.RepeatsMax > 100:
		return bad("RepeatsMax", "must be -1..100")
	case c.CompletionShare < -1 || c.CompletionShare > 100, c.PartialShare < -1 || c.PartialShare > 100:
		return bad("CompletionShare", "and PartialShare must be percentages (-1 for none)")
	case c.MaxInFlightPerConn < 1 || c.MaxInFlightPerConn > 65536:
		return bad("MaxInFlightPerConn", "must be 1..65536")
	case c.MaxFrame < 64 || c.MaxFrame > c.Framing.MaxLength():
		return bad("MaxFrame", "must be 64..%d for framing %s", c.Framing.MaxLength(), c.Framing.Name())
	}
	for _, b := range c.BINs {
		if !iso8583.IsDigits(b) || len(b) > 11 || len(b) >= c.PANLength-1 {
			return bad("BINs", "%q must be 1 to 11 digits, shorter than the PAN", b)
		}
	}
	weights := 0
	for _, m := range c.Merchants {
		if err := checkMerchantID(m.ID); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
		if m.Weight < 0 {
			return bad("Merchants", "%s has a negative weight", m.ID)
		}
		weights += m.Weight
	}
	if weights == 0 {
		return bad("Merchants", "need a positive weight")
	}
	for _, d := range c.Declines {
		if !isDeclineEnding(d) {
			return bad("Declines", "%q is not one of the issuer simulator's decline codes %v", d, declineEndings)
		}
	}
	if c.Mix.total() == 0 {
		return bad("Mix", "needs a positive weight")
	}
	if c.Keys != nil {
		return c.Keys.validate()
	}
	return nil
}

func isDeclineEnding(s string) bool {
	for _, d := range declineEndings {
		if d == s {
			return true
		}
	}
	return false
}

// conns is the number of TCP connections of a run.
func (c Config) conns() int { return c.Terminals * c.ConnsPerTerminal }
