package zitadeltest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// Userinfo, introspection, revocation and end session (docs/zitadel.md §7).

// serveUserinfo answers GET or POST /oidc/v1/userinfo for an access token
// the server issued: the claims of the token's scopes, never act.
func (s *Server) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	setOp(r, OpUserinfo)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, invalidRequest("error parsing form"))
		return
	}
	raw := r.Form.Get("access_token")
	if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		raw = h
	}
	if raw == "" {
		writeOAuthError(w, oauthErr(http.StatusUnauthorized, "invalid_request", "access token missing"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupToken(raw)
	if t == nil {
		writeOAuthError(w, oauthErr(http.StatusUnauthorized, "access_denied", "access token invalid"))
		return
	}
	u := s.st.users[t.userID]
	if u == nil {
		writeOAuthError(w, oauthErr(http.StatusUnauthorized, "access_denied", "no active user"))
		return
	}
	writeJSON(w, http.StatusOK, s.st.userClaims(u, t.scopes, true))
}

// serveIntrospect answers POST /oauth/v2/introspect. The client must
// authenticate with a secret or an assertion; a token that is invalid,
// expired or not meant for the client's project is inactive.
func (s *Server) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	setOp(r, OpIntrospect)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, invalidRequest("error parsing form"))
		return
	}
	cc, oerr := parseClientCredentials(r)
	if oerr == nil && cc.secret == "" && cc.assertion == "" {
		oerr = oauthErr(http.StatusBadRequest, "invalid_client", "client must be authenticated")
	}
	if oerr == nil && r.Form.Get("token") == "" {
		oerr = invalidRequest("token missing")
	}
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	a, oerr := st.verifyClient(r, s.Issuer())
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	t := st.lookupToken(r.Form.Get("token"))
	if t == nil || (!slices.Contains(t.audience, a.clientID) && !slices.Contains(t.audience, st.projectID)) {
		writeJSON(w, http.StatusOK, map[string]bool{"active": false})
		return
	}
	u := st.users[t.userID]
	resp := st.userClaims(u, t.scopes, true)
	resp["active"] = true
	resp["scope"] = joinScopes(t.scopes)
	resp["client_id"] = t.clientID
	resp["token_type"] = "Bearer"
	resp["iss"] = s.Issuer()
	resp["aud"] = t.audience
	resp["jti"] = t.id
	resp["username"] = u.username
	resp["iat"] = t.issuedAt.Unix()
	resp["nbf"] = t.issuedAt.Unix()
	if !t.expiresAt.IsZero() {
		resp["exp"] = t.expiresAt.Unix()
	}
	if !t.authTime.IsZero() {
		resp["auth_time"] = t.authTime.Unix()
	}
	if len(t.amr) > 0 {
		resp["amr"] = t.amr
	}
	if t.actor != nil {
		resp["act"] = t.actor.claims()
	}
	writeJSON(w, http.StatusOK, resp)
}

// serveRevoke answers POST /oauth/v2/revoke: the client's access or
// refresh token is revoked; unknown tokens are not an error (RFC 7009).
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	setOp(r, OpRevoke)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, invalidRequest("error parsing form"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	a, oerr := st.verifyClient(r, s.Issuer())
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	raw := r.Form.Get("token")
	if raw == "" {
		writeOAuthError(w, invalidRequest("token missing"))
		return
	}
	if rt := st.refresh[raw]; rt != nil && rt.clientID == a.clientID {
		rt.revoked = true
	}
	if t := st.lookupToken(raw); t != nil && t.kind == tokenAccess && t.clientID == a.clientID {
		t.revoked = true
	}
	w.WriteHeader(http.StatusOK)
}

