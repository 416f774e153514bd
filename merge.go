package shadow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// MergeResult says what MergeInto did.
type MergeResult struct {
	// GuestID is the guest merged, AccountID the account that survives it:
	// an app aliases its analytics ids and follows a person's lineage by
	// them (docs/identity-stitching.md).
	GuestID, AccountID string
	// Merged is what moved from the guest's cart into the account's, one
	// line per SKU with the guest's quantities (before the merge policy
	// combined them with the account's); empty without a cart store or
	// when there was nothing to move (a repeated MergeInto, say).
	Merged Cart
	// Stores says, per store in the configured order (the cart store
	// first), whether its data moved and how many records; a store that
	// failed is the last entry, with Moved false, and the stores after it
	// are not listed.
	Stores []StoreMove
	// GuestDeleted is true when the guest user is gone from ZITADEL.
	GuestDeleted bool
}

// MergeInto hands what a guest owns to the account the visitor just
// logged into and deletes the guest. Steps, in the order that never loses
// data (docs/architecture.md invariant 3):
//
//  1. read the guest's tag (ListUserMetadata) and, concurrently, the
//     target account (GetUserByID and its ListUserMetadata): reads,
//     retried. A guest without a tag gives [ErrNotGuest] ([ErrNotFound] if
//     it does not exist); a target that does not exist gives [ErrNotFound],
//     one that is itself a guest [ErrTargetIsGuest]. Then nothing moves
//     and nothing is deleted;
//  2. move the guest's data in every store, the cart store first, then the
//     WithGuestData stores in order (GuestData.MoveGuest; for the cart,
//     CartStore.Merge with WithMergePolicy): each move is atomic and
//     idempotent;
//  3. DeleteUser the guest (POST /zitadel.user.v2.UserService/DeleteUser,
//     idempotent, retried; a 404 counts as done);
//  4. move once more in the stores without the [Retirer] capability, so
//     that a write that landed under the guest while steps 2 and 3 ran is
//     not left behind. Stores with it retired the guest in step 2: a
//     later write fails with [ErrOwnerRetired] instead.
//
// A store that fails stops the merge: each store holds all of the guest's
// data or none, MergeResult.Stores tells which moved, the guest is not
// deleted and keeps its tag, and a repeated MergeInto (or the Sweep)
// finishes the job. The same holds when step 3 fails. ZITADEL sees two
// sequential round trips (the reads of step 1 run concurrently, then
// DeleteUser). The steps run under the guest's lock (see
// WithGuestLocker), so an Upgrade of the same guest cannot slip in between
// the check and the delete. accountID is the id of the logged-in account,
// from the app's verified login; the guest id from a sealed session.
//
// Errors: [ErrGuestBusy] (another operation holds the guest), [ErrNotGuest]
// (also for a tagged user with a password or a verified e-mail, as the
// official demo's failed upgrades leave), [ErrNotFound],
// [ErrTargetIsGuest], a store's error (wrapped, naming the store), and
// [*APIError] or [ErrUnavailable] from ZITADEL.
//
// A guest already gone from ZITADEL (a DeleteUser applied whose answer was
// lost, so the first MergeInto returned an error) still has what is left
// of its data moved when this process deleted it or a store retired it:
// the result then reports GuestDeleted and the moves; with nothing left to
// move, or without that knowledge, the call returns ErrNotFound (as a
// repeat of a completed merge does), and [Manager.MergeSessionInto], given
// the visitor's session, proves the guest and finishes the job.
func (m *Manager) MergeInto(ctx context.Context, guestID, accountID string) (res MergeResult, err error) {
	return m.mergeInto(ctx, guestID, accountID, false)
}

