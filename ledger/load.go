package ledger

import "context"

// load reads what the planner needs for items, in three rounds: the journal rows of the
// originals (and, when careful, of the events themselves, to find duplicates); the transfers of
// those originals (holds locked, since the batch may post or void them) and of submitted chains;
// then, for a captured authorization, its capture's transfers. Accounts of loaded transfers that
// the Writer does not know are read last.
func load(ctx context.Context, tx BatchTx, p *planner, items []*item, careful bool) error {
	if err := loadJournal(ctx, tx, p, items, careful); err != nil {
		return err
	}
	if careful {
		if err := loadSAFKeys(ctx, tx, p, items); err != nil {
			return err
		}
	}
	var locked, plain, pendings []TransferID
	for _, t := range p.journal {
		switch {
		case t.Rejection != "":
		case t.Kind == Authorize:
			holds := legIDs(t.ID, ownLegs(Authorize))
			locked = append(locked, holds...)
			pendings = append(pendings, holds[0])
		case t.Kind == Capture || t.Kind == Purchase || t.Kind == Refund:
			plain = append(plain, legIDs(t.ID, ownLegs(t.Kind))...)
			plain = append(plain, compensationIDs(t.ID, t.Kind)...)
		}
	}
	for _, it := range items {
		for _, t := range it.chain {
			if careful { // optimistic otherwise: a resubmitted id fails the batch on the primary key
				plain = append(plain, t.ID)
			}
			if !t.PendingID.IsZero() {
				locked = append(locked, t.PendingID)
			}
		}
	}
	if err := loadTransfers(ctx, tx, p, locked, true); err != nil {
		return err
	}
	if err := loadTransfers(ctx, tx, p, plain, false); err != nil {
		return err
	}
	var sales []string // purchases and captures whose refunds the batch may need
	for _, it := range items {
		if ev := it.event; ev != nil && ev.OriginalID != "" && (ev.Kind == Refund || ev.Kind == Reverse) {
			sales = append(sales, ev.OriginalID)
		}
	}
	if len(pendings) > 0 {
		posts, err := tx.Posts(ctx, pendings)
		if err != nil {
			return err
		}
		var captures []TransferID
		for _, r := range posts {
			p.addLoadedTransfer(r)
			if r.Flags&PostPending != 0 && r.State != StateRejected {
				captures = append(captures, legIDs(r.EventID, ownLegs(Capture))...)
				captures = append(captures, compensationIDs(r.EventID, Capture)...)
				sales = append(sales, r.EventID)
			}
		}
		if err := loadTransfers(ctx, tx, p, captures, false); err != nil {
			return err
		}
	}
	if err := loadRefunds(ctx, tx, p, sales); err != nil {
		return err
	}
	return loadAccounts(ctx, tx, p)
}

// loadRefunds reads the refunds that name the given sales as their original, and whether each
// was reversed since (its compensation transfers).
func loadRefunds(ctx context.Context, tx BatchTx, p *planner, sales []string) error {
	if len(sales) == 0 {
		return nil
	}
	rows, err := tx.RefundsOf(ctx, dedupe(sales))
	if err != nil {
		return err
	}
	var comps []TransferID
	for _, r := range rows {
		if _, ok := p.journal[r.ID]; !ok {
			p.journal[r.ID] = r
		}
		p.refunds[r.OriginalID] = append(p.refunds[r.OriginalID], r)
		comps = append(comps, legIDs(r.ID, ownLegs(Refund))...)
		comps = append(comps, compensationIDs(r.ID, Refund)...)
	}
	return loadTransfers(ctx, tx, p, comps, false)
}

func loadJournal(ctx context.Context, tx BatchTx, p *planner, items []*item, careful bool) error {
	var ids []string
	for _, it := range items {
		if it.event == nil {
			continue
		}
		if it.event.OriginalID != "" {
			ids = append(ids, it.event.OriginalID)
		}
		if careful {
			ids = append(ids, it.event.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Transactions(ctx, dedupe(ids))
	if err != nil {
		return err
	}
	for _, t := range rows {
		p.journal[t.ID] = t
	}
	return nil
}

func loadTransfers(ctx context.Context, tx BatchTx, p *planner, ids []TransferID, lock bool) error {
	var missing []TransferID
	seen := map[TransferID]bool{}
	for _, id := range ids {
		if _, ok := p.transfers[id]; !ok && !seen[id] {
			seen[id] = true
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err := tx.Transfers(ctx, missing, lock)
	if err != nil {
		return err
	}
	for _, r := range rows {
		p.addLoadedTransfer(r)
	}
	return nil
}

func loadAccounts(ctx context.Context, tx BatchTx, p *planner) error {
	var ids []int64
	seen := map[int64]bool{}
	for _, r := range p.transfers {
		for _, id := range []int64{r.DebitAccountID, r.CreditAccountID} {
			if _, ok := p.accountByID(id); !ok && id != 0 && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	infos, err := tx.AccountsByID(ctx, ids)
	if err != nil {
		return err
	}
	for _, a := range infos {
		p.addAccount(a)
	}
	return nil
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// loadSAFKeys finds the intents' keys already stored (a careful batch: an optimistic insert hit
// the unique key).
func loadSAFKeys(ctx context.Context, tx BatchTx, p *planner, items []*item) error {
	var keys []string
	for _, it := range items {
		if it.intent != nil {
			keys = append(keys, it.intent.Key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	found, err := tx.SAFKeys(ctx, dedupe(keys))
	for _, k := range found {
		p.safKeys[k] = true
	}
	return err
}
