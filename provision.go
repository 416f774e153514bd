package shadow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// Provision creates a guest: one ZITADEL user in the configured
// organization, with an SDK-chosen user id (128 random bits in hex), the
// configured guest name, a synthetic unverified e-mail
// guest-<id>@<domain> (isVerified:false, so ZITADEL sends no mail), that
// address as username, and the guest tag as metadata, all written by one
// atomic CreateUser (POST /zitadel.user.v2.UserService/CreateUser,
// docs/zitadel.md §4.1; root metadata needs ZITADEL v4.13+).
//
// Because the id is chosen here, CreateUser is idempotent and retried on
// connection errors, 429, 502, 503 and 504; a retry answered with "user already
// exists" (COMMAND-7yiox1isql) means an earlier attempt succeeded. Errors:
// [*APIError] (matching [ErrPermissionDenied] or [ErrRateLimited] where
// they apply), ctx's error when it ends first.
func (m *Manager) Provision(ctx context.Context) (g Guest, err error) {
	start := time.Now()
	ctx = m.begin(ctx, EventProvisioned)
	defer func() {
		m.emit(ctx, Event{Kind: EventProvisioned, GuestID: g.ID, Duration: time.Since(start), Err: err})
	}()
	id, err := newGuestID()
	if err != nil {
		return Guest{}, err
	}
	created := m.now().UTC().Truncate(time.Second)
	email := "guest-" + id + "@" + m.cfg.emailDomain
	unverified := false
	req := zitadel.CreateUserRequest{
		OrganizationID: m.cfg.orgID,
		UserID:         &id,
		Username:       &email,
		Human: &zitadel.CreateHuman{
			Profile: &zitadel.SetHumanProfile{GivenName: m.cfg.guestName[0], FamilyName: m.cfg.guestName[1]},
			Email:   &zitadel.SetHumanEmail{Email: email, IsVerified: &unverified},
		},
	}
	if m.cfg.legacyMetadata {
		req.Human.Metadata = []zitadel.Metadata{m.tag(created)} // v4.0 to v4.12
	} else {
		req.Metadata = []zitadel.Metadata{m.tag(created)}
	}
	var resp zitadel.CreateUserResponse
	err = m.call(zitadel.Idempotent(ctx), zitadel.MethodCreateUser, req, &resp)
	if isAPIError(err, "failed_precondition", "COMMAND-7yiox1isql") {
		err = nil // an earlier attempt created the user; its answer was lost
	}
	if err != nil {
		return Guest{}, err
	}
	return Guest{ID: id, OrganizationID: m.cfg.orgID, CreatedAt: created}, nil
}

// newGuestID returns 128 random bits as 32 lowercase hex digits.
func newGuestID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
