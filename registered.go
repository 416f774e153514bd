package shadow

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// demoEmailDomain is the domain of the official demo's guest addresses
// (guest_<time>_<random>@temp.local, docs/zitadel.md §8.3), accepted for
// users carrying the demo's daily tags so that apps can migrate.
const demoEmailDomain = "temp.local"

// registered reports whether u shows a sign of a registered user that a
// guest never has (docs/architecture.md invariant 8): a machine user, a
// password, a verified e-mail, or an e-mail that is not on the guest
// domain (WithGuestEmailDomain, or the official demo's temp.local). The SDK
// never changes, deletes or impersonates such a user, whatever its
// metadata says: a tag can outlive an upgrade with WithLegacyMetadata, or
// the official demo's upgrade.
func (m *Manager) registered(u zitadel.User) bool {
	if u.Human == nil || u.Machine != nil {
		return true
	}
	h := u.Human
	if !h.PasswordChanged.IsZero() || h.Email == nil || h.Email.IsVerified {
		return true
	}
	_, domain, ok := strings.Cut(h.Email.Email, "@")
	return !ok || !strings.EqualFold(domain, m.cfg.emailDomain) && !strings.EqualFold(domain, demoEmailDomain)
}

// guestState is a user as read fresh from ZITADEL for a guest check.
type guestState struct {
	tags       []guestTag
	listed     bool // still matched by Sweep's ListUsers filter
	registered bool // m.registered of the user
}

// readGuest reads the user (GetUserByID) and its guest tags
// (ListUserMetadata) concurrently: one round trip of latency, two reads,
// retried. ErrNotFound when the user does not exist. Callers that go on to
// write hold the guest's lock.
func (m *Manager) readGuest(ctx context.Context, userID string) (guestState, error) {
	var g guestState
	var resp zitadel.GetUserByIDResponse
	var userErr, tagErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		userErr = m.call(zitadel.Idempotent(ctx), zitadel.MethodGetUserByID, zitadel.UserIDRequest{UserID: userID}, &resp)
	})
	wg.Go(func() { g.tags, g.listed, tagErr = m.guestTags(ctx, userID) })
	wg.Wait()
	switch {
	case userErr != nil:
		return guestState{}, userErr
	case resp.User == nil:
		return guestState{}, fmt.Errorf("%w: user %s", ErrNotFound, userID)
	case tagErr != nil:
		return guestState{}, tagErr
	}
	g.registered = m.registered(*resp.User)
	return g, nil
}

// requireGuest returns the user's guest tags when it is a guest: tagged
// and without any sign of a registered user, both read fresh (readGuest).
// ErrNotFound when the user does not exist, ErrNotGuest otherwise. Callers
// hold the guest's lock.
func (m *Manager) requireGuest(ctx context.Context, userID string) ([]guestTag, error) {
	g, err := m.readGuest(ctx, userID)
	if err != nil {
		return nil, err
	}
	if len(g.tags) == 0 || g.registered {
		return nil, fmt.Errorf("%w: %s", ErrNotGuest, userID)
	}
	return g.tags, nil
}

// refuseRegistered reads the user (GetUserByID) and returns ErrNotGuest
// for a registered one, ErrNotFound for none: Impersonate's check, run
// concurrently with the token exchange.
func (m *Manager) refuseRegistered(ctx context.Context, userID string) error {
	var resp zitadel.GetUserByIDResponse
	if err := m.call(zitadel.Idempotent(ctx), zitadel.MethodGetUserByID, zitadel.UserIDRequest{UserID: userID}, &resp); err != nil {
		return err
	}
	switch {
	case resp.User == nil:
		return fmt.Errorf("%w: user %s", ErrNotFound, userID)
	case m.registered(*resp.User):
		return fmt.Errorf("%w: %s is a registered user", ErrNotGuest, userID)
	}
	return nil
}
