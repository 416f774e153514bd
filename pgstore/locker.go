package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shadowaccounts/shadow"
)

// Locker is a [shadow.Locker] on PostgreSQL session-level advisory locks,
// so that of several replicas sharing a database only one sweeps at a
// time. It is safe for concurrent use.
//
// A held lock keeps one connection of the pool out of it until release,
// and lasts as long as that connection's session: if the connection
// breaks, the server frees the lock and another replica may take it while
// the first still believes it holds it. That is harmless for a sweep,
// which is idempotent; do not use Locker for mutual exclusion that must
// never overlap.
type Locker struct {
	pool *pgxpool.Pool
}

var _ shadow.Locker = (*Locker)(nil)

// NewLocker returns a Locker taking its connections from pool, which the
// caller owns and closes after the last release. The zero Locker has no
// pool, and its TryLock returns an error.
func NewLocker(pool *pgxpool.Pool) *Locker { return &Locker{pool: pool} }

// lockKey maps a lock name to its advisory lock key; the namespace keeps
// it apart from the keys of cart owners.
func lockKey(name string) int64 { return advisoryKey("pgstore lock", name) }

// TryLock takes the lock called name (pg_try_advisory_lock on a 64-bit
// hash of the name) on a connection acquired from the pool, without
// waiting for another holder: when another session holds it, ok is false,
// release is nil and err nil. A holder in the same process counts as
// another holder. Waiting for a free pool connection honours ctx.
//
// release runs pg_advisory_unlock and returns the connection to the pool.
// If ctx is done or the unlock fails, release closes the connection
// instead, which frees the lock too, and returns the error; a connection
// that may still hold the lock never goes back to the pool. Calling
// release again returns an error.
func (l *Locker) TryLock(ctx context.Context, name string) (release func(ctx context.Context) error, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if l == nil || l.pool == nil {
		return nil, false, errors.New("pgstore: Locker without a pool; create it with NewLocker")
	}
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fail(ctx, "lock "+name, err)
	}
	key := lockKey(name)
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		destroy(ctx, conn) // it may have taken the lock before the error
		return nil, false, fail(ctx, "lock "+name, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	var released atomic.Bool
	return func(ctx context.Context) error {
		if released.Swap(true) {
			return fmt.Errorf("pgstore: unlock %s: already released", name)
		}
		if err := ctx.Err(); err != nil {
			destroy(ctx, conn)
			return err
		}
		var unlocked bool
		if err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&unlocked); err != nil {
			destroy(ctx, conn)
			return fail(ctx, "unlock "+name, err)
		}
		if !unlocked { // the session lost it: nothing else runs on this connection
			destroy(ctx, conn)
			return fmt.Errorf("pgstore: unlock %s: %w", name, errNotHeld)
		}
		conn.Release()
		return nil
	}, true, nil
}

var errNotHeld = errors.New("lock was not held by its session")

// destroy takes conn out of the pool and closes it, ending its session and
// with it every session-level lock it held.
func destroy(ctx context.Context, conn *pgxpool.Conn) {
	_ = conn.Hijack().Close(ctx) // closes the socket even when ctx is done
}
