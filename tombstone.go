package shadow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrGuestEnded is matched by a [*GuestEndedError]: the session names a
// guest that was upgraded, merged or swept, so it is no guest session any
// more (docs/architecture.md invariant 6).
var ErrGuestEnded = errors.New("shadow: the guest of this session was upgraded, merged or deleted")

// EndReason says how a guest ended.
type EndReason string

const (
	// EndUpgraded: Upgrade made the guest a registered user (same id); the
	// visitor should sign in.
	EndUpgraded EndReason = "upgraded"
	// EndMerged: MergeInto moved the guest's data into an account and
	// deleted the guest; the visitor signed in to that account.
	EndMerged EndReason = "merged"
	// EndDeleted: the guest was deleted (Sweep, or the delete step of a
	// MergeInto) or its data retired in a shared store by another replica.
	EndDeleted EndReason = "deleted"
)

// GuestEndedError is returned by ReadSession for the session of a guest
// that was upgraded, merged or swept. It matches [ErrGuestEnded] and
// [ErrNoSession]: code that treats "no session" as anonymous keeps doing
// so, and code that wants to tell an upgraded visitor to sign in checks
// Reason.
type GuestEndedError struct {
	GuestID string
	Reason  EndReason
}

func (e *GuestEndedError) Error() string {
	return fmt.Sprintf("shadow: guest %s %s: its session is no guest session", e.GuestID, e.Reason)
}

// Is makes errors.Is match ErrGuestEnded and ErrNoSession.
func (e *GuestEndedError) Is(target error) bool {
	return target == ErrGuestEnded || target == ErrNoSession
}

// DefaultEndedCheckInterval bounds how long a replica may keep treating a
// guest that another replica upgraded, merged or swept as alive: the
// shared stores are asked at most this often per guest, through their
// [Retirer] capability (merged and swept guests) and their [GuestEnder]
// capability (upgraded guests). So with a shared store having both, such
// as pgstore, an old session opened on another replica is no guest session
// from at most this long after the end was committed to the store; an
// Upgrade whose record failed to reach the store is seen at the guest's
// next token renewal instead (up to the token's life, about 12 h), which
// refuses a registered user.
const DefaultEndedCheckInterval = 5 * time.Second

// tombstones remembers the guests this process saw end, and when each
// guest was last checked against the shared stores. Entries older than the
// idle timeout are pruned: no cookie sealed before then still opens. It is
// safe for concurrent use.
type tombstones struct {
	mu      sync.RWMutex
	dead    map[string]tombstone
	checked map[string]time.Time // guest id → last shared check that found it alive
}

type tombstone struct {
	reason EndReason
	at     time.Time
}

func (t *tombstones) get(id string) (EndReason, bool) {
	t.mu.RLock()
	e, ok := t.dead[id]
	t.mu.RUnlock()
	return e.reason, ok
}

// bury records that id ended; an upgrade or merge reason replaces a plain
// deletion (MergeInto's delete step reports before the merge does).
func (t *tombstones) bury(id string, reason EndReason, now time.Time, keep time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dead == nil {
		t.dead = map[string]tombstone{}
	}
	if e, ok := t.dead[id]; ok && reason == EndDeleted && e.reason != EndDeleted {
		return
	}
	if len(t.dead)%1024 == 0 {
		for k, e := range t.dead {
			if now.Sub(e.at) > keep {
				delete(t.dead, k)
			}
		}
	}
	t.dead[id] = tombstone{reason: reason, at: now}
	delete(t.checked, id)
}

// checkedWithin reports whether id was found alive by a shared check less
// than d before now.
func (t *tombstones) checkedWithin(id string, now time.Time, d time.Duration) bool {
	t.mu.RLock()
	at, ok := t.checked[id]
	t.mu.RUnlock()
	return ok && now.Sub(at) < d
}

func (t *tombstones) markChecked(id string, now time.Time, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.checked == nil {
		t.checked = map[string]time.Time{}
	}
	makeRoom(t.checked, func(at time.Time) bool { return now.Sub(at) >= d })
	t.checked[id] = now
}

