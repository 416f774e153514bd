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
	// GuestID is the guest upgraded and AccountID the account that
	// survives it: the same user id, since Upgrade works in place. Apps
	// alias analytics ids by them as for MergeResult
	// (docs/identity-stitching.md).
	GuestID, AccountID string
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
// again tells which (ErrNotGuest once it did); Upgrade reads the user once
// then, and if it is registered, the guest's old sessions end at once.
func (m *Manager) Upgrade(ctx context.Context, guestID string, p Profile) (res UpgradeResult, err error) {
	start := time.Now()
	res.GuestID, res.AccountID = guestID, guestID
	ctx = m.begin(ctx, EventUpgraded)
	defer func() {
		m.emit(ctx, Event{Kind: EventUpgraded, GuestID: guestID, UserID: guestID, Duration: time.Since(start), Err: err})
	}()
	if guestID == "" {
		return res, errors.New("shadow: Upgrade: empty guest id")
	}
	email, err := checkProfile(p)
	if err != nil {
		return res, err
	}
	resp, err := m.upgradeInPlace(ctx, guestID, upgradeRequest(guestID, email, p), p.Password)
	if resp.EmailCode != nil {
		res.EmailCode = *resp.EmailCode
	}
	return res, err
}

// upgradeInPlace runs the guest check and the UpdateUser of an upgrade
// under the guest's lock, adding the tag removal to req (or, with
// WithLegacyMetadata, removing the tags after it). password is checked
// against the complexity policy when ZITADEL refuses it. A non-nil error
// with a non-zero response is ErrTagNotRemoved: the user is upgraded.
func (m *Manager) upgradeInPlace(ctx context.Context, guestID string, req zitadel.UpdateUserRequest, password string) (zitadel.UpdateUserResponse, error) {
	unlock, err := m.lockGuest(ctx, guestID)
	if err != nil {
		return zitadel.UpdateUserResponse{}, err
	}
	defer unlock()
	tags, err := m.requireGuest(ctx, guestID)
	if err != nil {
		return zitadel.UpdateUserResponse{}, err
	}
	if !m.cfg.legacyMetadata {
		for _, t := range tags {
			req.Metadata = append(req.Metadata, zitadel.Metadata{Key: t.Key, Value: []byte{}})
		}
	}
	var resp zitadel.UpdateUserResponse
	err = m.call(ctx, zitadel.MethodUpdateUser, req, &resp)
	switch {
	case isAPIError(err, "already_exists", ""):
		return zitadel.UpdateUserResponse{}, errorf("%w: %w", ErrEmailTaken, err)
	case password != "" && isPasswordRejection(err):
		return zitadel.UpdateUserResponse{}, m.passwordPolicyError(ctx, password, err)
	case errors.Is(err, ErrUnavailable):
		m.buryIfUpgraded(ctx, guestID)
		return zitadel.UpdateUserResponse{}, err
	case err != nil:
		return zitadel.UpdateUserResponse{}, err
	}
	m.recordUpgraded(ctx, guestID) // docs/architecture.md invariant 6, across replicas
	if m.cfg.legacyMetadata {
		if err := m.removeTags(ctx, guestID, tags); err != nil {
			return resp, errorf("%w: %w", ErrTagNotRemoved, err)
		}
	}
	return resp, nil
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
	email, problems := checkIdentity(p.GivenName, p.FamilyName, p.Email)
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

// checkIdentity checks names and e-mail as ZITADEL would; it returns the
// normalized address and the problems found.
func checkIdentity(givenName, familyName, address string) (string, []string) {
	var problems []string
	for _, f := range []struct{ name, v string }{{"given name", givenName}, {"family name", familyName}} {
		if n := utf8.RuneCountInString(strings.TrimSpace(f.v)); n < 1 || n > 200 {
			problems = append(problems, f.name+" must be 1 to 200 characters")
		}
	}
	email := strings.TrimSpace(address)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" || len(email) > 200 {
		problems = append(problems, fmt.Sprintf("e-mail %q is not a plain address", address))
	}
	return email, problems
}

// FirstCredential is how a user upgraded by [Manager.UpgradeWithoutPassword]
// sets up their first credential at ZITADEL.
type FirstCredential int

