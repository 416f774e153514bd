package shadow

import (
	"context"
	"errors"
	"fmt"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// MergeResult says what MergeInto did.
type MergeResult struct {
	// Merged is the guest's cart as it was moved into the user's cart;
	// empty when there was nothing to move (a repeated MergeInto, say).
	Merged Cart
	// GuestDeleted is true when the guest user is gone from ZITADEL.
	GuestDeleted bool
}

// MergeInto hands a guest's cart to the account the visitor just logged
// into and deletes the guest. Steps, in the order that never loses cart
// data (DESIGN.md invariant 3):
//
//  1. check the guest tag (ListUserMetadata; a read, retried); a user
//     without it gives [ErrNotGuest] and nothing changes ([ErrNotFound] if
//     the user does not exist at all);
//  2. move the cart in the CartStore with the merge policy (one atomic,
//     idempotent Merge);
//  3. DeleteUser the guest (POST /zitadel.user.v2.UserService/DeleteUser,
//     idempotent, retried; a 404 counts as done).
//
// If step 3 fails, the merged cart stays with the user and the guest keeps
// its tag, so a repeated MergeInto or the Sweep finishes the job. userID is
// the id of the logged-in account, from the app's verified login.
func (m *Manager) MergeInto(ctx context.Context, guestID, userID string) (MergeResult, error) {
	switch {
	case guestID == "" || userID == "":
		return MergeResult{}, errors.New("shadow: MergeInto: empty guest or user id")
	case guestID == userID:
		return MergeResult{}, errors.New("shadow: MergeInto: guest and user are the same user")
	}
	if _, err := m.requireGuest(ctx, guestID); err != nil {
		return MergeResult{}, err
	}
	moved, err := m.store.Merge(ctx, guestID, userID, m.cfg.mergePolicy)
	if err != nil {
		return MergeResult{}, fmt.Errorf("shadow: merge cart: %w", err)
	}
	res := MergeResult{Merged: moved}
	if err := m.deleteUser(ctx, guestID); err != nil {
		return res, err
	}
	res.GuestDeleted = true
	return res, nil
}

// requireGuest returns the user's guest tags; ErrNotGuest when it exists
// without one, and ErrNotFound when it does not exist (GetUserByID, only on
// that failure path).
func (m *Manager) requireGuest(ctx context.Context, userID string) ([]guestTag, error) {
	tags, err := m.guestTags(ctx, userID)
	if err != nil || len(tags) > 0 {
		return tags, err
	}
	err = m.call(zitadel.Idempotent(ctx), zitadel.MethodGetUserByID, zitadel.UserIDRequest{UserID: userID}, &zitadel.GetUserByIDResponse{})
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %s", ErrNotGuest, userID)
}

// deleteUser deletes a user the caller has just found tagged as a guest;
// a user already gone counts as deleted.
func (m *Manager) deleteUser(ctx context.Context, userID string) error {
	err := m.call(zitadel.Idempotent(ctx), zitadel.MethodDeleteUser, zitadel.UserIDRequest{UserID: userID}, &zitadel.DeleteUserResponse{})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
