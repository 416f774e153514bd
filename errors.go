package shadow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

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
	// every retry, or EnsureGuest's own provisioning limits refused a new
	// guest ([*RateLimitError]).
	ErrRateLimited = errors.New("shadow: rate limited")
	// ErrInvalidProfile: an Upgrade profile is incomplete or malformed;
	// nothing was sent to ZITADEL.
	ErrInvalidProfile = errors.New("shadow: invalid profile")
	// ErrUnavailable: ZITADEL could not be reached or answered 502, 503 or
	// 504 (after every retry the request allowed); trying later may work.
	ErrUnavailable = errors.New("shadow: ZITADEL unavailable")
)

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
	var re *oauth2.RetrieveError // a token request of ClientCredentials
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return fmt.Errorf("shadow: ZITADEL %s: service token: %w", method,
			&OAuthError{HTTPStatus: status, Code: re.ErrorCode, Description: re.ErrorDescription})
	}
	var pa *APIError
	var po *OAuthError
	switch {
	case errors.As(err, &pa), errors.As(err, &po), errors.Is(err, ErrUnavailable), errors.Is(err, ErrNoSessionCodec):
		return fmt.Errorf("shadow: ZITADEL %s: %w", method, err) // already classified
	case ctx.Err() != nil:
		return fmt.Errorf("shadow: ZITADEL %s: %w", method, ctx.Err()) // the caller's ctx ended
	}
	// A network failure or a client timeout: the request may or may not
	// have reached ZITADEL.
	return fmt.Errorf("shadow: ZITADEL %s: %w: %w", method, ErrUnavailable, err)
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