const (
	// InviteCode creates ZITADEL's invite code (CreateInviteCode): the user
	// verifies the e-mail address with it and then chooses a password, a
	// passkey or an identity provider, as the organization's login policy
	// allows. The default.
	InviteCode FirstCredential = iota
	// PasskeyLink creates a passkey registration link
	// (CreatePasskeyRegistrationLink): a one-time code with which the user
	// registers a passkey without signing in.
	PasskeyLink
)

// PasswordlessProfile is what UpgradeWithoutPassword sets: the profile and
// e-mail address, and how the user gets their first credential.
type PasswordlessProfile struct {
	GivenName  string // 1 to 200 characters
	FamilyName string // 1 to 200 characters
	Email      string // becomes the username and the e-mail address
	// Credential says how the user sets up a credential: InviteCode (the
	// default) or PasskeyLink.
	Credential FirstCredential
	// ReturnCode returns the code in the result instead of ZITADEL mailing
	// it, for apps that deliver it themselves.
	ReturnCode bool
	// URLTemplate is the link in ZITADEL's mail: {{.UserID}}, {{.OrgID}},
	// {{.Code}}, and for PasskeyLink {{.CodeID}}. Empty for ZITADEL's own
	// page. Ignored with ReturnCode.
	URLTemplate string
	// ApplicationName names the app in the invite mail (InviteCode only;
	// ZITADEL's default "ZITADEL").
	ApplicationName string
	// Verification applies to PasskeyLink: how the e-mail address is
	// verified, as in Profile (SendCode by default). With InviteCode,
	// verifying the invite code verifies the address, so no separate
	// verification mail is sent.
	Verification EmailVerification
}

// PasswordlessResult holds the codes UpgradeWithoutPassword returns with
// ReturnCode.
type PasswordlessResult struct {
	// GuestID is the guest upgraded and AccountID the account that
	// survives it: the same user id, as for UpgradeResult.
	GuestID, AccountID string
	// InviteCode is the invite code (InviteCode with ReturnCode).
	InviteCode string
	// PasskeyCodeID and PasskeyCode are the passkey registration code
	// (PasskeyLink with ReturnCode).
	PasskeyCodeID, PasskeyCode string
	// EmailCode is the e-mail verification code (PasskeyLink with
	// Verification ReturnCode).
	EmailCode string
}

// ErrCredentialNotCreated: UpgradeWithoutPassword upgraded the user (the
// tag is gone, the profile set), but ZITADEL did not create the invite
// code or passkey link; the cause is wrapped. The user cannot sign in until
// they have a credential; send them through the hosted sign-up or ask your
// support to send an invite.
var ErrCredentialNotCreated = errors.New("shadow: user upgraded, first credential not created")

// credentialError is ErrCredentialNotCreated with its cause, saying
// "shadow:" once.
type credentialError struct{ cause error }

func (e credentialError) Error() string {
	return ErrCredentialNotCreated.Error() + ": " + strings.TrimPrefix(e.cause.Error(), "shadow: ")
}
func (e credentialError) Is(target error) bool { return target == ErrCredentialNotCreated }
func (e credentialError) Unwrap() error        { return e.cause }

