package zitadeltest

import (
	"net/http"
	"slices"
)

// Knobs that reproduce a misconfigured instance or a ZITADEL release with a
// known regression, for tests of configuration checks. Each is off by
// default; the seeded state is a working setup.

// misconfig holds the knobs' state, part of the server's state.
type misconfig struct {
	version         string // GetInstance's version; "" is DefaultVersion
	discoveryIssuer string // discovery's "issuer"; "" is the server's URL
	scopeRegression bool   // v4.15.3's token-exchange scope rule
}

// SetDiscoveryIssuer makes discovery announce issuer instead of the
// server's URL, as ZITADEL does when its ExternalDomain, ExternalPort or
// ExternalSecure differ from the address a client uses; "" restores it.
// Only discovery changes: tokens keep the server's URL as "iss".
func (s *Server) SetDiscoveryIssuer(issuer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.misconfig.discoveryIssuer = issuer
}

// discoveryIssuer is the issuer discovery announces.
func (s *Server) discoveryIssuer() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if iss := s.st.misconfig.discoveryIssuer; iss != "" {
		return iss
	}
	return s.URL
}

// RevokeTokens revokes every personal access token, access token and
// refresh token of the user, as deleting its PATs and ending its sessions
// in the console does: API calls with them answer 401 Errors.Token.Invalid
// (AUTH-7fs1e). It reports whether the user exists.
func (s *Server) RevokeTokens(userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.users[userID] == nil {
		return false
	}
	s.st.revokeUserTokens(userID, true)
	return true
}

// SetScopeRegression reproduces ZITADEL v4.15.3 up to the fix of PR #12312
// (issues #12319, #12322): on the impersonation path every requested scope
// must be on both the subject and the actor token, so user_id impersonation
// with any scope fails with invalid_scope "scope \"openid\" not found in
// subject or actor token" (docs/zitadel.md §6.3). Off by default.
func (s *Server) SetScopeRegression(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.misconfig.scopeRegression = on
}

// regressedScopes applies v4.15.3's scope rule when SetScopeRegression is on.
func (st *state) regressedScopes(requested, subject, actor []string, actorPath bool) *oauthError {
	if !st.misconfig.scopeRegression || !actorPath {
		return nil
	}
	for _, sc := range requested {
		if sc != "" && (!slices.Contains(subject, sc) || !slices.Contains(actor, sc)) {
			return oauthErr(http.StatusBadRequest, "invalid_scope", "scope %q not found in subject or actor token", sc)
		}
	}
	return nil
}
