package zitadeltest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// Token exchange (RFC 8693) as internal/api/oidc/token_exchange.go does it
// after PR #12312 (docs/zitadel.md §6).

// exchangeToken is a verified subject or actor token.
type exchangeToken struct {
	userID        string
	resourceOwner string
	issuer        string
	scopes        []string
	audience      []string
	authTime      time.Time
	amr           []string
	actor         *actor // the token's own actor, if it was impersonated
}

// nestedActor is the act claim of a token issued with et as actor.
func (et *exchangeToken) nestedActor() *actor {
	return &actor{issuer: et.issuer, subject: et.userID, act: et.actor}
}

// supportedTokenTypes is oidc.AllTokenTypes with ZITADEL's user_id type.
func supportedTokenType(t string) bool {
	switch t {
	case zitadel.TokenTypeAccessToken, zitadel.TokenTypeRefreshToken, zitadel.TokenTypeIDToken,
		zitadel.TokenTypeJWT, zitadel.TokenTypeUserID:
		return true
	}
	return false
}

// exchange answers a token-exchange request of application a.
func (s *Server) exchange(r *http.Request, a *app) (*pendingTokens, *oauthError) {
	st := s.st
	f := r.Form
	subjectToken, subjectType := f.Get("subject_token"), f.Get("subject_token_type")
	actorToken, actorType := f.Get("actor_token"), f.Get("actor_token_type")
	requested := f.Get("requested_token_type")
	// zitadel/oidc's request checks.
	switch {
	case subjectToken == "":
		return nil, invalidRequest("subject_token missing")
	case subjectType == "":
		return nil, invalidRequest("subject_token_type missing")
	case !supportedTokenType(subjectType):
		return nil, invalidRequest("subject_token_type is not supported")
	case requested != "" && !supportedTokenType(requested):
		return nil, invalidRequest("requested_token_type is not supported")
	case actorType != "" && !supportedTokenType(actorType):
		return nil, invalidRequest("actor_token_type is not supported")
	}
	// ZITADEL's checks.
	if len(f["resource"]) > 0 {
		return nil, oauthErr(http.StatusBadRequest, "invalid_target", "resource parameter not supported")
	}
	subject, ok := st.verifyExchangeToken(s.Issuer(), a, subjectToken, subjectType,
		zitadel.TokenTypeAccessToken, zitadel.TokenTypeRefreshToken, zitadel.TokenTypeIDToken,
		zitadel.TokenTypeJWT, zitadel.TokenTypeUserID)
	if !ok {
		return nil, invalidRequest("subject_token invalid")
	}
	actorTok := subject
	actorPath := subjectType == zitadel.TokenTypeUserID || subjectType == zitadel.TokenTypeJWT || actorToken != ""
	if actorPath {
		if !st.impersonation {
			return nil, oauthFromAPI(newError(zitadel.CodePermissionDenied, idImpersonationDisabled, "Errors.TokenExchange.Impersonation.PolicyDisabled"))
		}
		actorTok, ok = st.verifyExchangeToken(s.Issuer(), a, actorToken, actorType,
			zitadel.TokenTypeAccessToken, zitadel.TokenTypeIDToken, zitadel.TokenTypeRefreshToken)
		if !ok {
			return nil, invalidRequest("actor_token invalid")
		}
	}
	audience, oerr := exchangeAudience(f["audience"], subject.audience, actorTok.audience)
	if oerr != nil {
		return nil, oerr
	}
	if oerr := st.regressedScopes(scopeList(f.Get("scope")), subject.scopes, actorTok.scopes, actorPath); oerr != nil {
		return nil, oerr
	}
	scopes, oerr := exchangeScopes(scopeList(f.Get("scope")), subject.scopes, actorTok.scopes, actorPath)
	if oerr != nil {
		return nil, oerr
	}

	impersonation := subject != actorTok
	g := grant{
		user: st.users[subject.userID], app: a, scopes: scopes, audience: audience,
		authTime: actorTok.authTime, amr: actorTok.amr, actor: actorTok.actor,
	}
	if impersonation {
		g.actor = actorTok.nestedActor()
	}
	lifetime := s.cfg.accessTokenLifetime
	p := &pendingTokens{resp: tokenResponse{TokenResponse: zitadel.TokenResponse{Scope: joinScopes(scopes)}}}
	resp := &p.resp
	switch requested {
	case "", zitadel.TokenTypeAccessToken, zitadel.TokenTypeJWT:
		// CreateOIDCSession: impersonation needs the actor's permission on
		// the subject's organization.
		if impersonation {
			if aerr := checkPermission(st.users[actorTok.userID], permImpersonation, subject.resourceOwner); aerr != nil {
				return nil, oauthFromAPI(aerr)
			}
		}
		g.sessionID = st.newSessionID()
		jwt := requested == zitadel.TokenTypeJWT
		t, draft := st.issueAccessToken(s.Issuer(), g, lifetime, jwt)
		p.access = draft
		resp.AccessToken, resp.TokenType = t.value, "Bearer"
		resp.IssuedTokenType = zitadel.TokenTypeAccessToken
		if jwt {
			resp.IssuedTokenType = zitadel.TokenTypeJWT
			g.sessionID = "" // the JWT path returns no session id for the ID token
		}
		resp.ExpiresIn = accessTokenLifetimeLeft(t.expiresAt, st.now())
		if slices.Contains(scopes, scopeOfflineAccess) && a.allowsGrant(zitadel.GrantRefreshToken) {
			resp.RefreshToken = st.issueRefreshToken(g)
		}
	case zitadel.TokenTypeIDToken:
		// ZITADEL issues the ID token without creating an OIDC session, so
		// neither the permission check nor the audit event happens.
		p.id, p.idAsAccess = st.idTokenDraft(s.Issuer(), g, lifetime), true
		resp.TokenType, resp.IssuedTokenType = "N_A", zitadel.TokenTypeIDToken
		resp.ExpiresIn = int64(lifetime / time.Second)
		return p, nil
	default:
		return nil, invalidRequest("Errors.TokenExchange.Token.TypeNotSupported")
	}
	if slices.Contains(scopes, scopeOpenID) {
		p.id = st.idTokenDraft(s.Issuer(), g, lifetime)
	}
	return p, nil
}

