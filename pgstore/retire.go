package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shadowaccounts/shadow"
)

// MergeGuest is [Store.Merge] that also retires guestID in the same
// transaction ([shadow.CartRetirer]): from its commit on, Add under
// guestID fails with an error matching [shadow.ErrOwnerRetired], in this
// process and every other sharing the database. An Add racing it either
// commits first (and its line moves) or waits for the merge and fails.
// Merging into a retired owner fails with shadow.ErrOwnerRetired and
// changes nothing. To move carts together with the app's own tables, in
// one transaction, use a [Mover].
func (s *Store) MergeGuest(ctx context.Context, guestID, accountID string, policy shadow.MergePolicy) (shadow.Cart, error) {
	if err := ctx.Err(); err != nil {
		return shadow.Cart{}, err
	}
	moved := shadow.Cart{Owner: guestID}
	if guestID == accountID {
		return moved, nil
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		target, guest, err := s.lockAndRead(ctx, tx, guestID, accountID)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		s.own.queueRetire(b, guestID)
		s.own.queueRefuseRetired(b, accountID)
		if err := tx.SendBatch(ctx, b).Close(); err != nil || len(guest) == 0 {
			return err
		}
		moved.Items = guest
		return s.writeMerge(ctx, tx, guestID, accountID, target, shadow.MergeItems(target, guest, policy))
	})
	if err != nil {
		return shadow.Cart{}, failWrite(ctx, "merge guest cart", err)
	}
	return moved, nil
}

// DeleteGuest is [Store.Delete] that also retires guestID in the same
// transaction.
func (s *Store) DeleteGuest(ctx context.Context, guestID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(lockSQL, s.ownerKey(guestID))
		b.Queue(s.q.deleteCart, guestID)
		s.own.queueRetire(b, guestID)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fail(ctx, "delete guest cart", err)
	}
	return nil
}

// Retired reports whether owner was retired (by MergeGuest, DeleteGuest,
// or a Mover sharing the Store's schema) and not pruned since.
func (s *Store) Retired(ctx context.Context, owner string) (bool, error) {
	return retired(ctx, s.pool, s.own, owner)
}

// PruneRetired forgets the retirements made before before (by the
// database's clock) and returns how many; the owners are accepted again.
func (s *Store) PruneRetired(ctx context.Context, before time.Time) (int, error) {
	return pruneRetired(ctx, s.pool, s.own, before)
}

// RecordActivity notes owner's activity at at (microsecond precision),
// keeping a later one; it fails with shadow.ErrOwnerRetired for a retired
// owner.
func (s *Store) RecordActivity(ctx context.Context, owner string, at time.Time) error {
	return recordActivity(ctx, s.pool, s.own, owner, at)
}

// LastActivity returns owner's last recorded activity, the zero time when
// none is.
func (s *Store) LastActivity(ctx context.Context, owner string) (time.Time, error) {
	return lastActivity(ctx, s.pool, s.own, owner)
}