// serveEndSession answers /oidc/v1/end_session: the session named by the
// id_token_hint ends (its tokens are revoked), then the browser goes to
// post_logout_redirect_uri when it is registered for the client.
func (s *Server) serveEndSession(w http.ResponseWriter, r *http.Request) {
	setOp(r, OpEndSession)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, invalidRequest("error parsing form"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	clientID := r.Form.Get("client_id")
	if ua := userAgentID(w, r, false); ua != "" {
		delete(st.browsers.sessions, ua) // this browser's login session ends
	}
	if payload, ok := st.verifyJWT(r.Form.Get("id_token_hint")); ok {
		var c struct {
			SID string `json:"sid"`
			AZP string `json:"azp"`
		}
		if json.Unmarshal(payload, &c) == nil {
			st.endSession(c.SID)
			if clientID == "" {
				clientID = c.AZP
			}
		}
	}
	target := r.Form.Get("post_logout_redirect_uri")
	if a := st.apps[clientID]; a != nil && target != "" && slices.Contains(a.redirectURIs, target) {
		q := map[string][]string{}
		if state := r.Form.Get("state"); state != "" {
			q["state"] = []string{state}
		}
		http.Redirect(w, r, withQuery(target, q), http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("<!DOCTYPE html><html lang=\"en\"><body><p>You are signed out.</p></body></html>\n"))
}

func (st *state) endSession(sessionID string) {
	if sessionID == "" {
		return
	}
	st.endLoginSessions(sessionID)
	for _, t := range st.tokens {
		if t.sessionID == sessionID {
			t.revoked = true
		}
	}
	for _, rt := range st.refresh {
		if rt.sessionID == sessionID {
			rt.revoked = true
		}
	}
}

// serveDiscovery answers /.well-known/openid-configuration with the keys
// ZITADEL's createDiscoveryConfig sets.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	setOp(r, OpDiscovery)
	issuer := s.discoveryIssuer()
	if issuer == s.URL {
		issuer = s.Issuer() // with WithTrailingSlashIssuer's slash
	}
	iss := strings.TrimSuffix(issuer, "/") // endpoints hang off the issuer without its slash
	methods := []string{"none", "client_secret_basic", "client_secret_post", "private_key_jwt"}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                                   issuer,
		"authorization_endpoint":                                   iss + zitadel.PathAuthorize,
		"token_endpoint":                                           iss + zitadel.PathToken,
		"introspection_endpoint":                                   iss + zitadel.PathIntrospect,
		"userinfo_endpoint":                                        iss + zitadel.PathUserinfo,
		"revocation_endpoint":                                      iss + zitadel.PathRevoke,
		"end_session_endpoint":                                     iss + zitadel.PathEndSession,
		"device_authorization_endpoint":                            iss + zitadel.PathDeviceAuthorization,
		"jwks_uri":                                                 iss + zitadel.PathKeys,
		"scopes_supported":                                         []string{"openid", "profile", "email", "phone", "address", "offline_access"},
		"response_types_supported":                                 []string{"code", "id_token", "id_token token"},
		"response_modes_supported":                                 []string{"query", "fragment", "form_post"},
		"grant_types_supported":                                    []string{"authorization_code", "implicit", "refresh_token", "client_credentials", zitadel.GrantJWTBearer, "urn:ietf:params:oauth:grant-type:device_code"},
		"subject_types_supported":                                  []string{"public"},
		"id_token_signing_alg_values_supported":                    []string{"EdDSA", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"},
		"request_object_signing_alg_values_supported":              []string{"RS256"},
		"token_endpoint_auth_methods_supported":                    methods,
		"token_endpoint_auth_signing_alg_values_supported":         []string{"RS256"},
		"revocation_endpoint_auth_methods_supported":               methods,
		"revocation_endpoint_auth_signing_alg_values_supported":    []string{"RS256"},
		"introspection_endpoint_auth_methods_supported":            []string{"client_secret_basic", "private_key_jwt"},
		"introspection_endpoint_auth_signing_alg_values_supported": []string{"RS256"},
		"claims_supported": []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr",
			"c_hash", "at_hash", "act", "scopes", "client_id", "azp", "preferred_username", "name", "family_name",
			"given_name", "locale", "email", "email_verified", "phone_number", "phone_number_verified"},
		"code_challenge_methods_supported":     []string{"S256"},
		"ui_locales_supported":                 []string{"bg", "cs", "de", "en", "es", "fr", "hu", "id", "it", "ja", "ko", "mk", "nl", "pl", "pt", "ru", "sv", "zh"},
		"request_parameter_supported":          true,
		"request_uri_parameter_supported":      false,
		"backchannel_logout_supported":         true,
		"backchannel_logout_session_supported": true,
	})
}
