package shadow

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// Upgrade turns a guest into a registered user in place: same user id, so
// the guest's cart and history stay theirs.
//
// It first reads the guest tag (ListUserMetadata; a read, retried) and
// returns [ErrNotGuest] for a user without one ([ErrNotFound] for no user),
// changing nothing. Then one
// UpdateUser (POST /zitadel.user.v2.UserService/UpdateUser, zitadel-wire.md
// §4.5, ZITADEL v4.13+) sets, as one atomic batch, the username (the
// e-mail), the profile, the e-mail, the password, and removes the tag (a
// metadata entry with an empty value). The e-mail is never marked
// verified: ZITADEL sends the user a verification code.
//
// UpdateUser is not idempotent and is sent once, without retries. A
// username change makes ZITADEL revoke the guest's tokens, so the app
// should clear the guest session (ClearSession) and log the user in.
//
// Errors: [ErrInvalidProfile] before any call; [ErrNotGuest];
// [ErrEmailTaken] when another user holds the e-mail as username;
// [*APIError] for the rest (a password the complexity policy refuses is an
// invalid_argument with ZITADEL's DOMAIN-* id, and nothing changed).
func (m *Manager) Upgrade(ctx context.Context, guestID string, p Profile) error {
	if guestID == "" {
		return errors.New("shadow: Upgrade: empty guest id")
	}
	email, err := checkProfile(p)
	if err != nil {
		return err
	}
	tags, err := m.requireGuest(ctx, guestID)
	if err != nil {
		return err
	}
	given, family := strings.TrimSpace(p.GivenName), strings.TrimSpace(p.FamilyName)
	display := given + " " + family
	req := zitadel.UpdateUserRequest{
		UserID:   guestID,
		Username: &email,
		Human: &zitadel.UpdateHuman{
			Profile:  &zitadel.UpdateHumanProfile{GivenName: &given, FamilyName: &family, DisplayName: &display},
			Email:    &zitadel.SetHumanEmail{Email: email, SendCode: &zitadel.SendCode{}},
			Password: &zitadel.SetPassword{Password: &zitadel.Password{Password: p.Password}},
		},
	}
	for _, t := range tags {
		req.Metadata = append(req.Metadata, zitadel.Metadata{Key: t.Key, Value: []byte{}})
	}
	err = m.call(ctx, zitadel.MethodUpdateUser, req, &zitadel.UpdateUserResponse{})
	if isAPIError(err, "already_exists", "") {
		return fmt.Errorf("%w: %w", ErrEmailTaken, err)
	}
	return err
}

// checkProfile validates p as ZITADEL would, so that bad input fails
// before any call; it returns the normalized e-mail address.
func checkProfile(p Profile) (string, error) {
	var problems []string
	for _, f := range []struct{ name, v string }{{"given name", p.GivenName}, {"family name", p.FamilyName}} {
		if n := utf8.RuneCountInString(strings.TrimSpace(f.v)); n < 1 || n > 200 {
			problems = append(problems, f.name+" must be 1 to 200 characters")
		}
	}
	email := strings.TrimSpace(p.Email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" || len(email) > 200 {
		problems = append(problems, fmt.Sprintf("e-mail %q is not a plain address", p.Email))
	}
	if p.Password == "" || utf8.RuneCountInString(p.Password) > 200 {
		problems = append(problems, "password must be 1 to 200 characters")
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("%w: %s", ErrInvalidProfile, strings.Join(problems, "; "))
	}
	return email, nil
}
