package shadow

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// GuestData is data a guest owns in one store of the app: a cart, saved
// items, drafts, preferences, rows of the app's own tables. The Manager
// takes any number of such stores (WithGuestData, and WithCartStore for
// carts) and calls them at two points of the lifecycle:
//
//	MergeInto  MoveGuest(ctx, guestID, accountID) on every store, in the order
//	           configured, before DeleteUser; again afterwards on stores
//	           without the Retirer capability, for writes that raced the move
//	Sweep      LastActivity (ActivityRecorder) with SweepOptions.IdleFor,
//	           then SweepOptions.Veto, then DeleteGuest(ctx, guestID) on
//	           every store, before DeleteUser
//
// Provision and Impersonate call no store. Upgrade moves nothing (an
// upgraded guest keeps its user id, so its data stays where it is); it
// only records the end in stores with the [GuestEnder] capability.
//
// Implementations must be safe for concurrent use, honour ctx (returning
// ctx.Err() when it is done before the work) and keep these contracts,
// which shadowtest.TestGuestData checks:
//
//   - MoveGuest makes everything guestID owns in the store belong to
//     accountID, in one atomic step: after an error nothing moved. What
//     both owners have (the same SKU, the same unique key) is combined by
//     the store's own rule. A repeat moves nothing and is no error
//     (idempotent); moving an owner onto itself changes nothing.
//   - DeleteGuest removes everything guestID owns in the store, in one
//     atomic step; deleting nothing is no error (idempotent).
//
// A store that also implements [Retirer] promises more: its MoveGuest and
// DeleteGuest retire guestID atomically with the move or delete, and from
// then on every write the store accepts under guestID fails with an error
// matching [ErrOwnerRetired] (and so does a MoveGuest into it). A write
// racing MergeInto then either lands before the move (and moves) or
// fails; it is never left behind under a deleted guest. Without it, the
// Manager moves once more after DeleteUser, which catches writes that
// landed meanwhile but not one landing after that. memstore and pgstore
// implement it.
type GuestData interface {
	// MoveGuest moves everything guestID owns to accountID and reports how
	// much moved.
	MoveGuest(ctx context.Context, guestID, accountID string) (MoveResult, error)
	// DeleteGuest deletes everything guestID owns.
	DeleteGuest(ctx context.Context, guestID string) error
}

// MoveResult is what one store's MoveGuest moved.
type MoveResult struct {
	// Records counts the records that changed owner (cart lines, rows), as
	// they were before any combination; 0 when the guest owned nothing.
	Records int
}

// Retirer is the optional capability of a GuestData store that retires the
// owners it moves or deletes (see [GuestData]). The Manager probes it by
// type assertion.
type Retirer interface {
	// Retired reports whether owner was retired by MoveGuest or DeleteGuest
	// and not pruned since.
	Retired(ctx context.Context, owner string) (bool, error)
	// PruneRetired forgets the retirements made before before and returns
	// how many it forgot. A pruned owner is accepted again; prune only
	// what no live session can name (see [Manager.PruneRetired]).
	PruneRetired(ctx context.Context, before time.Time) (int, error)
}

// ActivityRecorder is the optional capability of a GuestData store that
// keeps each owner's last activity. The session middleware records it, at
// most every few minutes per guest; Sweep reads it with
// SweepOptions.IdleFor and keeps a guest active within that window. The
// Manager probes it by type assertion. MoveGuest and DeleteGuest forget
// the guest's activity; a store with the Retirer capability may refuse
// RecordActivity for a retired owner with ErrOwnerRetired.
type ActivityRecorder interface {
	// RecordActivity notes that owner was active at at; an earlier at than
	// the one recorded changes nothing.
	RecordActivity(ctx context.Context, owner string, at time.Time) error
	// LastActivity returns owner's last recorded activity, the zero time
	// when none is recorded.
	LastActivity(ctx context.Context, owner string) (time.Time, error)
}

// CartRetirer is the optional capability of a [CartStore] that can retire
// owners: MergeGuest is Merge and DeleteGuest is Delete, each also
// retiring the guest atomically, after which Add under the guest fails
// with [ErrOwnerRetired]. Plain Merge and Delete never retire anyone, so
// an app can still empty a registered user's cart with Delete. The
// Manager uses these methods for the store of WithCartStore when present.
type CartRetirer interface {
	MergeGuest(ctx context.Context, guestID, accountID string, policy MergePolicy) (Cart, error)
	DeleteGuest(ctx context.Context, guestID string) error
	Retirer
}

