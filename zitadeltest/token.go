package zitadeltest

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// The token endpoint (POST /oauth/v2/token), routed by grant type as
// zitadel/oidc's tokensHandler does, with its client authentication.

// serveToken answers the token endpoint. Every grant but jwt-bearer
// authenticates the client first and checks that the grant is allowed.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	setOp(r, OpToken)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, invalidRequest("error parsing form"))
		return
	}
	switch gt := r.Form.Get("grant_type"); gt {
	case zitadel.GrantAuthorizationCode:
		setOp(r, OpTokenAuthorizationCode)
		s.withClient(w, r, gt, s.codeExchange)
	case zitadel.GrantRefreshToken:
		setOp(r, OpTokenRefresh)
		s.withClient(w, r, gt, s.refreshExchange)
	case zitadel.GrantTokenExchange:
		setOp(r, OpTokenExchange)
		s.withClient(w, r, gt, s.exchange)
	case zitadel.GrantClientCredentials:
		setOp(r, OpTokenClientCredentials)
		s.respond(w, s.clientCredentialsGrant, r)
	case zitadel.GrantJWTBearer:
		setOp(r, OpTokenJWTBearer)
		s.respond(w, s.jwtBearerGrant, r)
	case "":
		writeOAuthError(w, invalidRequest("grant_type missing"))
	default:
		writeOAuthError(w, oauthErr(http.StatusBadRequest, "unsupported_grant_type", "%s not supported", gt))
	}
}

// grantFunc answers a token request with Server.mu held; the tokens it
// returns are signed after the mutex is released.
type grantFunc func(r *http.Request) (*pendingTokens, *oauthError)

// respond runs grant under Server.mu, then signs and writes its tokens.
func (s *Server) respond(w http.ResponseWriter, grant grantFunc, r *http.Request) {
	s.mu.Lock()
	p, oerr := grant(r)
	s.mu.Unlock()
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	writeJSON(w, http.StatusOK, p.finish())
}

// withClient authenticates the application of a token request, checks
// that it may use grant and answers with next.
func (s *Server) withClient(w http.ResponseWriter, r *http.Request, grant string, next func(*http.Request, *app) (*pendingTokens, *oauthError)) {
	s.respond(w, func(r *http.Request) (*pendingTokens, *oauthError) {
		a, oerr := s.st.verifyClient(r, s.Issuer())
		if oerr != nil {
			return nil, oerr
		}
		if !a.allowsGrant(grant) {
			return nil, oauthErr(http.StatusBadRequest, "unauthorized_client", "grant_type %q not allowed", grant)
		}
		return next(r, a)
	}, r)
}

// clientCredentials are the client authentication parameters of a request.
type clientCredentials struct {
	id, secret, assertion, assertionType string
}

// parseClientCredentials is zitadel/oidc's parseClientCredentials: one
// method only, Basic taking precedence over the form.
func parseClientCredentials(r *http.Request) (clientCredentials, *oauthError) {
	f := r.Form
	cc := clientCredentials{
		id: f.Get("client_id"), secret: f.Get("client_secret"),
		assertion: f.Get("client_assertion"), assertionType: f.Get("client_assertion_type"),
	}
	assertionAuth := cc.assertion != "" && cc.assertionType != ""
	secretAuth := cc.secret != "" && cc.id != ""
	if assertionAuth && secretAuth {
		return cc, invalidRequest("client authentication must not use more than one method")
	}
	if id, secret, ok := r.BasicAuth(); ok {
		if assertionAuth || secretAuth {
			return cc, invalidRequest("client authentication must not use more than one method")
		}
		var err1, err2 error
		cc.id, err1 = url.QueryUnescape(id)
		cc.secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return cc, oauthErr(http.StatusBadRequest, "invalid_client", "invalid basic auth header")
		}
	}
	if cc.id == "" && cc.assertion == "" {
		return cc, invalidRequest("client_id or client_assertion must be provided")
	}
	if cc.assertion != "" && cc.assertionType != zitadel.ClientAssertionTypeJWTBearer {
		return cc, invalidRequest("invalid client_assertion_type %s", cc.assertionType)
	}
	return cc, nil
}

// verifyClient authenticates the application of a request by its auth
// method as ZITADEL's VerifyClient does: nothing for none, the secret for
// basic and post, the signed assertion for private_key_jwt.
func (st *state) verifyClient(r *http.Request, issuer string) (*app, *oauthError) {
	cc, oerr := parseClientCredentials(r)
	if oerr != nil {
		return nil, oerr
	}
	id := cc.id
	if id == "" {
		id = unverifiedIssuer(cc.assertion)
	}
	a := st.apps[id]
	if a == nil {
		return nil, oauthErr(http.StatusBadRequest, "invalid_client", "no active client not found")
	}
	switch a.authMethod {
	case AuthMethodBasic, AuthMethodPost:
		switch {
		case cc.secret == "":
			return nil, oauthErr(http.StatusBadRequest, "invalid_client", "empty client secret")
		case subtle.ConstantTimeCompare([]byte(cc.secret), []byte(a.secret)) != 1:
			return nil, oauthErr(http.StatusBadRequest, "invalid_client", "invalid secret")
		}
	case AuthMethodPrivateKeyJWT:
		switch {
		case cc.assertion == "":
			return nil, oauthErr(http.StatusBadRequest, "invalid_client", "empty client assertion")
		case !st.verifyClientAssertion(a, cc.assertion, issuer):
			return nil, oauthErr(http.StatusBadRequest, "invalid_client", "invalid assertion")
		}
	}
	return a, nil
}

