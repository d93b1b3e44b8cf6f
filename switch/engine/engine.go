// Package engine is the transaction state machine of the switch: it validates each request,
// answers duplicates with their original response, routes, translates the PIN, writes down the
// request's intent, asks the issuer, decides, has the ledger hold the decision together with
// what it owes issuers (reversals, advices), and only then answers. It depends on small
// interfaces (Router, IssuerLink, Ledger, HSM, Protector), never on a transport.
package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
)

// TxnSet is a set of transaction types a merchant may do.
type TxnSet uint8

// Transaction types.
const (
	TxnPreauth TxnSet = 1 << iota
	TxnCompletion
	TxnPurchase
	TxnRefund
	TxnReversal
	TxnAll = TxnPreauth | TxnCompletion | TxnPurchase | TxnRefund | TxnReversal
)

// Merchant is a configured card acceptor (field 42).
type Merchant struct {
	ID             string
	Kind           ledger.PayeeKind
	Currencies     []string // ISO 4217 numeric
	Fee            ledger.FeeSchedule
	ConvenienceFee int64 // minor units, included in field 4 (agencies)
	MaxAmount      int64 // minor units; 0: no limit
	Allowed        TxnSet
	MCC            string // merchant category code (stand-in rules may name it)
}

// Terminal holds a terminal's keys (field 41). A terminal without keys needs no entry.
type Terminal struct {
	ID        string
	Merchant  string // when set, the terminal may only be used for this merchant
	PINKey    hsm.Key
	DUKPT     bool // PINKey is a BDK and field 62 carries the KSN
	PINFormat hsm.PINFormat
	MACKey    hsm.Key
	MACAlg    hsm.MACAlgorithm
}

// Issuer is a configured issuer as the engine sees it.
type Issuer struct {
	Name    string
	Link    IssuerLink
	Timeout time.Duration
	ZPK     hsm.Key
	StandIn StandIn
	EMV     *EMV // when set, the ARQC of requests carrying field 55 is verified
}

// Config is the engine's configuration.
type Config struct {
	AcquirerID      string // field 32
	NodeID          byte   // one of 0-9A-Z: part of every RRN this instance assigns
	DuplicateWindow time.Duration
	DuplicateMax    int
	HoldTimeout     time.Duration // how long an authorization hold lives uncaptured
	Merchants       []Merchant
	Terminals       []Terminal
	Issuers         []Issuer
}

// Deps are the engine's collaborators. HSM may be nil: PIN and MAC requests are then answered
// 63. Protector seals the PAN of every message the switch keeps for an issuer (intents,
// store-and-forward items); without it, no request with a PAN can be sent (96).
type Deps struct {
	Router    Router
	Ledger    Ledger
	HSM       HSM
	Protector Protector
	Log       *zap.Logger
	Metrics   *Metrics
	Now       func() time.Time
}

// Engine handles requests; it is safe for concurrent use.
type Engine struct {
	cfg           Config                   // as built; its merchants, terminals and issuers are conf's
	conf          atomic.Pointer[snapshot] // merchants, terminals, issuers, router (reconfigure.go)
	ledger        Ledger
	hsm           HSM
	protector     Protector
	spec          *iso8583.Spec // how follow-ups are packed for the store-and-forward queue
	log           *zap.Logger
	metrics       *Metrics
	now           func() time.Time
	dups          *dupCache
	rrn           *rrnSource
	standIn       standInTotals
	compensations chan compensation // approvals whose commit's outcome is unknown (compensate.go)
}