// UpgradeWithoutPassword turns a guest into a registered user in place
// (same user id, so the cart stays theirs) without a password from the
// app's own form: for apps that offer passkeys or social login, or let
// ZITADEL collect the password.
//
// Like Upgrade it checks the guest tag (ListUserMetadata, retried) under
// the guest's lock and then sends one atomic UpdateUser (not retried) that
// sets the username (the e-mail), the profile and the e-mail address, and
// removes the tag; no password. Then it creates the first credential (not
// retried: each call makes a new code and mail), docs/zitadel-signin.md §2:
//
//   - InviteCode: POST /zitadel.user.v2.UserService/CreateInviteCode;
//   - PasskeyLink: POST /zitadel.user.v2.UserService/CreatePasskeyRegistrationLink.
//
// Errors: [ErrInvalidProfile] before any call; [ErrGuestBusy]; [ErrNotGuest]
// or [ErrNotFound]; [ErrEmailTaken]; [*APIError] for other refusals of the
// UpdateUser, after which the user is unchanged; [ErrUnavailable] as for
// Upgrade; [ErrCredentialNotCreated] (wrapping the cause) when the user is
// upgraded but the code could not be created. Safe for concurrent use.
func (m *Manager) UpgradeWithoutPassword(ctx context.Context, guestID string, p PasswordlessProfile) (res PasswordlessResult, err error) {
	start := time.Now()
	res.GuestID, res.AccountID = guestID, guestID
	ctx = m.begin(ctx, EventUpgraded)
	defer func() {
		m.emit(ctx, Event{Kind: EventUpgraded, GuestID: guestID, UserID: guestID, Duration: time.Since(start), Err: err})
	}()
	if guestID == "" {
		return res, errors.New("shadow: UpgradeWithoutPassword: empty guest id")
	}
	email, problems := checkIdentity(p.GivenName, p.FamilyName, p.Email)
	if p.Credential != InviteCode && p.Credential != PasskeyLink {
		problems = append(problems, fmt.Sprintf("unknown first credential %d", p.Credential))
	}
	if p.Verification < SendCode || p.Verification > VerifiedByApp {
		problems = append(problems, fmt.Sprintf("unknown e-mail verification %d", p.Verification))
	}
	if len(p.URLTemplate) > 200 || len(p.ApplicationName) > 200 {
		problems = append(problems, "URL template and application name must be at most 200 characters")
	}
	if len(problems) > 0 {
		return res, fmt.Errorf("%w: %s", ErrInvalidProfile, strings.Join(problems, "; "))
	}
	verification := p.Verification
	if p.Credential == InviteCode {
		// Verifying the invite code verifies the address (ZITADEL's
		// VerifyInviteCode); a code returned here is dropped unsent.
		verification = ReturnCode
	}
	req := upgradeRequest(guestID, email, Profile{GivenName: p.GivenName, FamilyName: p.FamilyName, Verification: verification,
		VerificationURL: ""})
	req.Human.Password = nil
	resp, err := m.upgradeInPlace(ctx, guestID, req, "")
	if err != nil && !errors.Is(err, ErrTagNotRemoved) {
		return res, err
	}
	if resp.EmailCode != nil && p.Credential == PasskeyLink {
		res.EmailCode = *resp.EmailCode
	}
	if cerr := m.createFirstCredential(ctx, guestID, p, &res); cerr != nil {
		return res, credentialError{cerr}
	}
	return res, err
}

// createFirstCredential sends CreateInviteCode or
// CreatePasskeyRegistrationLink for a user just upgraded.
func (m *Manager) createFirstCredential(ctx context.Context, userID string, p PasswordlessProfile, res *PasswordlessResult) error {
	optional := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	if p.Credential == PasskeyLink {
		req := zitadel.CreatePasskeyRegistrationLinkRequest{UserID: userID}
		if p.ReturnCode {
			req.ReturnCode = &zitadel.ReturnPasskeyRegistrationCode{}
		} else {
			req.SendLink = &zitadel.SendPasskeyRegistrationLink{URLTemplate: optional(p.URLTemplate)}
		}
		var resp zitadel.CreatePasskeyRegistrationLinkResponse
		if err := m.call(ctx, zitadel.MethodCreatePasskeyRegistrationLink, req, &resp); err != nil {
			return err
		}
		if resp.Code != nil {
			res.PasskeyCodeID, res.PasskeyCode = resp.Code.ID, resp.Code.Code
		}
		return nil
	}
	req := zitadel.CreateInviteCodeRequest{UserID: userID}
	if p.ReturnCode {
		req.ReturnCode = &zitadel.ReturnInviteCode{}
	} else {
		req.SendCode = &zitadel.SendInviteCode{URLTemplate: optional(p.URLTemplate), ApplicationName: optional(p.ApplicationName)}
	}
	var resp zitadel.CreateInviteCodeResponse
	if err := m.call(ctx, zitadel.MethodCreateInviteCode, req, &resp); err != nil {
		return err
	}
	if resp.InviteCode != nil {
		res.InviteCode = *resp.InviteCode
	}
	return nil
}

// buryIfUpgraded runs after an UpdateUser whose answer was lost: when the
// user now reads as registered, the upgrade happened, and the guest's old
// sessions end at once (docs/architecture.md invariant 6) although the
// caller reports the ambiguity. One GetUserByID, on its own short timeout.
func (m *Manager) buryIfUpgraded(ctx context.Context, guestID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if errors.Is(m.refuseRegistered(ctx, guestID), ErrNotGuest) {
		m.tombs.bury(guestID, EndUpgraded, m.now(), m.cfg.idleTimeout)
		m.recordUpgraded(ctx, guestID)
	}
}
