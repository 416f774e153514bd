package zitadel

import (
	"encoding/json"
	"fmt"
	"strings"
)

// OAuth and OIDC endpoints at ZITADEL's default paths (docs/zitadel.md §7).
const (
	PathDiscovery           = "/.well-known/openid-configuration"
	PathAuthorize           = "/oauth/v2/authorize"
	PathToken               = "/oauth/v2/token"
	PathIntrospect          = "/oauth/v2/introspect"
	PathUserinfo            = "/oidc/v1/userinfo"
	PathRevoke              = "/oauth/v2/revoke"
	PathEndSession          = "/oidc/v1/end_session"
	PathKeys                = "/oauth/v2/keys"
	PathDeviceAuthorization = "/oauth/v2/device_authorization"
)

// Grant types.
const (
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	GrantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
)

// Token types of RFC 8693 §3 and ZITADEL's user-id subject type.
const (
	TokenTypeAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeIDToken      = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT          = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeUserID       = "urn:zitadel:params:oauth:token-type:user_id"
)

// Scopes and claims ZITADEL defines.
const (
	ScopeUserMetadata       = "urn:zitadel:iam:user:metadata"
	ScopeUserResourceOwner  = "urn:zitadel:iam:user:resourceowner"
	ScopeZitadelAPIAudience = "urn:zitadel:iam:org:project:id:zitadel:aud"
	ClaimUserMetadata       = "urn:zitadel:iam:user:metadata"
)

// ClientAssertionTypeJWTBearer is RFC 7523's client_assertion_type.
const ClientAssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// TokenResponse is the JSON of a successful token-endpoint answer, the
// union of RFC 6749 §5.1 and RFC 8693 §2.2.1.
type TokenResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type,omitempty"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in,omitempty"`
	Scope           string `json:"scope,omitempty"`
	RefreshToken    string `json:"refresh_token,omitempty"`
	IDToken         string `json:"id_token,omitempty"`
}

// OAuthErrorBody is the JSON of an OAuth error (RFC 6749 §5.2); Parent is
// set only with ZITADEL's debug_oidc_parent_error feature.
type OAuthErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
	Parent           string `json:"parent,omitempty"`
}

// OAuthError is a token-endpoint error with its HTTP status.
type OAuthError struct {
	HTTPStatus  int
	Code        string // RFC 6749 "error", e.g. "invalid_request"
	Description string // "error_description", e.g. "subject_token invalid"
}

func (e *OAuthError) Error() string {
	if e.Description == "" {
		return fmt.Sprintf("%s (HTTP %d)", e.Code, e.HTTPStatus)
	}
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.HTTPStatus, e.Description)
}

// ParseOAuthError reads an OAuth error body. A body without an "error"
// member gives Code "server_error" for 5xx and "invalid_response" otherwise,
// with the start of the body as Description. It never fails.
func ParseOAuthError(status int, body []byte) *OAuthError {
	var b OAuthErrorBody
	if json.Unmarshal(body, &b) == nil && b.Error != "" {
		return &OAuthError{HTTPStatus: status, Code: b.Error, Description: b.ErrorDescription}
	}
	code := "invalid_response"
	if status >= 500 {
		code = "server_error"
	}
	return &OAuthError{HTTPStatus: status, Code: code, Description: snippet(body)}
}

// ScopeContains reports whether the space-delimited scope string holds s.
func ScopeContains(scope, s string) bool {
	for _, f := range strings.Fields(scope) {
		if f == s {
			return true
		}
	}
	return false
}
