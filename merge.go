package shadow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// MergeResult says what MergeInto did.
type MergeResult struct {
	// Merged is what moved from the guest's cart into the user's, one line
	// per SKU with the guest's quantities (before the merge policy combined
	// them with the user's); empty when there was nothing to move (a
	// repeated MergeInto, say).
	Merged Cart
	// GuestDeleted is true when the guest user is gone from ZITADEL.
	GuestDeleted bool
}

// MergeInto hands a guest's cart to the account the visitor just logged
// into and deletes the guest. Steps, in the order that never loses cart
// data (docs/architecture.md invariant 3):
//
//  1. check the guest tag (ListUserMetadata; a read, retried); a user
//     without it gives [ErrNotGuest] and nothing changes ([ErrNotFound] if
//     the user does not exist at all);
//  2. move the cart in the CartStore with the merge policy (WithMergePolicy;
//     one atomic, idempotent Merge);
//  3. DeleteUser the guest (POST /zitadel.user.v2.UserService/DeleteUser,
//     idempotent, retried; a 404 counts as done);
//  4. merge once more, so that an item added to the guest's cart while
//     steps 2 and 3 ran is not left behind.
//
// If step 3 fails, the merged cart stays with the user and the guest keeps
// its tag, so a repeated MergeInto or the Sweep finishes the job. The
// steps run under the guest's lock (see WithGuestLocker), so an Upgrade of
// the same guest cannot slip in between the check and the delete. userID is
// the id of the logged-in account, from the app's verified login; the guest
// id from a sealed session.
//
// Errors: [ErrGuestBusy] (another operation holds the guest), [ErrNotGuest]
// (also for a tagged user with a password or a verified e-mail, as the
// official demo's failed upgrades leave), [ErrNotFound], the store's error
// (wrapped), and [*APIError] or [ErrUnavailable] from ZITADEL.
func (m *Manager) MergeInto(ctx context.Context, guestID, userID string) (res MergeResult, err error) {
	start := time.Now()
	ctx = m.begin(ctx, EventMerged)
	defer func() {
		m.emit(ctx, Event{Kind: EventMerged, GuestID: guestID, UserID: userID, Duration: time.Since(start), Err: err})
	}()
	switch {
	case guestID == "" || userID == "":
		return MergeResult{}, errors.New("shadow: MergeInto: empty guest or user id")
	case guestID == userID:
		return MergeResult{}, errors.New("shadow: MergeInto: guest and user are the same user")
	}
	unlock, err := m.lockGuest(ctx, guestID)
	if err != nil {
		return MergeResult{}, err
	}
	defer unlock()
	if _, err := m.requireGuest(ctx, guestID); err != nil {
		return MergeResult{}, err
	}
	moved, err := m.store.Merge(ctx, guestID, userID, m.cfg.mergePolicy)
	if err != nil {
		return MergeResult{}, errorf("merge cart: %w", err)
	}
	res.Merged = moved
	if err := m.deleteGuest(ctx, guestID); err != nil {
		return res, err
	}
	res.GuestDeleted = true
	late, err := m.store.Merge(ctx, guestID, userID, m.cfg.mergePolicy)
	if err != nil {
		return res, errorf("merge late cart items: %w", err)
	}
	res.Merged.Items = MergeItems(res.Merged.Items, late.Items, SumQuantities)
	return res, nil
}

// requireGuest returns the user's guest tags; ErrNotGuest when it exists
// without one, and ErrNotFound when it does not exist (GetUserByID, only on
// that failure path). A tag can outlive an upgrade that was not atomic —
// with WithLegacyMetadata, or the official demo's upgrade, which leaves its
// daily GUEST_YY_MM_DD key behind when its last call fails — so then it
// also reads the user (GetUserByID) and refuses one with a password or a
// verified e-mail. Callers hold the guest's lock.
func (m *Manager) requireGuest(ctx context.Context, userID string) ([]guestTag, error) {
	tags, _, err := m.guestTags(ctx, userID)
	if err != nil {
		return nil, err
	}
	if len(tags) > 0 && !m.cfg.legacyMetadata && !slices.ContainsFunc(tags, func(t guestTag) bool { return isDailyTagKey(t.Key) }) {
		return tags, nil
	}
	var resp zitadel.GetUserByIDResponse
	if err := m.call(zitadel.Idempotent(ctx), zitadel.MethodGetUserByID, zitadel.UserIDRequest{UserID: userID}, &resp); err != nil {
		return nil, err
	}
	if len(tags) == 0 || resp.User == nil || registered(*resp.User) {
		return nil, fmt.Errorf("%w: %s", ErrNotGuest, userID)
	}
	return tags, nil
}

// registered reports whether u shows signs of a registered user that a
// guest never has: a machine user, a password, or a verified e-mail. The
// SDK never deletes or changes such a user, tag or not (a tag can outlive
// an upgrade with WithLegacyMetadata, or the official demo's upgrade).
func registered(u zitadel.User) bool {
	if u.Human == nil {
		return true
	}
	return !u.Human.PasswordChanged.IsZero() || u.Human.Email != nil && u.Human.Email.IsVerified
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
