package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// On both stores: a bill's reference is unique per agency, a change applies only to the version
// it was read at (so that two payers claiming one bill at once get one claim), a payment guard
// refuses a write when the payment moved, and a refused write fails alone in its batch.
func TestBillGuardsOnBothStores(t *testing.T) {
	eachStore(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s, w := open(t, cfg)
		now := time.Now().UTC().Truncate(time.Microsecond)
		b := &store.Bill{ID: "bil_1", Agency: "GOVAGENCY000001", Reference: "CN-1", Status: store.BillOpen, Amount: 5000, Fee: 100,
			Currency: "840", Description: "Licence", Items: []store.BillItem{{RevenueCode: "1422", Amount: 5000}},
			CreatedAt: now, UpdatedAt: now, Version: 1}
		require.NoError(t, w.Commit(ctx, &store.Write{BillWrite: store.BillWrite{Bills: []store.BillChange{{Bill: b}}}}))
		dup := *b
		dup.ID = "bil_2"
		err := w.Commit(ctx, &store.Write{BillWrite: store.BillWrite{Bills: []store.BillChange{{Bill: &dup}}}})
		require.ErrorIs(t, err, store.ErrBillExists)
		other := dup
		other.Agency = "OTHERAGENCY0001"
		require.NoError(t, w.Commit(ctx, &store.Write{BillWrite: store.BillWrite{Bills: []store.BillChange{{Bill: &other}}}}))

		// Two claims of version 1 at once, each with its payment: one wins, the other's payment
		// is not written either.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []string{"pay_a", "pay_b"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := *b
				c.ClaimPayment, c.Version = id, 2
				errs[i] = w.Commit(ctx, &store.Write{Payments: []*store.Payment{payment(id, now)},
					BillWrite: store.BillWrite{Bills: []store.BillChange{{Bill: &c, Prev: 1}}}})
			}()
		}
		wg.Wait()
		won := 0
		for _, e := range errs {
			if e == nil {
				won++
			} else {
				require.True(t, errors.Is(e, store.ErrBillChanged), "%v", e)
			}
		}
		require.Equal(t, 1, won)
		got, err := s.BillByReference(ctx, "GOVAGENCY000001", "CN-1")
		require.NoError(t, err)
		require.Contains(t, []string{"pay_a", "pay_b"}, got.ClaimPayment)
		loser := map[string]string{"pay_a": "pay_b", "pay_b": "pay_a"}[got.ClaimPayment]
		_, err = s.PaymentByID(ctx, loser)
		require.ErrorIs(t, err, store.ErrNotFound, "the losing write left nothing")
		require.Equal(t, b.Items, got.Items)

		claimed, err := s.BillsClaimed(ctx, 10)
		require.NoError(t, err)
		require.Len(t, claimed, 1)

		p, err := s.PaymentByID(ctx, got.ClaimPayment)
		require.NoError(t, err)
		err = w.Commit(ctx, &store.Write{BillWrite: store.BillWrite{PaymentGuards: []store.PaymentGuard{{ID: p.ID, Version: p.Version + 1}}}})
		require.ErrorIs(t, err, store.ErrPaymentBusy)
		require.NoError(t, w.Commit(ctx, &store.Write{BillWrite: store.BillWrite{PaymentGuards: []store.PaymentGuard{{ID: p.ID, Version: p.Version}}}}))

		k1, err := s.PageKey(ctx, now)
		require.NoError(t, err)
		k2, err := s.PageKey(ctx, now)
		require.NoError(t, err)
		require.Len(t, k1, 32)
		require.Equal(t, k1, k2, "every instance signs with one key")
	})
}
