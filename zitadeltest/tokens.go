package zitadeltest

import (
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// Token minting and claims (docs/zitadel.md §6.5, §7).

// Scopes the OIDC library and ZITADEL treat specially.
const (
	scopeOpenID        = "openid"
	scopeProfile       = "profile"
	scopeEmail         = "email"
	scopePhone         = "phone"
	scopeAddress       = "address"
	scopeOfflineAccess = "offline_access"

	scopeZitadelPrefix   = "urn:zitadel:iam:"
	scopeOrgIDPrefix     = "urn:zitadel:iam:org:id:"
	scopeOrgDomainPrefix = "urn:zitadel:iam:org:domain:primary:"
	scopeProjectIDPrefix = "urn:zitadel:iam:org:project:id:"
	scopeAudSuffix       = ":aud"

	claimResourceOwnerID     = "urn:zitadel:iam:user:resourceowner:id"
	claimResourceOwnerName   = "urn:zitadel:iam:user:resourceowner:name"
	claimResourceOwnerDomain = "urn:zitadel:iam:user:resourceowner:primary_domain"
	claimOrgID               = "urn:zitadel:iam:org:id"
	claimOrgDomain           = "urn:zitadel:iam:org:domain:primary"
)

// grant is what a set of tokens is issued for.
type grant struct {
	user      *user
	app       *app
	scopes    []string
	audience  []string
	actor     *actor
	authTime  time.Time
	amr       []string
	nonce     string
	sessionID string
}

// newSessionID returns the id of a new OIDC session.
func (st *state) newSessionID() string { return "V2_" + st.newID() }

// issueAccessToken records an access token for g. An opaque token's
// bearer value is t.value; a JWT comes back as a draft to sign.
func (st *state) issueAccessToken(issuer string, g grant, lifetime time.Duration, jwt bool) (*token, *jwtDraft) {
	now := st.now()
	t := &token{
		kind: tokenAccess, id: g.sessionID + "-at_" + st.newID(), userID: g.user.id, clientID: g.app.clientID,
		sessionID: g.sessionID, scopes: slices.Clone(g.scopes), audience: slices.Clone(g.audience),
		actor: g.actor, issuedAt: now, expiresAt: now.Add(lifetime), authTime: g.authTime, amr: g.amr, jwt: jwt,
	}
	if !jwt {
		t.value = randomToken(32)
		st.addToken(t)
		return t, nil
	}
	st.addToken(t)
	aud := t.audience
	if len(aud) == 0 {
		aud = []string{t.clientID}
	}
	claims := map[string]any{
		"iss": issuer, "sub": t.userID, "aud": aud, "jti": t.id, "client_id": t.clientID,
		"exp": t.expiresAt.Unix(), "iat": now.Unix(), "nbf": now.Unix(),
	}
	if t.actor != nil {
		claims["act"] = t.actor.claims()
	}
	// JWT access tokens carry ZITADEL's private claims, not the standard ones.
	for k, v := range st.userClaims(g.user, g.scopes, false) {
		if k != "sub" {
			claims[k] = v
		}
	}
	return t, st.draft(claims)
}

// idTokenDraft returns the claims of an ID token for g, valid for
// lifetime; at_hash is added when the access token is known (pendingTokens).
func (st *state) idTokenDraft(issuer string, g grant, lifetime time.Duration) *jwtDraft {
	now := st.now()
	aud := slices.Clone(g.audience)
	if !slices.Contains(aud, g.app.clientID) {
		aud = append(aud, g.app.clientID)
	}
	claims := st.userClaims(g.user, g.scopes, g.app.idTokenUserinfo)
	claims["iss"] = issuer
	claims["aud"] = aud
	claims["exp"] = now.Add(lifetime).Unix()
	claims["iat"] = now.Unix()
	claims["azp"] = g.app.clientID
	claims["client_id"] = g.app.clientID
	if !g.authTime.IsZero() {
		claims["auth_time"] = g.authTime.Unix()
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	if len(g.amr) > 0 {
		claims["amr"] = g.amr
	}
	if g.sessionID != "" {
		claims["sid"] = g.sessionID
	}
	if g.actor != nil {
		claims["act"] = g.actor.claims()
	}
	return st.draft(claims)
}

// pendingTokens is a token response whose JWTs are signed by finish, after
// Server.mu is released.
type pendingTokens struct {
	resp       tokenResponse
	access     *jwtDraft // a JWT access token, signed into resp.AccessToken
	id         *jwtDraft // an ID token, with the at_hash of the access token
	idAsAccess bool      // the ID token is the requested token: it goes into access_token
}

// finish signs the drafts and returns the response.
func (p *pendingTokens) finish() tokenResponse {
	if p.access != nil {
		p.resp.AccessToken = p.access.sign()
	}
	if p.id != nil {
		if p.idAsAccess {
			p.resp.AccessToken = p.id.sign()
			return p.resp
		}
		if p.resp.AccessToken != "" {
			p.id.claims["at_hash"] = atHash(p.resp.AccessToken)
		}
		p.resp.IDToken = p.id.sign()
	}
	return p.resp
}

// atHash is OIDC's at_hash for RS256 and ES256: the left half of SHA-256,
// base64url.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

func (a *actor) claims() map[string]any {
	c := map[string]any{"iss": a.issuer, "sub": a.subject}
	if a.act != nil {
		c["act"] = a.act.claims()
	}
	return c
}

// userClaims are the userinfo claims of u for scopes (userInfoToOIDC): sub,
// the standard profile, email and phone claims when standard is set, and
// ZITADEL's metadata and organization claims.
func (st *state) userClaims(u *user, scopes []string, standard bool) map[string]any {
	c := map[string]any{"sub": u.id}
	for _, s := range scopes {
		switch s {
		case scopeProfile:
			if standard {
				u.profileClaims(c)
			}
		case scopeEmail:
			if standard && !u.machine {
				c["email"] = u.email
				if u.emailVerified { // oidc.Bool with omitempty: false is left out
					c["email_verified"] = true
				}
			}
		case scopePhone:
			if standard && u.phone != "" {
				c["phone_number"] = u.phone
				if u.phoneVerified {
					c["phone_number_verified"] = true
				}
			}
		case zitadel.ScopeUserMetadata:
			if len(u.metadata) > 0 {
				md := make(map[string]string, len(u.metadata))
				for _, e := range u.metadata {
					md[e.key] = base64.RawURLEncoding.EncodeToString(e.value)
				}
				c[zitadel.ClaimUserMetadata] = md
			}
		case zitadel.ScopeUserResourceOwner:
			st.orgClaims(u, c)
		default:
			if d, ok := strings.CutPrefix(s, scopeOrgDomainPrefix); ok {
				c[claimOrgDomain] = d
			}
			if id, ok := strings.CutPrefix(s, scopeOrgIDPrefix); ok {
				c[claimOrgID] = id
				st.orgClaims(u, c)
			}
		}
	}
	return c
}

func (u *user) profileClaims(c map[string]any) {
	c["updated_at"] = u.changed.Unix()
	c["preferred_username"] = u.username
	if u.machine {
		c["name"] = u.name
		return
	}
	for k, v := range map[string]string{
		"name": u.displayName, "given_name": u.givenName, "family_name": u.familyName, "nickname": u.nickName,
	} {
		if v != "" {
			c[k] = v
		}
	}
	if g := genderClaim(u.gender); g != "" {
		c["gender"] = g
	}
	if u.preferredLanguage != "" && u.preferredLanguage != "und" {
		c["locale"] = u.preferredLanguage
	}
}

func genderClaim(g zitadel.Gender) string {
	switch g.String() {
	case "GENDER_FEMALE":
		return "female"
	case "GENDER_MALE":
		return "male"
	case "GENDER_DIVERSE":
		return "diverse"
	}
	return ""
}

func (st *state) orgClaims(u *user, c map[string]any) {
	if o := st.orgs[u.orgID]; o != nil {
		c[claimResourceOwnerID] = o.id
		c[claimResourceOwnerName] = o.name
		c[claimResourceOwnerDomain] = o.domain
	}
}

// scopeAllowed is Client.IsScopeAllowed plus the OIDC standard scopes:
// other scopes are dropped from a request, not refused.
func scopeAllowed(s string) bool {
	switch s {
	case scopeOpenID, scopeProfile, scopeEmail, scopePhone, scopeAddress, scopeOfflineAccess:
		return true
	}
	return strings.HasPrefix(s, scopeZitadelPrefix)
}

// validateScopes is op.ValidateAuthReqScopes: scopes are required and
// unknown ones are dropped. Since zitadel/oidc#613 (ZITADEL PR #8109,
// v2.54) openid is no longer required: without it no ID token is issued.
func validateScopes(scopes []string) ([]string, *oauthError) {
	if len(scopes) == 0 {
		return nil, invalidRequest("The scope of your request is missing. Please ensure some scopes are requested. " +
			"If you have any questions, you may contact the administrator of the application.")
	}
	return slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return !scopeAllowed(s) }), nil
}

// scopeList splits a space-delimited scope parameter.
func scopeList(s string) []string { return strings.Fields(s) }

// projectAudience is domain.AddAudScopeToAudience: it adds the project
// named by each urn:zitadel:iam:org:project:id:<id>:aud scope to aud
// ("zitadel" names ZITADEL's own project), without checking that it exists.
func (st *state) projectAudience(aud, scopes []string) []string {
	for _, s := range scopes {
		rest, ok := strings.CutPrefix(s, scopeProjectIDPrefix)
		if !ok {
			continue
		}
		id, ok := strings.CutSuffix(rest, scopeAudSuffix)
		if !ok {
			continue
		}
		if id == "zitadel" {
			id = st.zitadelProjectID
		}
		if !slices.Contains(aud, id) {
			aud = append(aud, id)
		}
	}
	return aud
}
