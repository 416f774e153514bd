package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// idleBatch is how many carts one DeleteIdle transaction removes at most;
// it bounds the advisory locks a transaction holds.
const idleBatch = 100

// DeleteIdle deletes the carts that nothing has written (added to, merged
// into) for at least olderThan, by the database's clock, and returns how
// many carts it deleted. It is optional housekeeping for carts nobody
// comes back to, such as registered users' abandoned carts: the SDK
// already deletes a guest's cart when it sweeps the guest.
//
// It works in transactions of up to 100 carts, so a large backlog never
// holds many locks; a cart being written at that moment is skipped (it is
// not idle), and a cart that a write revived between the look-up and the
// delete is kept. When ctx ends between transactions, the count so far
// comes back with the error. Running it from several replicas at once is
// safe.
func (s *Store) DeleteIdle(ctx context.Context, olderThan time.Duration) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if olderThan <= 0 {
		return 0, errors.New("pgstore: DeleteIdle: olderThan must be positive")
	}
	var total int64
	for {
		found, deleted, err := s.deleteIdleBatch(ctx, olderThan.Microseconds())
		total += deleted
		if err != nil {
			return total, fail(ctx, "delete idle carts", err)
		}
		if found < idleBatch || deleted == 0 {
			return total, nil
		}
	}
}

// deleteIdleBatch finds up to idleBatch idle owners, try-locks them (a
// locked owner is being written, so it is skipped), and deletes the carts
// of those still idle under the lock, in one transaction.
func (s *Store) deleteIdleBatch(ctx context.Context, idle int64) (found int, deleted int64, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, s.q.idleOwners, idle, idleBatch) // CollectRows reports the error
		owners, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(owners) == 0 {
			return err
		}
		found = len(owners)
		keys := make([]int64, len(owners))
		for i, o := range owners {
			keys[i] = s.ownerKey(o)
		}
		rows, _ = tx.Query(ctx, s.q.idleLock, owners, keys)
		locked, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(locked) == 0 {
			return err
		}
		return tx.QueryRow(ctx, s.q.idleDelete, idle, locked).Scan(&deleted)
	})
	if err != nil {
		deleted = 0 // rolled back
	}
	return found, deleted, err
}
