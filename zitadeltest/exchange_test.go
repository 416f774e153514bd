package zitadeltest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// exchangeForm is a token-exchange request impersonating subject with actor.
func exchangeForm(clientID, subject, actor string, extra url.Values) url.Values {
	v := url.Values{
		"grant_type":         {zitadel.GrantTokenExchange},
		"client_id":          {clientID},
		"subject_token":      {subject},
		"subject_token_type": {zitadel.TokenTypeUserID},
		"actor_token":        {actor},
		"actor_token_type":   {zitadel.TokenTypeAccessToken},
	}
	for k, vals := range extra {
		v[k] = vals
	}
	return v
}

// verifiedClaims checks raw against the server's JWKS and returns its claims.
func verifiedClaims(t *testing.T, s *Server, raw string) map[string]any {
	t.Helper()
	r := do(t, s, http.MethodGet, zitadel.PathKeys, "", "", "")
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.body, &set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS", jws.Signatures[0].Header.KeyID)
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		t.Fatalf("verify JWT: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func tokenResp(t *testing.T, r response) zitadel.TokenResponse {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("token endpoint: %d %s", r.status, r.body)
	}
	var tr zitadel.TokenResponse
	if err := json.Unmarshal(r.body, &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestTokenExchangeJWT(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	guest := createGuest(t, s, "tx-guest")
	sa := s.ServiceAccount()
	r := form(t, s, zitadel.PathToken, exchangeForm(s.ClientID(), guest, sa.PAT, url.Values{
		"requested_token_type": {zitadel.TokenTypeJWT},
		"scope":                {"openid profile email " + zitadel.ScopeUserMetadata},
	}), "", "")
	tr := tokenResp(t, r)
	wantResp := zitadel.TokenResponse{
		AccessToken: tr.AccessToken, IssuedTokenType: zitadel.TokenTypeJWT, TokenType: "Bearer", ExpiresIn: 43200,
		Scope: "openid profile email " + zitadel.ScopeUserMetadata, IDToken: tr.IDToken,
	}
	if diff := cmp.Diff(wantResp, tr); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}

	now := float64(testTime().Unix())
	at := verifiedClaims(t, s, tr.AccessToken)
	aud, _ := at["aud"].([]any)
	if len(aud) != 3 || aud[1] != s.ClientID() || aud[2] != s.ProjectID() {
		t.Errorf("access token aud = %v, want [<ZITADEL project> client project]", at["aud"])
	}
	wantAT := map[string]any{
		"iss": s.URL, "sub": guest, "aud": at["aud"], "exp": now + 43200, "iat": now, "nbf": now,
		"jti": at["jti"], "client_id": s.ClientID(),
		"act": map[string]any{"iss": s.URL, "sub": sa.ID},
		// base64url without padding of "2025-01-23T10:34:18Z"
		zitadel.ClaimUserMetadata: map[string]any{"GUEST_CREATED_AT": "MjAyNS0wMS0yM1QxMDozNDoxOFo"},
	}
	if diff := cmp.Diff(wantAT, at); diff != "" {
		t.Errorf("access token claims (-want +got):\n%s", diff)
	}

	id := verifiedClaims(t, s, tr.IDToken)
	sum := sha256.Sum256([]byte(tr.AccessToken))
	wantID := map[string]any{
		"iss": s.URL, "sub": guest, "aud": at["aud"], "exp": now + 43200, "iat": now,
		"azp": s.ClientID(), "client_id": s.ClientID(), "at_hash": base64.RawURLEncoding.EncodeToString(sum[:16]),
		"act":  map[string]any{"iss": s.URL, "sub": sa.ID},
		"name": "Guest User", "given_name": "Guest", "family_name": "User", "preferred_username": guest + "@guests.invalid",
		"updated_at": now, "email": guest + "@guests.invalid",
		zitadel.ClaimUserMetadata: map[string]any{"GUEST_CREATED_AT": "MjAyNS0wMS0yM1QxMDozNDoxOFo"},
	}
	if diff := cmp.Diff(wantID, id); diff != "" {
		t.Errorf("ID token claims (-want +got):\n%s", diff)
	}

	// Impersonated tokens are refused by ZITADEL's own API.
	checkJSON(t, connect(t, s, tr.AccessToken, "GetUserByID", `{"userId":"`+guest+`"}`), http.StatusForbidden,
		connectError("permission_denied", "APP-Shi0J", "Errors.TokenExchange.Token.NotForAPI"))

	// Userinfo answers for the guest, without act.
	r = do(t, s, http.MethodGet, zitadel.PathUserinfo, tr.AccessToken, "", "")
	checkJSON(t, r, http.StatusOK, `{"sub":"`+guest+`","name":"Guest User","given_name":"Guest","family_name":"User",
		"preferred_username":"`+guest+`@guests.invalid","updated_at":`+jsonNum(now)+`,"email":"`+guest+`@guests.invalid",
		"`+zitadel.ClaimUserMetadata+`":{"GUEST_CREATED_AT":"MjAyNS0wMS0yM1QxMDozNDoxOFo"}}`)
}

func jsonNum(f float64) string { return string(mustJSON(f)) }

func TestTokenExchangeVariants(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	guest := createGuest(t, s, "txv-guest")
	pat := s.ServiceAccount().PAT
	ex := func(extra url.Values) response {
		return form(t, s, zitadel.PathToken, exchangeForm(s.ClientID(), guest, pat, extra), "", "")
	}

	t.Run("no scope: the PAT's scopes", func(t *testing.T) {
		t.Parallel()
		tr := tokenResp(t, ex(nil))
		if tr.Scope != "openid profile urn:zitadel:iam:user:metadata urn:zitadel:iam:user:resourceowner" ||
			tr.IssuedTokenType != zitadel.TokenTypeAccessToken || tr.TokenType != "Bearer" || tr.IDToken == "" || tr.RefreshToken != "" {
			t.Errorf("response %+v", tr)
		}
		id := verifiedClaims(t, s, tr.IDToken)
		if id["urn:zitadel:iam:user:resourceowner:id"] != s.OrganizationID() || id["email"] != nil || id["sid"] == nil {
			t.Errorf("ID token claims %v", id)
		}
		// The opaque token works at userinfo and knows the organization claims.
		r := do(t, s, http.MethodGet, zitadel.PathUserinfo, tr.AccessToken, "", "")
		if r.status != http.StatusOK || r.json(t).(map[string]any)["urn:zitadel:iam:user:resourceowner:name"] != "Shadow" {
			t.Errorf("userinfo: %d %s", r.status, r.body)
		}
	})
	t.Run("scope without openid: no ID token", func(t *testing.T) {
		t.Parallel()
		tr := tokenResp(t, ex(url.Values{"scope": {"profile email"}}))
		if tr.Scope != "profile email" || tr.IDToken != "" || tr.AccessToken == "" {
			t.Errorf("response %+v", tr)
		}
	})
	t.Run("requested id_token", func(t *testing.T) {
		t.Parallel()
		tr := tokenResp(t, ex(url.Values{"requested_token_type": {zitadel.TokenTypeIDToken}, "scope": {"openid"}}))
		if tr.TokenType != "N_A" || tr.IssuedTokenType != zitadel.TokenTypeIDToken || tr.IDToken != "" {
			t.Errorf("response %+v", tr)
		}
		if c := verifiedClaims(t, s, tr.AccessToken); c["sub"] != guest || c["at_hash"] != nil {
			t.Errorf("claims %v", c)
		}
	})

	otherApp, err := s.AddApp(NewApp{Name: "no-exchange", AuthMethod: AuthMethodNone})
	if err != nil {
		t.Fatal(err)
	}
	secretApp, err := s.AddApp(NewApp{Name: "confidential", AuthMethod: AuthMethodBasic, GrantTypes: []string{zitadel.GrantTokenExchange}})
	if err != nil {
		t.Fatal(err)
	}
	secretAppInfo, _ := s.App(secretApp)
	userManager, _ := s.AddMachineUser(NewMachine{Username: "tx-user-manager", Roles: []Role{RoleIAMUserManager}})
	noRoles, _ := s.AddMachineUser(NewMachine{Username: "tx-no-roles"})

	tests := []struct {
		name       string
		form       url.Values
		basic      [2]string
		wantStatus int
		wantBody   string
	}{
		{"offline_access with a PAT actor", exchangeForm(s.ClientID(), guest, pat, url.Values{"scope": {"openid offline_access"}}), [2]string{},
			400, `{"error":"invalid_scope","error_description":"scope \"offline_access\" not found in subject or actor token"}`},
		{"unknown subject", exchangeForm(s.ClientID(), "nobody", pat, nil), [2]string{},
			400, `{"error":"invalid_request","error_description":"subject_token invalid"}`},
		{"bad actor token", exchangeForm(s.ClientID(), guest, "nope", nil), [2]string{},
			400, `{"error":"invalid_request","error_description":"actor_token invalid"}`},
		{"missing actor token", exchangeForm(s.ClientID(), guest, "", nil), [2]string{},
			400, `{"error":"invalid_request","error_description":"actor_token invalid"}`},
		{"actor without impersonation", exchangeForm(s.ClientID(), guest, userManager.PAT, nil), [2]string{},
			403, `{"error":"invalid_request","error_description":"No matching permissions found"}`},
		{"actor without memberships", exchangeForm(s.ClientID(), guest, noRoles.PAT, url.Values{"requested_token_type": {zitadel.TokenTypeJWT}}), [2]string{},
			404, `{"error":"invalid_request","error_description":"membership not found"}`},
		{"resource", exchangeForm(s.ClientID(), guest, pat, url.Values{"resource": {"https://api.example.com"}}), [2]string{},
			400, `{"error":"invalid_target","error_description":"resource parameter not supported"}`},
		{"audience not on the tokens", exchangeForm(s.ClientID(), guest, pat, url.Values{"audience": {"foo"}}), [2]string{},
			400, `{"error":"invalid_target","error_description":"audience \"foo\" not found in subject or actor token"}`},
		{"app without the grant", exchangeForm(otherApp, guest, pat, nil), [2]string{},
			400, `{"error":"unauthorized_client","error_description":"grant_type \"urn:ietf:params:oauth:grant-type:token-exchange\" not allowed"}`},
		{"unknown client", exchangeForm("nope", guest, pat, nil), [2]string{},
			400, `{"error":"invalid_client","error_description":"no active client not found"}`},
		{"no client", exchangeForm("", guest, pat, nil), [2]string{},
			400, `{"error":"invalid_request","error_description":"client_id or client_assertion must be provided"}`},
		{"wrong secret", exchangeForm("", guest, pat, nil), [2]string{secretApp, "wrong"},
			400, `{"error":"invalid_client","error_description":"invalid secret"}`},
		{"missing subject", exchangeForm(s.ClientID(), "", pat, nil), [2]string{},
			400, `{"error":"invalid_request","error_description":"subject_token missing"}`},
		{"unsupported subject type", exchangeForm(s.ClientID(), guest, pat, url.Values{"subject_token_type": {"urn:x"}}), [2]string{},
			400, `{"error":"invalid_request","error_description":"subject_token_type is not supported"}`},
		{"requested refresh token", exchangeForm(s.ClientID(), guest, pat, url.Values{"requested_token_type": {zitadel.TokenTypeRefreshToken}}), [2]string{},
			400, `{"error":"invalid_request","error_description":"Errors.TokenExchange.Token.TypeNotSupported"}`},
		{"no grant type", url.Values{"client_id": {s.ClientID()}}, [2]string{},
			400, `{"error":"invalid_request","error_description":"grant_type missing"}`},
		{"unsupported grant type", url.Values{"grant_type": {"password"}}, [2]string{},
			400, `{"error":"unsupported_grant_type","error_description":"password not supported"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkJSON(t, form(t, s, zitadel.PathToken, tt.form, tt.basic[0], tt.basic[1]), tt.wantStatus, tt.wantBody)
		})
	}
	t.Run("client secret basic", func(t *testing.T) {
		t.Parallel()
		tokenResp(t, form(t, s, zitadel.PathToken, exchangeForm("", guest, pat, nil), secretApp, secretAppInfo.ClientSecret))
	})
	t.Run("id_token path skips the permission check", func(t *testing.T) {
		t.Parallel()
		tokenResp(t, form(t, s, zitadel.PathToken, exchangeForm(s.ClientID(), guest, userManager.PAT,
			url.Values{"requested_token_type": {zitadel.TokenTypeIDToken}}), "", ""))
	})
}

func TestTokenExchangePolicyAndLifetime(t *testing.T) {
	t.Parallel()
	s := startFixed(t, WithAccessTokenLifetime(time.Hour))
	guest := createGuest(t, s, "life-guest")
	pat := s.ServiceAccount().PAT

	s.SetImpersonation(false)
	checkJSON(t, form(t, s, zitadel.PathToken, exchangeForm(s.ClientID(), guest, pat, nil), "", ""), http.StatusForbidden,
		`{"error":"invalid_request","error_description":"Errors.TokenExchange.Impersonation.PolicyDisabled"}`)
	s.SetImpersonation(true)

	tr := tokenResp(t, form(t, s, zitadel.PathToken, exchangeForm(s.ClientID(), guest, pat, nil), "", ""))
	if tr.ExpiresIn != 3600 {
		t.Errorf("expires_in = %d, want 3600", tr.ExpiresIn)
	}
	userinfo := func() int { return do(t, s, http.MethodGet, zitadel.PathUserinfo, tr.AccessToken, "", "").status }
	if got := userinfo(); got != http.StatusOK {
		t.Fatalf("fresh token: userinfo %d", got)
	}
	s.Advance(time.Hour)
	checkJSON(t, do(t, s, http.MethodGet, zitadel.PathUserinfo, tr.AccessToken, "", ""), http.StatusUnauthorized,
		`{"error":"access_denied","error_description":"access token invalid"}`)

	// A username change invalidates the user's tokens.
	tr = tokenResp(t, form(t, s, zitadel.PathToken, exchangeForm(s.ClientID(), guest, pat, nil), "", ""))
	if got := userinfo(); got != http.StatusOK {
		t.Fatalf("new token: userinfo %d", got)
	}
	if r := connect(t, s, pat, "UpdateUser", `{"userId":"`+guest+`","username":"renamed"}`); r.status != http.StatusOK {
		t.Fatalf("UpdateUser: %d %s", r.status, r.body)
	}
	if got := userinfo(); got != http.StatusUnauthorized {
		t.Errorf("after username change: userinfo %d, want 401", got)
	}
}

func TestTokenExchangeChains(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	a, b := createGuest(t, s, "chain-a"), createGuest(t, s, "chain-b")
	sa := s.ServiceAccount()
	first := tokenResp(t, form(t, s, zitadel.PathToken, exchangeForm(s.ClientID(), a, sa.PAT, nil), "", ""))

	t.Run("standard exchange keeps subject, scopes and act", func(t *testing.T) {
		t.Parallel()
		tr := tokenResp(t, form(t, s, zitadel.PathToken, url.Values{
			"grant_type": {zitadel.GrantTokenExchange}, "client_id": {s.ClientID()},
			"subject_token": {first.AccessToken}, "subject_token_type": {zitadel.TokenTypeAccessToken},
			"requested_token_type": {zitadel.TokenTypeJWT}, "scope": {"openid profile"},
		}, "", ""))
		c := verifiedClaims(t, s, tr.AccessToken)
		if c["sub"] != a || cmp.Diff(map[string]any{"iss": s.URL, "sub": sa.ID}, c["act"]) != "" {
			t.Errorf("claims %v", c)
		}
		r := form(t, s, zitadel.PathToken, url.Values{
			"grant_type": {zitadel.GrantTokenExchange}, "client_id": {s.ClientID()},
			"subject_token": {first.AccessToken}, "subject_token_type": {zitadel.TokenTypeAccessToken},
			"scope": {"openid email"},
		}, "", "")
		checkJSON(t, r, http.StatusBadRequest, `{"error":"invalid_scope","error_description":"scope \"email\" not found in subject or actor token"}`)
	})
	t.Run("an impersonated ID token as actor nests act", func(t *testing.T) {
		t.Parallel()
		// Only the id_token path lets a guest without memberships act.
		tr := tokenResp(t, form(t, s, zitadel.PathToken, url.Values{
			"grant_type": {zitadel.GrantTokenExchange}, "client_id": {s.ClientID()},
			"subject_token": {b}, "subject_token_type": {zitadel.TokenTypeUserID},
			"actor_token": {first.IDToken}, "actor_token_type": {zitadel.TokenTypeIDToken},
			"requested_token_type": {zitadel.TokenTypeIDToken}, "scope": {"openid"},
		}, "", ""))
		c := verifiedClaims(t, s, tr.AccessToken)
		want := map[string]any{"iss": s.URL, "sub": a, "act": map[string]any{"iss": s.URL, "sub": sa.ID}}
		if c["sub"] != b || cmp.Diff(want, c["act"]) != "" {
			t.Errorf("claims %v", c)
		}
		// As an access-token request the guest lacks the impersonation permission.
		r := form(t, s, zitadel.PathToken, url.Values{
			"grant_type": {zitadel.GrantTokenExchange}, "client_id": {s.ClientID()},
			"subject_token": {b}, "subject_token_type": {zitadel.TokenTypeUserID},
			"actor_token": {first.IDToken}, "actor_token_type": {zitadel.TokenTypeIDToken}, "scope": {"openid"},
		}, "", "")
		checkJSON(t, r, http.StatusNotFound, `{"error":"invalid_request","error_description":"membership not found"}`)
	})
	t.Run("tokens of other clients are refused", func(t *testing.T) {
		t.Parallel()
		other, err := s.AddApp(NewApp{Name: "other", AuthMethod: AuthMethodNone, GrantTypes: []string{zitadel.GrantTokenExchange}})
		if err != nil {
			t.Fatal(err)
		}
		// Same project: the project id in the audience binds the token.
		tokenResp(t, form(t, s, zitadel.PathToken, url.Values{
			"grant_type": {zitadel.GrantTokenExchange}, "client_id": {other},
			"subject_token": {first.AccessToken}, "subject_token_type": {zitadel.TokenTypeAccessToken},
		}, "", ""))
		r := form(t, s, zitadel.PathToken, url.Values{
			"grant_type": {zitadel.GrantTokenExchange}, "client_id": {s.ClientID()},
			"subject_token": {first.RefreshToken + "x"}, "subject_token_type": {zitadel.TokenTypeRefreshToken},
		}, "", "")
		checkJSON(t, r, http.StatusBadRequest, `{"error":"invalid_request","error_description":"subject_token invalid"}`)
	})
}
