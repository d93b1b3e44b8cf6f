package ledger

import "context"

// TransferReader is what Describe needs from a store.
type TransferReader interface {
	Transfers(ctx context.Context, ids []TransferID, lock bool) ([]*TransferRecord, error)
	Posts(ctx context.Context, pendingIDs []TransferID) ([]*TransferRecord, error)
	AccountsByID(ctx context.Context, ids []int64) ([]AccountInfo, error)
}

// Describe fills a journaled transaction's Status and Transfers from the transfers table: the
// status is derived (never stored), so that it cannot disagree with the ledger.
func Describe(ctx context.Context, r TransferReader, t *Transaction) error {
	t.Transfers = []TransferView{}
	switch {
	case t.Rejection != "":
		t.Status = StatusRejected
		return nil
	case t.Kind == Decline:
		t.Status = StatusDeclined
		return nil
	case t.Kind == Recovered:
		t.Status = StatusRecovered
		return nil
	}
	recs, err := r.Transfers(ctx, TransactionTransferIDs(t), false)
	if err != nil {
		return err
	}
	byID := map[TransferID]*TransferRecord{}
	for _, rec := range recs {
		byID[rec.ID] = rec
	}
	if t.Status, err = status(ctx, r, t, byID); err != nil {
		return err
	}
	return views(ctx, r, t, recs)
}

func status(ctx context.Context, r TransferReader, t *Transaction, byID map[TransferID]*TransferRecord) (TransactionStatus, error) {
	reversed := func(target string, kind EventKind) (bool, error) {
		comps, err := r.Transfers(ctx, compensationIDs(target, kind), false)
		return len(comps) > 0, err
	}
	switch t.Kind {
	case Authorize:
		hold := byID[DeriveTransferID(t.ID, legHold)]
		if hold == nil {
			return StatusRejected, nil
		}
		switch hold.State {
		case StatePendingVoided:
			return StatusVoided, nil
		case StatePendingExpired:
			return StatusExpired, nil
		case StatePendingPosted:
			posts, err := r.Posts(ctx, []TransferID{hold.ID})
			if err != nil || len(posts) == 0 {
				return StatusCaptured, err
			}
			rev, err := reversed(posts[0].EventID, Capture)
			if rev {
				return StatusReversed, err
			}
			return StatusCaptured, err
		}
		return StatusHeld, nil
	case Capture, Purchase, Refund:
		rev, err := reversed(t.ID, t.Kind)
		if rev {
			return StatusReversed, err
		}
		return StatusPosted, err
	}
	return StatusPosted, nil
}

func views(ctx context.Context, r TransferReader, t *Transaction, recs []*TransferRecord) error {
	var ids []int64
	for _, rec := range recs {
		ids = append(ids, rec.DebitAccountID, rec.CreditAccountID)
	}
	names := map[int64]string{}
	if len(ids) > 0 {
		accounts, err := r.AccountsByID(ctx, ids)
		if err != nil {
			return err
		}
		for _, a := range accounts {
			names[a.ID] = a.Key.Name
		}
	}
	// In leg order: the order the posting rules wrote them.
	for _, id := range TransactionTransferIDs(t) {
		for _, rec := range recs {
			if rec.ID == id {
				t.Transfers = append(t.Transfers, NewTransferView(rec, names[rec.DebitAccountID], names[rec.CreditAccountID]))
			}
		}
	}
	return nil
}
