package shadow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// Sentinel errors. Match them with [errors.Is]; the errors the Manager
// returns wrap them together with the [*APIError] or [*OAuthError] that
// caused them, so [errors.As] still reaches the details.
var (
	// ErrNotFound: the user does not exist: ZITADEL answered not_found
	// (HTTP 404 with a ZITADEL error body), or the token exchange did not
	// know the subject_token.
	ErrNotFound = errors.New("shadow: not found")
	// ErrNotGuest: the target user lacks the guest tag, so the SDK refuses
	// to modify, impersonate or delete it (docs/architecture.md invariant 1).
	ErrNotGuest = errors.New("shadow: user is not a guest")
	// ErrTargetIsGuest: MergeInto's target account is itself a guest, so
	// the guest's data would move to another guest that the Sweep deletes;
	// the app passed a guest id where the logged-in account's id belongs.
	ErrTargetIsGuest = errors.New("shadow: merge target is a guest, not an account")
	// ErrEmailTaken: Upgrade collides with an existing account's e-mail or
	// username; the app should offer to log in and merge instead.
	ErrEmailTaken = errors.New("shadow: e-mail or username already taken")
	// ErrInvalidSession: a session cookie is tampered, forged, expired,
	// sealed with an unknown key or bound to another cookie name.
	ErrInvalidSession = errors.New("shadow: invalid session")
	// ErrNoSession: the request carries no session cookie.
	ErrNoSession = errors.New("shadow: no session")
	// ErrImpersonationDisabled: the instance security policy forbids
	// impersonation (enable "impersonation" in the instance settings).
	ErrImpersonationDisabled = errors.New("shadow: impersonation disabled in ZITADEL's security policy")
	// ErrPermissionDenied: the service account lacks a role ZITADEL requires
	// (IAM_USER_MANAGER, IAM_END_USER_IMPERSONATOR or their ORG_ variants).
	ErrPermissionDenied = errors.New("shadow: permission denied")
	// ErrRateLimited: ZITADEL answered 429 (or resource_exhausted) after
	// every retry, the egress breaker held the request back after such an
	// answer ([*UnavailableError]), or EnsureGuest's own provisioning limits
	// refused a new guest ([*RateLimitError]).
	ErrRateLimited = errors.New("shadow: rate limited")
	// ErrInvalidProfile: an Upgrade profile is incomplete or malformed;
	// nothing was sent to ZITADEL.
	ErrInvalidProfile = errors.New("shadow: invalid profile")
	// ErrUnavailable: ZITADEL could not be reached or answered 502, 503 or
	// 504 (after every retry the request allowed), or the egress breaker
	// held the request back ([*UnavailableError]); trying later may work.
	ErrUnavailable = errors.New("shadow: ZITADEL unavailable")
	// ErrNoClientID: Impersonate, the cookie helpers or the guest pool were
	// used on a Manager built without WithClientID, which the token
	// exchange needs.
	ErrNoClientID = errors.New("shadow: no client id: configure WithClientID for the token exchange")
	// ErrTLS: the TLS connection to ZITADEL failed: its certificate is not
	// trusted, expired or for another name, the handshake was refused, or
	// the port does not speak TLS. It is a configuration fault (the issuer
	// URL, the CA bundle of WithHTTPClient, a proxy), never retried, and it
	// does not match ErrUnavailable: trying later will not help.
	ErrTLS = errors.New("shadow: TLS connection to ZITADEL failed")
)

// UnavailableError is the error of a request the Manager did not send
// because ZITADEL answered 429 a moment ago: the egress breaker
// ([EgressBudget]) holds every request back until RetryAfter has passed.
// The cookie helpers get it at once when the wait is longer than a
// retry's (RetryOptions.MaxWait); other calls get it when their ctx's
// deadline comes before the breaker closes. It matches ErrUnavailable and
// ErrRateLimited. GuestRequired answers it with 503 and a Retry-After
// header.
type UnavailableError struct {
	Method     string        // the ZITADEL call held back, e.g. "CreateUser" or "token exchange"
	RetryAfter time.Duration // until the breaker closes
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("shadow: ZITADEL %s: not sent: ZITADEL rate-limited this client; retry in %v",
		e.Method, e.RetryAfter.Round(time.Millisecond))
}

// Is makes errors.Is(err, ErrUnavailable) and errors.Is(err, ErrRateLimited) true.
func (e *UnavailableError) Is(target error) bool {
	return target == ErrUnavailable || target == ErrRateLimited
}

// APIError is an error answer of ZITADEL's user service, parsed from the
// Connect body (code string, details[].debug) or the REST gateway body
// (numeric code, details[].@type), docs/zitadel.md §3.
type APIError struct {
	HTTPStatus int    // e.g. 400
	Code       string // Connect code, e.g. "failed_precondition"
	GRPCCode   int    // the same code as gRPC numbers it, e.g. 9
	ID         string // ZITADEL's error id, e.g. "COMMAND-7yiox1isql"; empty when the body had none
	Message    string // ZITADEL's (localized) message; not meant for parsing
	Method     string // the user-service RPC, e.g. "CreateUser"
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "shadow: ZITADEL %s: %s", e.Method, e.Code)
	if e.ID != "" {
		b.WriteString(" " + e.ID)
	}
	fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Is maps the error onto the sentinels callers act on: ErrNotFound for
