package main

// The hosted payment page's part of the composition root: the page over the payments service,
// mounted at /pay on the API listener, and the ledger's settlement reports for the agencies'
// reconciliation.

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/payments/page"
)

// buildPage builds the hosted page with the key every instance shares.
func buildPage(ctx context.Context, a *switchApp, p *paymentsApp) (*page.Handler, error) {
	key, err := p.store.PageKey(ctx, a.now())
	if err != nil {
		return nil, fmt.Errorf("hosted page: key: %w", err)
	}
	return page.New(page.Config{Backend: p.svc.PageBackend(), Key: key, RateLimit: a.cfg.API.Page.RateLimit,
		SecureCookies: a.cfg.API.SecureCookiesOn(), Log: p.log.Named("page"), Now: a.now, Registerer: a.reg})
}

// withPage serves the page under /pay and the API everywhere else.
func withPage(hosted *page.Handler, api http.Handler) http.Handler {
	r := chi.NewRouter()
	r.Mount("/pay", hosted.Routes())
	r.Mount("/", api)
	return r
}

// ledgerSettlements reads the ledger's settlement reports (payments.Settlements).
type ledgerSettlements struct {
	store interface {
		ledger.Backend
		BusinessDay(ctx context.Context) (string, error)
	}
	now func() time.Time
}

func (l ledgerSettlements) BusinessDay(ctx context.Context) (string, error) {
	return l.store.BusinessDay(ctx)
}

func (l ledgerSettlements) Report(ctx context.Context, day string) (*ledger.SettlementReport, error) {
	return ledger.Report(ctx, l.store, day, l.now())
}