// unverifiedIssuer reads the iss claim of a JWT without checking it, to
// find the client whose key must then verify it.
func unverifiedIssuer(raw string) string {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256})
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c) != nil {
		return ""
	}
	return c.Iss
}

// verifyClientAssertion checks an RFC 7523 client assertion: signed by the
// application's key, iss = sub = client id, the issuer in aud, not expired
// and issued at most an hour ago.
func (st *state) verifyClientAssertion(a *app, raw, issuer string) bool {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256})
	if err != nil || len(jws.Signatures) != 1 || jws.Signatures[0].Header.KeyID != a.keyID {
		return false
	}
	payload, err := jws.Verify(a.publicKey)
	if err != nil {
		return false
	}
	var c struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp int64           `json:"exp"`
		Iat int64           `json:"iat"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Iss != a.clientID || c.Sub != a.clientID {
		return false
	}
	now := st.now()
	exp, iat := time.Unix(c.Exp, 0), time.Unix(c.Iat, 0)
	return audienceContains(c.Aud, issuer) && now.Before(exp) &&
		!iat.After(now.Add(time.Second)) && now.Sub(iat) <= time.Hour
}

// audienceContains reads aud as a string or an array and looks for want.
func audienceContains(aud json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(aud, &one) == nil {
		return one == want
	}
	var many []string
	return json.Unmarshal(aud, &many) == nil && slices.Contains(many, want)
}

// tokenResponse is the answer of the code and refresh grants, which
// zitadel/oidc sends with the auth request's state.
type tokenResponse struct {
	zitadel.TokenResponse
	State string `json:"state,omitempty"`
}

// issueTokens creates the access token (JWT if the application wants it),
// a refresh token for offline_access and an ID token for openid.
func (s *Server) issueTokens(g grant) *pendingTokens {
	st := s.st
	lifetime := s.cfg.accessTokenLifetime
	t, jwt := st.issueAccessToken(s.Issuer(), g, lifetime, g.app.jwtAccessToken)
	p := &pendingTokens{access: jwt, resp: tokenResponse{TokenResponse: zitadel.TokenResponse{
		AccessToken: t.value, TokenType: "Bearer", ExpiresIn: accessTokenLifetimeLeft(t.expiresAt, st.now()),
	}}}
	if slices.Contains(g.scopes, scopeOfflineAccess) && g.app.allowsGrant(zitadel.GrantRefreshToken) {
		p.resp.RefreshToken = st.issueRefreshToken(g)
	}
	if slices.Contains(g.scopes, scopeOpenID) {
		p.id = st.idTokenDraft(s.Issuer(), g, lifetime)
	}
	return p
}

// Refresh tokens expire after 30 days unused and 90 days in all
// (cmd/defaults.yaml RefreshTokenIdleExpiration, RefreshTokenExpiration).
const (
	refreshIdleLifetime     = 30 * 24 * time.Hour
	refreshAbsoluteLifetime = 90 * 24 * time.Hour
)

func (st *state) issueRefreshToken(g grant) string {
	now := st.now()
	st.tokenSeq++
	rt := &refreshToken{
		seq: st.tokenSeq, value: randomToken(32), userID: g.user.id, clientID: g.app.clientID, sessionID: g.sessionID,
		scopes: slices.Clone(g.scopes), audience: slices.Clone(g.audience), amr: g.amr, actor: g.actor,
		authTime: g.authTime, issuedAt: now,
		idleExpiry: now.Add(refreshIdleLifetime), absoluteExpiry: now.Add(refreshAbsoluteLifetime),
	}
	st.refresh[rt.value] = rt
	return rt.value
}

// refreshExchange is the refresh_token grant: the refresh token is rotated;
// a scope parameter may narrow the scopes.
func (s *Server) refreshExchange(r *http.Request, a *app) (*pendingTokens, *oauthError) {
	st := s.st
	raw := r.Form.Get("refresh_token")
	if raw == "" {
		return nil, invalidRequest("refresh_token missing")
	}
	rt := st.refresh[raw]
	now := st.now()
	if rt == nil || rt.revoked || rt.clientID != a.clientID || !now.Before(rt.idleExpiry) || !now.Before(rt.absoluteExpiry) {
		return nil, invalidRequest("Errors.User.RefreshToken.Invalid")
	}
	u := st.users[rt.userID]
	if u == nil {
		return nil, invalidRequest("Errors.User.RefreshToken.Invalid")
	}
	scopes := rt.scopes
	if requested := scopeList(r.Form.Get("scope")); len(requested) > 0 {
		if !containsAll(rt.scopes, requested) {
			return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "")
		}
		scopes = requested
	}
	rt.revoked = true
	return s.issueTokens(grant{
		user: u, app: a, scopes: scopes, audience: rt.audience, authTime: rt.authTime, amr: rt.amr,
		actor: rt.actor, sessionID: rt.sessionID,
	}), nil
}

// containsAll reports whether scope list a contains every scope of b.
func containsAll(a, b []string) bool {
	for _, s := range b {
		if !slices.Contains(a, s) {
			return false
		}
	}
	return true
}

// joinScopes is the space-delimited scope parameter.
func joinScopes(s []string) string { return strings.Join(s, " ") }