// not_found, ErrPermissionDenied for permission_denied, ErrRateLimited for
// resource_exhausted or HTTP 429, and ErrUnavailable for unavailable,
// deadline_exceeded or HTTP 502, 503 and 504.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnavailable:
		return e.Code == "unavailable" || e.Code == "deadline_exceeded" || isGatewayStatus(e.HTTPStatus)
	case ErrNotFound:
		return e.Code == "not_found" && e.ID != "AUTHZ-cdgFk"
	case ErrPermissionDenied:
		return e.Code == "permission_denied" || e.ID == "AUTHZ-cdgFk"
	case ErrRateLimited:
		return e.Code == "resource_exhausted" || e.HTTPStatus == http.StatusTooManyRequests
	}
	return false
}

// OAuthError is an error answer of ZITADEL's token endpoint (RFC 6749
// §5.2), e.g. {"error":"invalid_request","error_description":"subject_token invalid"}.
type OAuthError struct {
	HTTPStatus  int    // e.g. 400; 403 when the impersonation policy is off
	Code        string // "error", e.g. "invalid_request", "invalid_scope", "unauthorized_client"
	Description string // "error_description"; ZITADEL puts untranslated message keys here
}

func (e *OAuthError) Error() string {
	s := fmt.Sprintf("shadow: ZITADEL token endpoint: %s (HTTP %d)", e.Code, e.HTTPStatus)
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Is maps the error onto the sentinels: ErrImpersonationDisabled for the
// security policy, ErrPermissionDenied for a missing impersonation role,
// ErrNotFound for an unknown subject, ErrRateLimited for HTTP 429 and
// ErrUnavailable for HTTP 502, 503 and 504 (docs/zitadel.md §6.6).
func (e *OAuthError) Is(target error) bool {
	switch target {
	case ErrUnavailable:
		return isGatewayStatus(e.HTTPStatus)
	case ErrImpersonationDisabled:
		return e.Description == "Errors.TokenExchange.Impersonation.PolicyDisabled"
	case ErrPermissionDenied:
		return e.HTTPStatus == http.StatusForbidden && e.Description != "Errors.TokenExchange.Impersonation.PolicyDisabled" ||
			e.Description == "membership not found"
	case ErrNotFound:
		return e.Code == "invalid_request" && e.Description == "subject_token invalid"
	case ErrRateLimited:
		return e.HTTPStatus == http.StatusTooManyRequests
	}
	return false
}

// apiErr converts the internal client's errors into the public types and
// names the operation; ctx is the caller's, to tell its end from a
// transport failure.
func apiErr(ctx context.Context, method string, err error) error {
	if err == nil {
		return nil
	}
	var se *zitadel.StatusError
	if errors.As(err, &se) {
		return &APIError{HTTPStatus: se.HTTPStatus, Code: se.Code.String(), GRPCCode: int(se.Code),
			ID: se.ID, Message: se.Message, Method: method}
	}
	var oe *zitadel.OAuthError
	if errors.As(err, &oe) {
		return &OAuthError{HTTPStatus: oe.HTTPStatus, Code: oe.Code, Description: oe.Description}
	}
	var open *zitadel.BreakerOpenError
	if errors.As(err, &open) {
		return &UnavailableError{Method: method, RetryAfter: open.RetryAfter}
	}
	if zitadel.IsTLSError(err) {
		return errorf("ZITADEL %s: %w (not retried; check the issuer URL, the CA bundle of WithHTTPClient and any proxy): %w",
			method, ErrTLS, err)
	}
	var re *oauth2.RetrieveError // a token request of ClientCredentials
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return errorf("ZITADEL %s: service token: %w", method,
			&OAuthError{HTTPStatus: status, Code: re.ErrorCode, Description: re.ErrorDescription})
	}
	var pa *APIError
	var po *OAuthError
	switch {
	case errors.As(err, &pa), errors.As(err, &po), errors.Is(err, ErrUnavailable), errors.Is(err, ErrTLS),
		errors.Is(err, ErrNoSessionCodec):
		return errorf("ZITADEL %s: %w", method, err) // already classified
	case ctx.Err() != nil:
		return errorf("ZITADEL %s: %w", method, ctx.Err()) // the caller's ctx ended
	}
	// A network failure or a client timeout: the request may or may not
	// have reached ZITADEL.
	return errorf("ZITADEL %s: %w: %w", method, ErrUnavailable, err)
}

// errorf is fmt.Errorf for the SDK's own messages: the result starts with
// "shadow: " exactly once, however many wrapped errors repeat the prefix
// (": shadow: " becomes ": "). errors.Is and errors.As see every %w.
func errorf(format string, a ...any) error {
	err := fmt.Errorf(format, a...)
	msg := strings.TrimPrefix(err.Error(), prefix)
	return &sdkError{msg: prefix + strings.ReplaceAll(msg, ": "+prefix, ": "), err: err}
}

const prefix = "shadow: "

type sdkError struct {
	msg string
	err error // fmt.Errorf's error, for its wrapped errors
}

func (e *sdkError) Error() string { return e.msg }

func (e *sdkError) Unwrap() []error {
	switch u := e.err.(type) {
	case interface{ Unwrap() []error }:
		return u.Unwrap()
	case interface{ Unwrap() error }:
		return []error{u.Unwrap()}
	}
	return nil
}

func isGatewayStatus(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// isAPIError reports whether err is an *APIError with the given Connect code
// (and, when id is not empty, the given ZITADEL error id).
func isAPIError(err error, code, id string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code && (id == "" || ae.ID == id)
}
