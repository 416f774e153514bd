package shadow

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// EmailVerification says how Upgrade treats the new e-mail address.
type EmailVerification int

const (
	// SendCode lets ZITADEL e-mail a verification code to the user (the
	// default). The address stays unverified until the user confirms it.
	SendCode EmailVerification = iota
	// ReturnCode has ZITADEL return the code instead of sending it, for
	// apps that deliver it themselves; it comes back in UpgradeResult.
	ReturnCode
	// VerifiedByApp marks the address verified. Use it only when the app
	// has itself proven that the user controls the address (docs/architecture.md
	// invariant 4): the SDK never assumes it.
	VerifiedByApp
)

// UpgradeResult is what Upgrade reports.
type UpgradeResult struct {
	// EmailCode is the verification code when Profile.Verification is
	// ReturnCode; empty otherwise.
	EmailCode string
}

// Upgrade turns a guest into a registered user in place: same user id, so
// the guest's cart and history stay theirs.
//
// It first reads the guest tag (ListUserMetadata; a read, retried) and
// returns [ErrNotGuest] for a user without one ([ErrNotFound] for no user),
// changing nothing. Then one UpdateUser (POST
// /zitadel.user.v2.UserService/UpdateUser, docs/zitadel.md §4.5, ZITADEL
// v4.13+) sets, as one atomic batch, the username (the e-mail), the
// profile, the e-mail, the password, and removes the tag (a metadata entry
// with an empty value). The e-mail is verified as p.Verification says:
// by default ZITADEL sends a code and the address stays unverified.
//
// The check and the update run under the guest's lock (see
// WithGuestLocker): ZITADEL has no conditional update, and without the lock
// a double-submitted form could upgrade the guest twice, overwriting the
// account the first request created.
//
// With WithLegacyMetadata (ZITADEL v4.1 to v4.12, whose UpdateUser has
// no metadata) the tag is removed by a DeleteUserMetadata after the
// UpdateUser succeeded, so a failure never leaves an untagged guest. A user
// left tagged after a successful UpdateUser has a password, so every guest
// check (Upgrade, MergeInto, Sweep) treats it as registered and leaves it
// alone; the stale tag stays (the SDK changes no registered user).
//
// UpdateUser is not idempotent and is sent once, without retries. A
// username change makes ZITADEL revoke the guest's tokens, so the app
// should clear the guest session (ClearSession) and log the user in.
//
// Errors: [ErrInvalidProfile] before any call; [ErrGuestBusy]; [ErrNotGuest]
// or [ErrNotFound]; [ErrEmailTaken] when another user holds the e-mail as
// username; [*PasswordPolicyError] (matching [ErrWeakPassword]) listing the
// unmet complexity rules; [*APIError] for other refusals, after which the
// user is unchanged. [ErrUnavailable] means ZITADEL's answer was lost: the
// upgrade may or may not have happened (it is all or nothing), and trying
// again tells which (ErrNotGuest once it did).
func (m *Manager) Upgrade(ctx context.Context, guestID string, p Profile) (res UpgradeResult, err error) {
	start := time.Now()
	defer func() { m.emit(Event{Kind: EventUpgraded, GuestID: guestID, Duration: time.Since(start), Err: err}) }()
	if guestID == "" {
		return UpgradeResult{}, errors.New("shadow: Upgrade: empty guest id")
	}
	email, err := checkProfile(p)
	if err != nil {
		return UpgradeResult{}, err
	}
	unlock, err := m.lockGuest(ctx, guestID)
	if err != nil {
		return UpgradeResult{}, err
	}
	defer unlock()
	tags, err := m.requireGuest(ctx, guestID)
	if err != nil {
		return UpgradeResult{}, err
	}
	req := upgradeRequest(guestID, email, p)
	if !m.cfg.legacyMetadata {
		for _, t := range tags {
			req.Metadata = append(req.Metadata, zitadel.Metadata{Key: t.Key, Value: []byte{}})
		}
	}
	var resp zitadel.UpdateUserResponse
	err = m.call(ctx, zitadel.MethodUpdateUser, req, &resp)
	switch {
	case isAPIError(err, "already_exists", ""):
		return UpgradeResult{}, errorf("%w: %w", ErrEmailTaken, err)
	case isPasswordRejection(err):
		return UpgradeResult{}, m.passwordPolicyError(ctx, p.Password, err)
	case err != nil:
		return UpgradeResult{}, err
	}
	if resp.EmailCode != nil {
		res.EmailCode = *resp.EmailCode
	}
	if m.cfg.legacyMetadata {
		if err := m.removeTags(ctx, guestID, tags); err != nil {
			return res, errorf("%w: %w", ErrTagNotRemoved, err)
		}
	}
	return res, nil
}

// ErrTagNotRemoved: with WithLegacyMetadata, the user was upgraded but
// the guest tag could not be removed afterwards. The user is registered and
// protected (it has a password, so no guest check accepts it); the stale
// tag stays.
var ErrTagNotRemoved = errors.New("shadow: user upgraded, guest tag not yet removed")

// upgradeRequest is the UpdateUser of an upgrade, without the tag removal.
func upgradeRequest(guestID, email string, p Profile) zitadel.UpdateUserRequest {
	given, family := strings.TrimSpace(p.GivenName), strings.TrimSpace(p.FamilyName)
	display := given + " " + family
	mail := &zitadel.SetHumanEmail{Email: email}
	switch p.Verification {
	case ReturnCode:
		mail.ReturnCode = &zitadel.ReturnCode{}
	case VerifiedByApp:
		verified := true
		mail.IsVerified = &verified
	default:
		mail.SendCode = &zitadel.SendCode{}
		if p.VerificationURL != "" {
			mail.SendCode.URLTemplate = &p.VerificationURL
		}
	}
	return zitadel.UpdateUserRequest{
		UserID:   guestID,
		Username: &email,
		Human: &zitadel.UpdateHuman{
			Profile:  &zitadel.UpdateHumanProfile{GivenName: &given, FamilyName: &family, DisplayName: &display},
			Email:    mail,
			Password: &zitadel.SetPassword{Password: &zitadel.Password{Password: p.Password}},
		},
	}
}

// removeTags deletes the guest tags with DeleteUserMetadata (idempotent,
// retried); an absent key (404 META-2nnds) counts as removed. Keys are
// deleted one call each so that one already gone does not fail the rest.
func (m *Manager) removeTags(ctx context.Context, userID string, tags []guestTag) error {
	for _, t := range tags {
		err := m.call(zitadel.Idempotent(ctx), zitadel.MethodDeleteUserMetadata,
			zitadel.DeleteUserMetadataRequest{UserID: userID, Keys: []string{t.Key}}, &zitadel.DeleteUserMetadataResponse{})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
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
	if p.Verification < SendCode || p.Verification > VerifiedByApp {
		problems = append(problems, fmt.Sprintf("unknown e-mail verification %d", p.Verification))
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("%w: %s", ErrInvalidProfile, strings.Join(problems, "; "))
	}
	return email, nil
}