// MergeSessionInto is MergeInto for the guest of s, the session the
// visitor's request carried ([Manager.ReadSession]; a [*GuestEndedError]
// carries the id of a guest that ended): when the guest no longer exists
// in ZITADEL, the sealed session proves that the id was a guest the SDK
// created — its token is ZITADEL's, for that subject, with the guest tag —
// so its data is moved into accountID all the same (the target is still
// checked) and MergeResult.GuestDeleted is true. Use it when MergeInto
// returned [ErrUnavailable] and its retry [ErrNotFound], so that items
// added meanwhile are never stranded under a deleted guest.
func (m *Manager) MergeSessionInto(ctx context.Context, s Session, accountID string) (MergeResult, error) {
	if s.GuestID == "" {
		return MergeResult{AccountID: accountID}, errors.New("shadow: MergeSessionInto: not a guest session")
	}
	c, ok := readClaims(s.Token.AccessToken)
	proof := ok && c.Subject == s.GuestID && slices.ContainsFunc(mapKeys(c.Metadata), m.isTagKey)
	return m.mergeInto(ctx, s.GuestID, accountID, proof)
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// goneGuest reports whether guestID, which ZITADEL no longer knows, was a
// guest of this SDK: the session proved it, this process deleted or
// merged it, or a store retired it.
func (m *Manager) goneGuest(ctx context.Context, guestID string, sessionProof bool) bool {
	if sessionProof {
		return true
	}
	if reason, ok := m.tombs.get(guestID); ok && reason != EndUpgraded {
		return true
	}
	gone, err := m.retired(ctx, guestID)
	return err == nil && gone
}

func (m *Manager) mergeInto(ctx context.Context, guestID, accountID string, sessionProof bool) (res MergeResult, err error) {
	start := time.Now()
	res.GuestID, res.AccountID = guestID, accountID
	ctx = m.begin(ctx, EventMerged)
	defer func() {
		m.emit(ctx, Event{Kind: EventMerged, GuestID: guestID, UserID: accountID, Duration: time.Since(start), Err: err})
	}()
	switch {
	case guestID == "" || accountID == "":
		return res, errors.New("shadow: MergeInto: empty guest or account id")
	case guestID == accountID:
		return res, errors.New("shadow: MergeInto: guest and account are the same user")
	}
	unlock, err := m.lockGuest(ctx, guestID)
	if err != nil {
		return res, err
	}
	defer unlock()
	guestErr, targetErr := m.checkMerge(ctx, guestID, accountID)
	gone := false
	switch {
	case errors.Is(guestErr, ErrNotFound) && targetErr == nil && m.goneGuest(ctx, guestID, sessionProof):
		gone = true // deleted before: move what is left, nothing to delete
	case guestErr != nil:
		return res, guestErr
	case targetErr != nil:
		return res, targetErr
	}
	for _, d := range m.data {
		n, err := m.moveStore(ctx, d, guestID, accountID, &res.Merged)
		if err != nil {
			res.Stores = append(res.Stores, StoreMove{Store: d.name})
			return res, errorf("move guest data in store %q: %w", d.name, err)
		}
		res.Stores = append(res.Stores, StoreMove{Store: d.name, Moved: true, Records: n})
	}
	if !gone {
		if err := m.deleteGuest(ctx, guestID); err != nil {
			return res, err
		}
	}
	res.GuestDeleted = true
	for i, d := range m.data {
		if d.retirer != nil {
			continue
		}
		n, err := m.moveStore(ctx, d, guestID, accountID, &res.Merged)
		if err != nil {
			return res, errorf("move late guest data in store %q: %w", d.name, err)
		}
		res.Stores[i].Records += n
	}
	if gone && !slices.ContainsFunc(res.Stores, func(sm StoreMove) bool { return sm.Records > 0 }) {
		// A repeat after a completed merge: nothing was left behind.
		return res, fmt.Errorf("%w: guest %s was already deleted; nothing was left to move", ErrNotFound, guestID)
	}
	return res, nil
}

// moveStore moves guestID's data in one store and returns how many
// records moved; for the cart store it also adds the moved lines to cart.
func (m *Manager) moveStore(ctx context.Context, d dataStore, guestID, accountID string, cart *Cart) (int, error) {
	c, ok := d.data.(cartData)
	if !ok {
		r, err := d.data.MoveGuest(ctx, guestID, accountID)
		return r.Records, err
	}
	moved, err := c.merge(ctx, guestID, accountID)
	if err != nil {
		return 0, err
	}
	cart.Owner = guestID
	cart.Items = MergeItems(cart.Items, moved.Items, SumQuantities)
	return len(moved.Items), nil
}

// checkMerge runs step 1 of MergeInto: the guest's tag and the target
// account, read concurrently.
func (m *Manager) checkMerge(ctx context.Context, guestID, accountID string) (guestErr, targetErr error) {
	var wg sync.WaitGroup
	wg.Go(func() { _, guestErr = m.requireGuest(ctx, guestID) })
	wg.Go(func() { targetErr = m.requireAccount(ctx, accountID) })
	wg.Wait()
	return guestErr, targetErr
}

// requireAccount checks that the target of a merge exists and is no
// guest (GetUserByID and ListUserMetadata, concurrently): a tagged user
// without the signs of a registered one is a guest.
func (m *Manager) requireAccount(ctx context.Context, accountID string) error {
	var resp zitadel.GetUserByIDResponse
	var userErr, tagErr error
	var tags []guestTag
	var wg sync.WaitGroup
	wg.Go(func() {
		userErr = m.call(zitadel.Idempotent(ctx), zitadel.MethodGetUserByID, zitadel.UserIDRequest{UserID: accountID}, &resp)
	})
	wg.Go(func() { tags, _, tagErr = m.guestTags(ctx, accountID) })
	wg.Wait()
	switch {
	case userErr != nil:
		return fmt.Errorf("%w (merge target %s)", userErr, accountID)
	case resp.User == nil:
		return fmt.Errorf("%w: merge target %s", ErrNotFound, accountID)
	case tagErr != nil:
		return fmt.Errorf("%w (merge target %s)", tagErr, accountID)
	case len(tags) > 0 && !m.registered(*resp.User):
		return fmt.Errorf("%w: %s", ErrTargetIsGuest, accountID)
	}
	return nil
}

// deleteUser deletes a user the caller has just found to be a guest; a
// user already gone counts as deleted.
func (m *Manager) deleteUser(ctx context.Context, userID string) error {
	err := m.call(zitadel.Idempotent(ctx), zitadel.MethodDeleteUser, zitadel.UserIDRequest{UserID: userID}, &zitadel.DeleteUserResponse{})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// deleteGuest is deleteUser with the EventDeleted event.
func (m *Manager) deleteGuest(ctx context.Context, guestID string) error {
	start := time.Now()
	ctx = m.begin(ctx, EventDeleted)
	err := m.deleteUser(ctx, guestID)
	m.emit(ctx, Event{Kind: EventDeleted, GuestID: guestID, Duration: time.Since(start), Err: err})
	return err
}
