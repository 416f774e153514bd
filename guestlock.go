package shadow

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrGuestBusy: another Upgrade, MergeInto or Sweep is working on the same
// guest right now; nothing was done. Retrying after that one finished
// gives its outcome (ErrNotGuest or ErrNotFound, typically).
var ErrGuestBusy = errors.New("shadow: another operation on this guest is in progress")

// WithGuestLocker makes Upgrade, MergeInto and Sweep also hold the lock
// "shadow-guest:<id>" of l while they check a guest and change it, so that
// replicas sharing l never upgrade, merge or sweep one guest at once (a
// double-submitted form reaching two replicas, say). Within one process the
// Manager serializes them without it. pgstore.Locker serves.
func WithGuestLocker(l Locker) Option { return func(c *config) { c.guestLocker = l } }

// guestLocks is the in-process side of the per-guest lock.
type guestLocks struct {
	mu   sync.Mutex
	held map[string]bool
}

func (g *guestLocks) tryLock(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held[id] {
		return false
	}
	if g.held == nil {
		g.held = map[string]bool{}
	}
	g.held[id] = true
	return true
}

func (g *guestLocks) unlock(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.held, id)
}

// lockGuest takes the per-guest lock, in process and, with
// WithGuestLocker, across replicas. ZITADEL has no conditional update or
// delete, so this lock is what makes "check the tag, then write" safe
// against a concurrent Upgrade (docs/architecture.md invariant 1). It returns
// ErrGuestBusy when another holder has it; unlock must be called once.
func (m *Manager) lockGuest(ctx context.Context, id string) (unlock func(), err error) {
	if !m.guests.tryLock(id) {
		return nil, fmt.Errorf("%w: %s", ErrGuestBusy, id)
	}
	l := m.cfg.guestLocker
	if l == nil {
		return func() { m.guests.unlock(id) }, nil
	}
	release, ok, err := l.TryLock(ctx, "shadow-guest:"+id)
	if err != nil || !ok {
		m.guests.unlock(id)
		if err != nil {
			return nil, errorf("guest lock: %w", err)
		}
		return nil, fmt.Errorf("%w: %s", ErrGuestBusy, id)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockReleaseTimeout)
		defer cancel()
		if err := release(ctx); err != nil {
			m.log().Warn("shadow: guest lock release failed", "guest", id, "err", err)
		}
		m.guests.unlock(id)
	}, nil
}
