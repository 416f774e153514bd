package pgstore_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shadowaccounts/shadow/pgstore"
)

func TestLockerExcludes(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	name := uniqueName("sweep")
	a, b := pgstore.NewLocker(pool), pgstore.NewLocker(pool)

	release, ok, err := a.TryLock(t.Context(), name)
	if err != nil || !ok || release == nil {
		t.Fatalf("first TryLock = %v, %v; want the lock", ok, err)
	}
	for _, l := range []*pgstore.Locker{b, a} { // the same Locker is another holder too
		if r, ok, err := l.TryLock(t.Context(), name); ok || err != nil || r != nil {
			t.Fatalf("TryLock of a held lock = %v, %v, release %v; want not ok, nil, nil", ok, err, r != nil)
		}
	}
	other, ok, err := b.TryLock(t.Context(), name+"-other")
	if err != nil || !ok {
		t.Fatalf("TryLock of another name = %v, %v; want the lock", ok, err)
	}
	if err := other(t.Context()); err != nil {
		t.Fatal(err)
	}

	if err := release(t.Context()); err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := release(t.Context()); err == nil {
		t.Error("second release succeeded, want an error")
	}
	release, ok, err = b.TryLock(t.Context(), name)
	if err != nil || !ok {
		t.Fatalf("TryLock after release = %v, %v; want the lock", ok, err)
	}
	if err := release(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestLockerConcurrentTryLock(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	name := uniqueName("sweep")
	var won atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	releases := make(chan func(context.Context) error, 10)
	for range 10 {
		wg.Go(func() {
			<-start
			release, ok, err := pgstore.NewLocker(pool).TryLock(t.Context(), name)
			if err != nil {
				t.Errorf("TryLock: %v", err)
			}
			if ok {
				won.Add(1)
				releases <- release
			}
		})
	}
	close(start)
	wg.Wait()
	close(releases)
	if n := won.Load(); n != 1 {
		t.Errorf("%d of 10 concurrent TryLocks got the lock, want 1", n)
	}
	for release := range releases {
		if err := release(t.Context()); err != nil {
			t.Error(err)
		}
	}
}

// TestLockerReleaseHonoursCtx releases with a cancelled ctx: release
// returns ctx's error and closes the connection, which frees the lock.
func TestLockerReleaseHonoursCtx(t *testing.T) {
	t.Parallel()
	pool := ownPool(t)
	l := pgstore.NewLocker(pool)
	name := uniqueName("sweep")
	release, ok, err := l.TryLock(t.Context(), name)
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := release(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("release with a cancelled ctx = %v, want context.Canceled", err)
	}
	waitForLock(t, l, name)
	if n := pool.Stat().AcquiredConns(); n != 0 {
		t.Errorf("%d connections still acquired, want 0", n)
	}
}

// TestLockerReleaseAfterLostSession kills the session holding the lock:
// release reports the failed unlock and destroys the connection instead
// of returning it to the pool, and the lock is free again.
func TestLockerReleaseAfterLostSession(t *testing.T) {
	t.Parallel()
	pool := ownPool(t)
	l := pgstore.NewLocker(pool)
	name := uniqueName("sweep")
	release, ok, err := l.TryLock(t.Context(), name)
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	key := uint64(pgstore.LockKey(name))
	var killed bool
	err = testPool(t).QueryRow(t.Context(), `SELECT coalesce(bool_and(pg_terminate_backend(pid, 5000)), false) FROM pg_locks
		WHERE locktype = 'advisory' AND objsubid = 1 AND classid = $1::bigint::oid AND objid = $2::bigint::oid`,
		int64(key>>32), int64(key&0xffffffff)).Scan(&killed)
	if err != nil || !killed {
		t.Fatalf("terminating the lock's session = %v, %v", killed, err)
	}
	if err := release(t.Context()); err == nil {
		t.Error("release on a terminated session succeeded, want an error")
	}
	if n := pool.Stat().TotalConns(); n != 0 {
		t.Errorf("pool keeps %d connections, want the broken one destroyed", n)
	}
	waitForLock(t, l, name)
}

func TestLockerWithoutPool(t *testing.T) {
	t.Parallel()
	for _, l := range []*pgstore.Locker{pgstore.NewLocker(nil), {}} {
		if release, ok, err := l.TryLock(t.Context(), "x"); err == nil || ok || release != nil {
			t.Errorf("TryLock without a pool = %v, %v; want an error", ok, err)
		}
	}
}

// ownPool returns a pool of the test's own, so it can count connections.
func ownPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	testPool(t) // skips without a DSN
	pool, err := newPool(os.Getenv(dsnEnv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// waitForLock takes and releases name, retrying for a few seconds while
// the server notices a closed session.
func waitForLock(t *testing.T, l *pgstore.Locker, name string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		release, ok, err := l.TryLock(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			if err := release(t.Context()); err != nil {
				t.Fatal(err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lock %q still held 5 s after its session ended", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