// verifyExchangeToken verifies a subject or actor token of one of the
// allowed types; ok is false for any failure.
func (st *state) verifyExchangeToken(issuer string, a *app, raw, typ string, allowed ...string) (*exchangeToken, bool) {
	if raw == "" || typ == "" || !slices.Contains(allowed, typ) {
		return nil, false
	}
	switch typ {
	case zitadel.TokenTypeAccessToken:
		t := st.lookupToken(raw)
		if t == nil {
			return nil, false
		}
		u := st.users[t.userID]
		if u == nil {
			return nil, false
		}
		aud := slices.Clone(t.audience)
		if t.kind == tokenPAT {
			// A PAT is bound to the exchanging client by adding the client
			// and its project to its audience (assertClientScopesForPAT).
			for _, id := range []string{a.clientID, st.projectID} {
				if !slices.Contains(aud, id) {
					aud = append(aud, id)
				}
			}
		} else if !slices.Contains(aud, a.clientID) && !slices.Contains(aud, st.projectID) {
			return nil, false // not issued for this client (GHSA-vrh8-c9cm-wh8v)
		}
		return &exchangeToken{
			userID: u.id, resourceOwner: u.orgID, issuer: issuer, scopes: t.scopes,
			audience: aud, authTime: t.authTime, amr: t.amr, actor: t.actor,
		}, true
	case zitadel.TokenTypeIDToken:
		return st.verifyIDTokenForExchange(issuer, raw)
	case zitadel.TokenTypeUserID:
		u := st.users[raw]
		if u == nil {
			return nil, false
		}
		if u.unprojected && st.projectionLag > 0 && st.now().Sub(u.created) < st.projectionLag {
			return nil, false // read from a projection that has not caught up
		}
		return &exchangeToken{userID: u.id, resourceOwner: u.orgID, issuer: issuer}, true
	}
	// Refresh tokens are refused; self-signed JWT subjects need application
	// keys for users, which the fake does not model.
	return nil, false
}

