package signin

import (
	"errors"
	"fmt"
)

// ErrBadCallback is matched (errors.Is) by every error about a callback
// request that does not belong to a sign-in this browser started: a
// missing, unknown, tampered, expired or replayed state. The app should
// answer 400 and offer to sign in again; nothing was exchanged or merged.
var ErrBadCallback = errors.New("shadow: sign-in: bad callback")

// callbackError is a sentinel that also matches ErrBadCallback.
type callbackError struct{ msg string }

func (e *callbackError) Error() string        { return e.msg }
func (e *callbackError) Is(target error) bool { return target == ErrBadCallback }

// Errors about the state of a callback. Each matches [ErrBadCallback].
var (
	// ErrNoState: the callback has no "state" parameter.
	ErrNoState error = &callbackError{"shadow: sign-in: callback without state"}
	// ErrUnknownState: this browser holds no sign-in with the callback's
	// state: it was started in another browser (a login CSRF, or a link
	// someone sent), its cookie was planted by another site without this
	// browser's browser cookie, or it already expired and was dropped.
	ErrUnknownState error = &callbackError{"shadow: sign-in: no sign-in with this state was started in this browser"}
	// ErrInvalidState: the state cookie is malformed, forged, sealed with
	// an unknown key, or sealed for another state.
	ErrInvalidState error = &callbackError{"shadow: sign-in: invalid state cookie"}
	// ErrExpiredState: the sign-in was started longer ago than
	// Config.StateLifetime.
	ErrExpiredState error = &callbackError{"shadow: sign-in: sign-in expired"}
	// ErrReplayedState: this state was already used by a callback.
	ErrReplayedState error = &callbackError{"shadow: sign-in: state already used"}
)

// ErrAuthorization is matched by an [*AuthorizationError].
var ErrAuthorization = errors.New("shadow: sign-in: authorization failed")

// AuthorizationError is an error ZITADEL sent to the redirect URI instead
// of a code (RFC 6749 §4.1.2.1), such as "access_denied" when the user
// cancelled, or "login_required" for prompt=none. It matches
// [ErrAuthorization].
type AuthorizationError struct {
	Code        string // "error"
	Description string // "error_description"; text for humans, not for parsing
	URI         string // "error_uri"
}

func (e *AuthorizationError) Error() string {
	if e.Description == "" {
		return "shadow: sign-in: authorization failed: " + e.Code
	}
	return fmt.Sprintf("shadow: sign-in: authorization failed: %s: %s", e.Code, e.Description)
}

// Is matches ErrAuthorization.
func (e *AuthorizationError) Is(target error) bool { return target == ErrAuthorization }

// ErrExchange wraps a failed code exchange at the token endpoint (the
// *oauth2.RetrieveError, when ZITADEL answered, is reachable with
// errors.As): an invalid, expired or already redeemed code, a wrong PKCE
// verifier, or ZITADEL unreachable.
var ErrExchange = errors.New("shadow: sign-in: code exchange failed")

// ErrIssuerMismatch: the discovery document names another issuer than
// Config.Issuer (OpenID Connect Discovery 1.0 §4.3 requires them to be
// identical, trailing slash included).
var ErrIssuerMismatch = errors.New("shadow: sign-in: discovery issuer does not match")

// ErrNoEndSession: the provider announces no end_session_endpoint, so
// LogoutURL cannot send the browser to sign out at the provider.
var ErrNoEndSession = errors.New("shadow: sign-in: provider has no end_session_endpoint")

// ErrMergeDeferred is matched by a [*MergeError]: the guest could not be
// merged now. Its session cookie and its data are kept, and the merge is
// tried again at the next sign-in in this browser (or by MergeSession).
// Tell the user, for example "we'll move your cart at your next sign-in".
var ErrMergeDeferred = errors.New("shadow: sign-in: guest merge deferred")

// MergeError says why the guest could not be merged into the signed-in
// account. It matches [ErrMergeDeferred]; Err is the cause (for example
// shadow.ErrUnavailable, shadow.ErrGuestBusy or the cart store's error).
type MergeError struct {
	GuestID, UserID string
	Err             error
}

func (e *MergeError) Error() string {
	return fmt.Sprintf("shadow: sign-in: merge of guest %s into %s deferred: %v", e.GuestID, e.UserID, trimPrefix(e.Err))
}

// Is matches ErrMergeDeferred.
func (e *MergeError) Is(target error) bool { return target == ErrMergeDeferred }

// Unwrap returns the cause.
func (e *MergeError) Unwrap() error { return e.Err }

// ErrNoPendingMerge: ConfirmMerge found no pending merge in this browser
// for the signed-in user (none was asked for, it expired, or it belongs to
// another user).
var ErrNoPendingMerge = errors.New("shadow: sign-in: no pending merge")

// trimPrefix drops a leading "shadow: " so that a message says it once.
func trimPrefix(err error) string {
	s := err.Error()
	if len(s) > 8 && s[:8] == "shadow: " {
		return s[8:]
	}
	return s
}