// GuestEnder is the optional capability of a GuestData or CartStore store
// that records which guests ended and how, for every replica sharing the
// store. Upgrade and UpgradeWithoutPassword call EndGuest with
// [EndUpgraded] after ZITADEL accepted the upgrade (an upgraded guest keeps
// its id, so the store retires nothing and refuses no write: the account
// keeps writing under it); the session checks of ReadSession, EnsureGuest
// and the middleware ask GuestEnded, at most every
// [DefaultEndedCheckInterval] per guest (docs/architecture.md invariant
// 6). [Manager.PruneRetired] prunes it with the retirements. The Manager
// probes it by type assertion; memstore and pgstore implement it.
// Implementations must be safe for concurrent use and honour ctx.
type GuestEnder interface {
	// EndGuest records that guestID ended for reason at at. A repeat keeps
	// the first record, except that EndUpgraded or EndMerged replaces
	// EndDeleted (as the Manager's in-process record does). An empty
	// guestID or reason is an error.
	EndGuest(ctx context.Context, guestID string, reason EndReason, at time.Time) error
	// GuestEnded returns the reason recorded for guestID and true, or ""
	// and false when none is recorded (or it was pruned).
	GuestEnded(ctx context.Context, guestID string) (EndReason, bool, error)
	// PruneEnded forgets the records whose at is before before and returns
	// how many it forgot.
	PruneEnded(ctx context.Context, before time.Time) (int, error)
}

// ErrOwnerRetired is returned (wrapped) by a store's writes under an owner
// whose data was moved or deleted by MergeInto or Sweep. The guest is gone:
// the app writes to the account it was merged into, or starts a new guest.
var ErrOwnerRetired = errors.New("shadow: owner retired: its data was moved or deleted")

// CartStoreName is the name under which the store of WithCartStore
// appears in MergeResult.Stores and in errors.
const CartStoreName = "carts"

// StoreMove is what MergeInto did in one store.
type StoreMove struct {
	Store   string // the name given to WithGuestData, or CartStoreName
	Moved   bool   // MoveGuest succeeded (also when there was nothing to move)
	Records int    // records moved, the late ones of the second pass included
}

// WithGuestData adds a store of data guests own, under a name that
// identifies it in MergeResult.Stores, Sweep failures and errors (1 to 64
// bytes, unique; CartStoreName is taken by WithCartStore). Stores are
// moved and deleted in the order of the options, the cart store first. No
// store at all is needed: a guest may own nothing outside ZITADEL.
func WithGuestData(name string, s GuestData) Option {
	return func(c *config) { c.data = append(c.data, namedData{name: name, data: s}) }
}

// namedData is a store as configured.
type namedData struct {
	name string
	data GuestData
}

// dataStore is a configured store with its probed capabilities.
type dataStore struct {
	name     string
	data     GuestData
	retirer  Retirer          // nil: MergeInto moves again after DeleteUser
	activity ActivityRecorder // nil: no activity kept
	ender    GuestEnder       // nil: ended guests not recorded there
}

// cartData is the GuestData face of a CartStore: MoveGuest is Merge with
// the Manager's policy, DeleteGuest is Delete (MergeGuest and DeleteGuest
// of a CartRetirer when the store has them).
type cartData struct {
	cs     CartStore
	policy MergePolicy
}

func (c cartData) MoveGuest(ctx context.Context, guestID, accountID string) (MoveResult, error) {
	moved, err := c.merge(ctx, guestID, accountID)
	return MoveResult{Records: len(moved.Items)}, err
}

func (c cartData) DeleteGuest(ctx context.Context, guestID string) error {
	if r, ok := c.cs.(CartRetirer); ok {
		return r.DeleteGuest(ctx, guestID)
	}
	return c.cs.Delete(ctx, guestID)
}

// dataStores builds the Manager's store list: the cart store first, then
// the WithGuestData stores in order, each with its capabilities.
func dataStores(cart CartStore, policy MergePolicy, named []namedData) []dataStore {
	var out []dataStore
	if cart != nil {
		d := dataStore{name: CartStoreName, data: cartData{cs: cart, policy: policy}}
		if r, ok := cart.(CartRetirer); ok {
			d.retirer = r
		}
		d.activity, _ = cart.(ActivityRecorder)
		d.ender, _ = cart.(GuestEnder)
		out = append(out, d)
	}
	for _, n := range named {
		d := dataStore{name: n.name, data: n.data}
		d.retirer, _ = n.data.(Retirer)
		d.activity, _ = n.data.(ActivityRecorder)
		d.ender, _ = n.data.(GuestEnder)
		out = append(out, d)
	}
	return out
}

// checkDataStores reports bad WithGuestData options.
func checkDataStores(cart CartStore, named []namedData) []error {
	var errs []error
	seen := map[string]bool{}
	if cart != nil {
		seen[CartStoreName] = true
	}
	for _, n := range named {
		switch {
		case n.data == nil:
			errs = append(errs, fmt.Errorf("shadow: WithGuestData %q: nil store", n.name))
		case n.name == "" || len(n.name) > 64:
			errs = append(errs, fmt.Errorf("shadow: WithGuestData %q: the name must be 1 to 64 bytes", n.name))
		case seen[n.name]:
			errs = append(errs, fmt.Errorf("shadow: WithGuestData %q: the name is taken", n.name))
		}
		seen[n.name] = true
	}
	return errs
}

