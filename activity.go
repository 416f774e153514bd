package shadow

import (
	"context"
	"sync"
	"time"
)

// Activity: the Middleware re-seals an active visitor's cookie at most
// every resealEvery and, at the same moments, records the guest's last
// activity in the data stores with the [ActivityRecorder] capability,
// where Sweep reads it for SweepOptions.IdleFor (docs/architecture.md
// invariant 7). The stores keep it rather than ZITADEL metadata: a write
// per active guest every few minutes is cheap for the app's database,
// whereas SetUserMetadata is a rate-limited call on ZITADEL (50 requests/s
// per IP on ZITADEL Cloud, shared with every other call of the app) that
// also adds an event to the user's history. Without a store that keeps
// activity nothing is recorded, and IdleFor sees none: sweep with IdleFor
// only with such a store (memstore and pgstore have it).

// maxResealEvery is the longest interval between two re-seals of an
// active session.
const maxResealEvery = 5 * time.Minute

// resealEvery is how often an active session's cookie is re-sealed: the
// idle timeout divided by 8, at most maxResealEvery.
func (m *Manager) resealEvery() time.Duration { return min(m.cfg.idleTimeout/8, maxResealEvery) }

// activityTimeout bounds one activity write on the request path.
const activityTimeout = 2 * time.Second

// activityMemory throttles activity writes per guest, so that replays of
// one old cookie (which is re-sealed on every request that carries it)
// write at most once per resealEvery. It is bounded and safe for
// concurrent use.
type activityMemory struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// due reports whether id's activity should be written at now, and if so
// notes it.
func (a *activityMemory) due(id string, now time.Time, every time.Duration) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.last[id]; ok && now.Sub(t) < every {
		return false
	}
	if a.last == nil {
		a.last = map[string]time.Time{}
	}
	makeRoom(a.last, func(t time.Time) bool { return now.Sub(t) >= every })
	a.last[id] = now
	return true
}

// noteActivity records guestID's activity at now in the stores that keep
// it, at most once per resealEvery per guest; a failure is logged (the
// request goes on, the next activity retries).
func (m *Manager) noteActivity(ctx context.Context, guestID string, now time.Time) {
	if !m.hasActivity || !m.active.due(guestID, now, m.resealEvery()) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), activityTimeout)
	defer cancel()
	if _, err := m.recordActivity(ctx, guestID, now); err != nil {
		m.log().Warn("shadow: could not record guest activity", "guest", guestID, "err", err)
	}
}

// unusedCookieLife is the longest a session cookie stays valid without
// being used: the idle timeout, or the absolute lifetime if shorter.
func (m *Manager) unusedCookieLife() time.Duration {
	return min(m.cfg.idleTimeout, m.cfg.sessionLifetime)
}