// verifyIDTokenForExchange checks an ID token the server issued.
func (st *state) verifyIDTokenForExchange(issuer, raw string) (*exchangeToken, bool) {
	payload, ok := st.verifyJWT(raw)
	if !ok {
		return nil, false
	}
	var c struct {
		Iss      string          `json:"iss"`
		Sub      string          `json:"sub"`
		Aud      json.RawMessage `json:"aud"`
		Exp      int64           `json:"exp"`
		AuthTime int64           `json:"auth_time"`
		AMR      []string        `json:"amr"`
		Act      *actorClaim     `json:"act"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Iss != issuer || !st.now().Before(time.Unix(c.Exp, 0)) {
		return nil, false
	}
	u := st.users[c.Sub]
	if u == nil {
		return nil, false
	}
	var aud []string
	if json.Unmarshal(c.Aud, &aud) != nil {
		var one string
		if json.Unmarshal(c.Aud, &one) != nil {
			return nil, false
		}
		aud = []string{one}
	}
	et := &exchangeToken{
		userID: u.id, resourceOwner: u.orgID, issuer: issuer,
		audience: aud, amr: c.AMR, actor: c.Act.actor(),
	}
	if c.AuthTime != 0 {
		et.authTime = time.Unix(c.AuthTime, 0)
	}
	return et, true
}

// actorClaim reads an act claim back.
type actorClaim struct {
	Iss string      `json:"iss"`
	Sub string      `json:"sub"`
	Act *actorClaim `json:"act"`
}

func (c *actorClaim) actor() *actor {
	if c == nil {
		return nil
	}
	return &actor{issuer: c.Iss, subject: c.Sub, act: c.Act.actor()}
}

// exchangeAudience is validateTokenExchangeAudience: by default the
// subject's audience, else the actor's; requested values must come from one
// of them.
func exchangeAudience(requested, subject, actor []string) ([]string, *oauthError) {
	if len(requested) == 0 {
		if len(subject) > 0 {
			return subject, nil
		}
		if len(actor) > 0 {
			return actor, nil
		}
	}
	if slices.Equal(requested, subject) || slices.Equal(requested, actor) {
		return requested, nil
	}
	for _, a := range requested {
		if !slices.Contains(subject, a) && !slices.Contains(actor, a) {
			return nil, oauthErr(http.StatusBadRequest, "invalid_target", "audience %q not found in subject or actor token", a)
		}
	}
	return requested, nil
}

// exchangeScopes is validateTokenExchangeScopes. For scope-less subjects
// (user_id, id_token) on the actor path only authorization scopes must come
// from the actor token and no scope means the actor's scopes; otherwise
// every scope must be on the subject or actor token. Then the usual request
// rules apply: unknown scopes are dropped and openid is required.
func exchangeScopes(requested, subject, actor []string, actorPath bool) ([]string, *oauthError) {
	requested = slices.DeleteFunc(slices.Clone(requested), func(s string) bool { return s == "" })
	relaxed := actorPath && len(subject) == 0
	if len(requested) == 0 && !relaxed {
		requested = subject
	}
	if len(requested) == 0 {
		requested = actor
	}
	for _, sc := range requested {
		if relaxed && !authorizationScope(sc) {
			continue
		}
		if !slices.Contains(subject, sc) && !slices.Contains(actor, sc) {
			return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "scope %q not found in subject or actor token", sc)
		}
	}
	return validateScopes(requested)
}

// authorizationScope reports scopes that grant refresh, audiences or roles
// (isTokenExchangeAuthorizationScope).
func authorizationScope(s string) bool {
	switch s {
	case scopeOfflineAccess, "urn:zitadel:iam:org:projects:roles", "urn:zitadel:iam:org:project:roles":
		return true
	}
	for _, p := range []string{
		"urn:zitadel:iam:org:project:role:", scopeProjectIDPrefix, scopeOrgIDPrefix, scopeOrgDomainPrefix,
		"urn:zitadel:iam:org:roles:id:", "urn:zitadel:iam:org:idp:id:",
	} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