// buryOnEvent records the guests whose lifecycle events say they ended:
// a successful Upgrade or UpgradeWithoutPassword (also one whose legacy
// tag removal or first credential failed), a successful MergeInto, and a
// successful DeleteUser of a guest.
func (m *Manager) buryOnEvent(e Event) {
	if e.GuestID == "" {
		return
	}
	var reason EndReason
	switch {
	case e.Kind == EventUpgraded && (e.Err == nil || errors.Is(e.Err, ErrTagNotRemoved) || errors.Is(e.Err, ErrCredentialNotCreated)):
		reason = EndUpgraded
	case e.Kind == EventMerged && e.Err == nil:
		reason = EndMerged
	case e.Kind == EventDeleted && e.Err == nil:
		reason = EndDeleted
	default:
		return
	}
	m.tombs.bury(e.GuestID, reason, m.now(), m.cfg.idleTimeout)
}

// guestEnded reports whether the guest id ended: at once for guests this
// process upgraded, merged or deleted; for those another replica upgraded,
// merged or swept, through the stores' [GuestEnder] and [Retirer]
// capabilities, asked at most once per DefaultEndedCheckInterval per guest
// (the bound across replicas). A failing shared check is logged and counts
// as alive: the stores themselves refuse writes under a retired owner, and
// renewal refuses a registered user.
func (m *Manager) guestEnded(ctx context.Context, id string) (EndReason, bool) {
	if reason, ok := m.tombs.get(id); ok {
		return reason, true
	}
	if !m.hasRetirer && !m.hasEnder() {
		return "", false
	}
	now := m.now()
	if m.tombs.checkedWithin(id, now, DefaultEndedCheckInterval) {
		return "", false
	}
	reason, ended, err := m.endedInStores(ctx, id)
	if err == nil && !ended {
		if ended, err = m.retired(ctx, id); err == nil && ended {
			reason, ended, err = m.goneFromZitadel(ctx, id)
		}
	}
	switch {
	case err != nil:
		m.log().Warn("shadow: could not learn whether a guest ended", "guest", id, "err", err)
		m.tombs.markChecked(id, now, DefaultEndedCheckInterval)
		return "", false
	case ended:
		if reason == "" {
			reason = EndDeleted // a store that recorded no reason
		}
		m.tombs.bury(id, reason, now, m.cfg.idleTimeout)
		return reason, true
	}
	m.tombs.markChecked(id, now, DefaultEndedCheckInterval)
	return "", false
}

// goneFromZitadel decides a retired guest with no recorded end: MergeInto
// or Sweep moved or deleted its data, but only ZITADEL knows whether the
// guest itself is gone (GetUserByID). One still there stopped part-way —
// a later store or DeleteUser failed — and its session stays, so that a
// repeated MergeInto (or MergeSessionInto) can finish the merge instead
// of the data of the failed store waiting for the sweep to delete it.
// Errors other than ErrNotFound and ErrNotGuest come back: the session
// stays and the next check, DefaultEndedCheckInterval later, asks again.
func (m *Manager) goneFromZitadel(ctx context.Context, id string) (EndReason, bool, error) {
	switch err := m.refuseRegistered(ctx, id); {
	case err == nil:
		return "", false, nil
	case errors.Is(err, ErrNotFound):
		return EndDeleted, true, nil
	case errors.Is(err, ErrNotGuest):
		return EndUpgraded, true, nil
	default:
		return "", false, err
	}
}

// endTimeout bounds recording an upgrade's end in the stores, which runs
// on after the caller's ctx is done: the upgrade already happened.
const endTimeout = 5 * time.Second

// recordUpgraded records in the shared stores ([GuestEnder]) that guestID
// was upgraded, so other replicas end its old sessions within
// DefaultEndedCheckInterval. It runs after ZITADEL accepted the upgrade,
// which a store failure must not undo or hide: the failure is logged, and
// other replicas then see the upgrade at the guest's next token renewal.
func (m *Manager) recordUpgraded(ctx context.Context, guestID string) {
	if !m.hasEnder() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endTimeout)
	defer cancel()
	if err := m.endGuest(ctx, guestID, EndUpgraded, m.now()); err != nil {
		m.log().Warn("shadow: upgrade done, but other replicas will see it only at the next token renewal", "guest", guestID, "err", err)
	}
}