// New builds an engine.
func New(cfg Config, d Deps) (*Engine, error) {
	if d.Router == nil || d.Ledger == nil || d.Log == nil || d.Metrics == nil || d.Now == nil {
		return nil, errors.New("engine: router, ledger, log, metrics and clock are required")
	}
	e := &Engine{
		cfg: cfg, ledger: d.Ledger, hsm: d.HSM, protector: d.Protector,
		spec: iso8583.AcquirerSpec(), log: d.Log, metrics: d.Metrics, now: d.Now,
		compensations: make(chan compensation, compensationsMax),
		dups:          newDupCache(cfg.DuplicateMax, cfg.DuplicateWindow),
		rrn:           newRRNSource(cfg.NodeID, d.Now()),
	}
	s, err := newSnapshot(cfg, d.Router)
	if err != nil {
		return nil, err
	}
	e.conf.Store(s)
	return e, nil
}

// Handle answers one request (acceptor.Handler). It returns nil for messages that get no answer
// (responses sent to the switch).
func (e *Engine) Handle(ctx context.Context, req *iso8583.Message) *iso8583.Message {
	start := time.Now()
	kind := classify(req)
	var resp *iso8583.Message
	switch kind {
	case kindAuthorization, kindPurchase, kindRefund:
		resp = e.financial(ctx, req, kind)
	case kindCompletion:
		resp = e.completion(ctx, req)
	case kindReversal, kindReversalAdvice:
		resp = e.reversal(ctx, req, kind)
	case kindNetwork:
		resp = e.network(req)
	case kindResponse:
		e.metrics.unexpected.Inc()
		e.log.Debug("engine ignoring a response sent by a terminal", zap.String("mti", req.MTI), zap.String("terminal", req.TerminalID))
		return nil
	default:
		resp = respond(req, iso8583.RCInvalidTransaction)
	}
	e.metrics.observe(kind, resp.ResponseCode, time.Since(start))
	return resp
}

// HandleMalformed answers a frame that did not unpack with its response MTI and 30, echoing what
// could be read (acceptor.Handler).
func (e *Engine) HandleMalformed(_ context.Context, partial *iso8583.Message, err error) *iso8583.Message {
	if iso8583.ResponseMTI(partial.MTI) == "" {
		e.metrics.unexpected.Inc()
		return nil
	}
	e.log.Debug("engine format error", zap.String("mti", partial.MTI), zap.String("terminal", partial.TerminalID), zap.Error(err))
	resp := respond(partial, iso8583.RCFormatError)
	e.metrics.observe(classify(partial), resp.ResponseCode, 0)
	return resp
}

// txnKind is what a request asks for.
type txnKind uint8

const (
	kindOther txnKind = iota
	kindAuthorization
	kindPurchase
	kindRefund
	kindCompletion
	kindReversal
	kindReversalAdvice
	kindNetwork
	kindResponse
	kindCount
)

var kindNames = [kindCount]string{"other", "authorization", "purchase", "refund", "completion", "reversal", "reversal_advice", "network", "response"}

func (k txnKind) String() string { return kindNames[k] }

func classify(req *iso8583.Message) txnKind {
	if !iso8583.IsDigits(req.MTI) || len(req.MTI) != 4 {
		return kindOther
	}
	if !iso8583.IsRequest(req.MTI) {
		return kindResponse
	}
	switch iso8583.MTIClass(req.MTI) {
	case iso8583.MTIAuthorization:
		return kindAuthorization
	case iso8583.MTIFinancial:
		if len(req.ProcessingCode) >= 2 && req.ProcessingCode[:2] == iso8583.ProcessingRefund {
			return kindRefund
		}
		return kindPurchase
	case iso8583.MTICompletion:
		return kindCompletion
	case iso8583.MTIReversal:
		return kindReversal
	case iso8583.MTIReversalAdvice:
		return kindReversalAdvice
	case iso8583.MTINetwork:
		return kindNetwork
	}
	return kindOther
}

// transactionID is the identity of a request: its MTI class, terminal, STAN and transmission
// date-time (the duplicate-detection key of CONTRACT §2). Ledger transfer ids derive from it.
func transactionID(mti, terminal, stan, transmission string) string {
	return iso8583.MTIClass(mti) + "/" + terminal + "/" + stan + "/" + transmission
}