// PruneRetired forgets, in every store with the [Retirer] capability, the
// retirements older than olderThan, and in every store with the
// [GuestEnder] capability the ended-guest records older than olderThan,
// and returns how many it forgot in all. A retirement or record must
// outlive every session that can name the guest, so olderThan shorter than
// the life of an unused cookie (WithIdleTimeout, or WithSessionLifetime if
// shorter) is refused. Run it now and then, for example after Sweep; it is
// safe to run from several replicas at once. It stops at the first store
// that fails, returning the count so far and the error naming the store.
func (m *Manager) PruneRetired(ctx context.Context, olderThan time.Duration) (int, error) {
	if olderThan < m.unusedCookieLife() {
		return 0, fmt.Errorf("shadow: PruneRetired: olderThan %v is shorter than the life of an unused session cookie %v", olderThan, m.unusedCookieLife())
	}
	before := m.now().Add(-olderThan)
	total := 0
	for _, d := range m.data {
		if d.retirer != nil {
			n, err := d.retirer.PruneRetired(ctx, before)
			total += n
			if err != nil {
				return total, errorf("prune retired owners in store %q: %w", d.name, err)
			}
		}
		if d.ender != nil {
			n, err := d.ender.PruneEnded(ctx, before)
			total += n
			if err != nil {
				return total, errorf("prune ended guests in store %q: %w", d.name, err)
			}
		}
	}
	return total, nil
}

// hasEnder reports whether some store records ended guests.
func (m *Manager) hasEnder() bool {
	for _, d := range m.data {
		if d.ender != nil {
			return true
		}
	}
	return false
}

// endGuest records in every store with the [GuestEnder] capability that
// guestID ended for reason at at. It tries every store and returns their
// failures joined, each naming its store.
func (m *Manager) endGuest(ctx context.Context, guestID string, reason EndReason, at time.Time) error {
	var errs []error
	for _, d := range m.data {
		if d.ender == nil {
			continue
		}
		if err := d.ender.EndGuest(ctx, guestID, reason, at); err != nil {
			errs = append(errs, errorf("record the end of guest %s in store %q: %w", guestID, d.name, err))
		}
	}
	return errors.Join(errs...)
}

// endedInStores returns the reason the first store with the [GuestEnder]
// capability records for guestID, if any does.
func (m *Manager) endedInStores(ctx context.Context, guestID string) (EndReason, bool, error) {
	for _, d := range m.data {
		if d.ender == nil {
			continue
		}
		reason, ok, err := d.ender.GuestEnded(ctx, guestID)
		if err != nil {
			return "", false, errorf("read the end of guest %s in store %q: %w", guestID, d.name, err)
		}
		if ok {
			return reason, true, nil
		}
	}
	return "", false, nil
}

// retired reports whether any store has retired owner. Stores without the
// Retirer capability know nothing of it.
func (m *Manager) retired(ctx context.Context, owner string) (bool, error) {
	for _, d := range m.data {
		if d.retirer == nil {
			continue
		}
		ok, err := d.retirer.Retired(ctx, owner)
		if err != nil {
			return false, errorf("read retirement in store %q: %w", d.name, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// recordActivity records owner's activity at at in every store with the
// ActivityRecorder capability; it reports whether any store keeps it.
func (m *Manager) recordActivity(ctx context.Context, owner string, at time.Time) (bool, error) {
	kept := false
	for _, d := range m.data {
		if d.activity == nil {
			continue
		}
		if err := d.activity.RecordActivity(ctx, owner, at); err != nil {
			return kept, errorf("record activity in store %q: %w", d.name, err)
		}
		kept = true
	}
	return kept, nil
}

// lastActivity returns owner's latest activity over every store with the
// ActivityRecorder capability, the zero time when none has any.
func (m *Manager) lastActivity(ctx context.Context, owner string) (time.Time, error) {
	var last time.Time
	for _, d := range m.data {
		if d.activity == nil {
			continue
		}
		t, err := d.activity.LastActivity(ctx, owner)
		if err != nil {
			return time.Time{}, errorf("read activity in store %q: %w", d.name, err)
		}
		if t.After(last) {
			last = t
		}
	}
	return last, nil
}

// merge moves guestID's cart into accountID's with the policy.
func (c cartData) merge(ctx context.Context, guestID, accountID string) (Cart, error) {
	if r, ok := c.cs.(CartRetirer); ok {
		return r.MergeGuest(ctx, guestID, accountID, c.policy)
	}
	return c.cs.Merge(ctx, guestID, accountID, c.policy)
}
