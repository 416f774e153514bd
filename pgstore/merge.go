package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/shadowaccounts/shadow"
)

// Merge moves from's cart into into's and deletes from's cart, in one READ
// COMMITTED transaction, combining the quantities of SKUs in both carts
// with policy (nil means [shadow.SumQuantities]) as [shadow.MergeItems]
// does. It returns from's cart as it was moved. Merging an absent or empty
// cart, or a cart into itself, changes nothing and returns an empty Cart,
// so repeating a Merge is harmless. policy runs inside the transaction and
// must be quick.
//
// Locking: the transaction first takes the advisory locks of both owners,
// in ascending key order, then reads both carts with a fresh snapshot,
// computes the result in Go and writes it. Add and Delete take the same
// per-owner lock, so nothing writes either cart between the read and the
// commit: not even a line for a new SKU, which row locks (SELECT … FOR
// UPDATE) could not stop because the row does not exist yet. Every writer
// takes its locks in ascending key order (Add and Delete take just one,
// DeleteIdle never waits), so crossing merges (a into b while b into a)
// queue instead of deadlocking; and READ COMMITTED raises no serialization
// failures, so there is nothing to retry.
func (s *Store) Merge(ctx context.Context, from, into string, policy shadow.MergePolicy) (shadow.Cart, error) {
	if err := ctx.Err(); err != nil {
		return shadow.Cart{}, err
	}
	moved := shadow.Cart{Owner: from}
	if from == into {
		return moved, nil
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		target, guest, err := s.lockAndRead(ctx, tx, from, into)
		if err != nil || len(guest) == 0 {
			return err
		}
		moved.Items = guest
		return s.writeMerge(ctx, tx, from, into, target, shadow.MergeItems(target, guest, policy))
	})
	if err != nil {
		return shadow.Cart{}, failWrite(ctx, "merge carts", err)
	}
	return moved, nil
}

// lockAndRead takes both owners' locks in key order and then reads their
// carts, in one round trip. Under READ COMMITTED the read gets its
// snapshot after the locks are granted, so it sees every earlier write.
func (s *Store) lockAndRead(ctx context.Context, tx pgx.Tx, from, into string) (target, guest []shadow.Item, err error) {
	k1, k2 := s.ownerKey(from), s.ownerKey(into)
	if k2 < k1 {
		k1, k2 = k2, k1
	}
	b := &pgx.Batch{}
	b.Queue(lockSQL, k1)
	if k2 != k1 {
		b.Queue(lockSQL, k2)
	}
	b.Queue(s.q.mergeRead, from, into).Query(func(rows pgx.Rows) error {
		var owner string
		var it shadow.Item
		_, err := pgx.ForEachRow(rows, []any{&owner, &it.SKU, &it.Quantity}, func() error {
			if owner == from {
				guest = append(guest, it)
			} else {
				target = append(target, it)
			}
			return nil
		})
		return err
	})
	err = tx.SendBatch(ctx, b).Close()
	return target, guest, err
}

// writeMerge deletes from's lines and turns into's lines (target) into
// merged, writing only what changed, in one round trip.
func (s *Store) writeMerge(ctx context.Context, tx pgx.Tx, from, into string, target, merged []shadow.Item) error {
	b := &pgx.Batch{}
	b.Queue(s.q.deleteCart, from)

	was := make(map[string]int, len(target))
	for _, it := range target {
		was[it.SKU] = it.Quantity
	}
	var skus []string
	var qtys []int64
	for _, it := range merged {
		if q, ok := was[it.SKU]; !ok || q != it.Quantity {
			skus = append(skus, it.SKU)
			qtys = append(qtys, int64(it.Quantity))
		}
		delete(was, it.SKU)
	}
	if len(skus) > 0 {
		b.Queue(s.q.mergePut, into, skus, qtys)
	}
	if len(was) > 0 { // lines the policy dropped
		dropped := make([]string, 0, len(was))
		for sku := range was {
			dropped = append(dropped, sku)
		}
		b.Queue(s.q.mergeDrop, into, dropped)
	}
	return tx.SendBatch(ctx, b).Close()
}
