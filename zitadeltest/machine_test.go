package zitadeltest

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// parsedKeyFile is a key file read back by the tests.
type parsedKeyFile struct {
	Type, KeyID, UserID string
	Expiration          time.Time
	Key                 *rsa.PrivateKey
}

func parseKeyFile(t *testing.T, data []byte) parsedKeyFile {
	t.Helper()
	var raw struct {
		Type           string    `json:"type"`
		KeyID          string    `json:"keyId"`
		Key            string    `json:"key"`
		ExpirationDate time.Time `json:"expirationDate"`
		UserID         string    `json:"userId"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("key file %s: %v", data, err)
	}
	block, _ := pem.Decode([]byte(raw.Key))
	if block == nil || block.Type != "RSA PRIVATE KEY" {
		t.Fatalf("key is not a PKCS#1 PEM block: %q", raw.Key)
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return parsedKeyFile{Type: raw.Type, KeyID: raw.KeyID, UserID: raw.UserID, Expiration: raw.ExpirationDate, Key: k}
}

// assertion signs JWT profile claims with the key file's key; mod may
// change the claims and the kid before signing.
func assertion(t *testing.T, kf parsedKeyFile, issuer string, now time.Time, mod func(c map[string]any, kid *string)) string {
	t.Helper()
	claims := map[string]any{"iss": kf.UserID, "sub": kf.UserID, "aud": issuer,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	kid := kf.KeyID
	if mod != nil {
		mod(claims, &kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: kf.Key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestKeyFileShape(t *testing.T) {
	t.Parallel()
	s := Start(t)
	sa := s.ServiceAccount()
	var fields map[string]any
	if err := json.Unmarshal(sa.KeyFile, &fields); err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range fields {
		names = append(names, k)
	}
	if diff := cmp.Diff([]string{"expirationDate", "key", "keyId", "type", "userId"}, sortedStrings(names)); diff != "" {
		t.Errorf("key file members (-want +got):\n%s", diff)
	}
	kf := parseKeyFile(t, sa.KeyFile)
	if kf.Type != "serviceaccount" || kf.UserID != sa.ID || kf.KeyID == "" || kf.Key.N.BitLen() != 2048 ||
		!kf.Expiration.Equal(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)) {
		t.Errorf("key file %+v", kf)
	}
	if sa.ClientID != sa.Username || sa.ClientSecret == "" {
		t.Errorf("client credentials %q %q", sa.ClientID, sa.ClientSecret)
	}
	// GetUserByID shows that the machine user has a secret.
	r := connect(t, s, sa.PAT, "GetUserByID", `{"userId":"`+sa.ID+`"}`)
	if m := r.json(t).(map[string]any)["user"].(map[string]any)["machine"]; m.(map[string]any)["hasSecret"] != true {
		t.Errorf("machine %v", m)
	}
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestJWTProfileGrant(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	sa := s.ServiceAccount()
	kf := parseKeyFile(t, sa.KeyFile)
	now := testTime()
	grant := func(assertion, scope string) response {
		return form(t, s, zitadel.PathToken, url.Values{
			"grant_type": {zitadel.GrantJWTBearer}, "assertion": {assertion}, "scope": {scope},
		}, "", "")
	}
	apiScope := "openid profile " + zitadel.ScopeZitadelAPIAudience

	t.Run("token response", func(t *testing.T) {
		t.Parallel()
		r := grant(assertion(t, kf, s.URL, now, nil), apiScope)
		var body map[string]any
		if err := json.Unmarshal(r.body, &body); err != nil || r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if body["token_type"] != "Bearer" || body["expires_in"] != float64(43200) || body["id_token"] == nil ||
			body["scope"] != nil || body["refresh_token"] != nil || body["issued_token_type"] != nil {
			t.Errorf("response %v", body)
		}
		at := body["access_token"].(string)
		// The token calls the user service: its audience holds ZITADEL's project.
		if r := connect(t, s, at, "GetUserByID", `{"userId":"`+sa.ID+`"}`); r.status != http.StatusOK {
			t.Errorf("GetUserByID with the token: %d %s", r.status, r.body)
		}
		id := verifiedClaims(t, s, body["id_token"].(string))
		if id["sub"] != sa.ID || id["azp"] != sa.ID || id["exp"] != id["iat"] || id["preferred_username"] != nil {
			t.Errorf("ID token claims %v", id)
		}
		found := false
		for _, it := range s.IssuedTokens() {
			found = found || (it.Kind == TokenAccess && it.UserID == sa.ID && it.ClientID == sa.ID && !it.JWT &&
				cmp.Equal(it.Audience, []string{s.st.zitadelProjectID}))
		}
		if !found {
			t.Errorf("no opaque access token of the service account in %+v", s.IssuedTokens())
		}
	})
	t.Run("without the API audience the user service refuses it", func(t *testing.T) {
		t.Parallel()
		at := tokenResp(t, grant(assertion(t, kf, s.URL, now, nil), "openid")).AccessToken
		checkJSON(t, connect(t, s, at, "GetUserByID", `{"userId":"`+sa.ID+`"}`), http.StatusUnauthorized,
			connectError("unauthenticated", "APP-Zxfako", "invalid audience"))
	})
	t.Run("audience as an array", func(t *testing.T) {
		t.Parallel()
		tokenResp(t, grant(assertion(t, kf, s.URL, now, func(c map[string]any, _ *string) {
			c["aud"] = []string{"https://other.example.com", s.URL}
		}), "openid"))
	})

	invalid := `{"error":"invalid_grant","error_description":"invalid assertion"}`
	for name, mod := range map[string]func(c map[string]any, kid *string){
		"unknown kid":       func(_ map[string]any, kid *string) { *kid = "nope" },
		"iss is not sub":    func(c map[string]any, _ *string) { c["sub"] = s.OrganizationID() },
		"wrong audience":    func(c map[string]any, _ *string) { c["aud"] = "https://other.example.com" },
		"iat older than 1h": func(c map[string]any, _ *string) { c["iat"] = now.Add(-61 * time.Minute).Unix() },
		"iat in the future": func(c map[string]any, _ *string) { c["iat"] = now.Add(time.Minute).Unix() },
		"no iat":            func(c map[string]any, _ *string) { delete(c, "iat") },
		"expired":           func(c map[string]any, _ *string) { c["exp"] = now.Unix() },
		"unknown user":      func(c map[string]any, _ *string) { c["iss"], c["sub"] = "nobody", "nobody" },
		"issuer of a stranger": func(c map[string]any, _ *string) {
			c["iss"], c["sub"] = s.clientID, s.clientID
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkJSON(t, grant(assertion(t, kf, s.URL, now, mod), "openid"), http.StatusBadRequest, invalid)
		})
	}
	t.Run("not a JWT", func(t *testing.T) {
		t.Parallel()
		checkJSON(t, grant("nope", "openid"), http.StatusBadRequest, invalid)
	})
	t.Run("missing assertion", func(t *testing.T) {
		t.Parallel()
		checkJSON(t, grant("", "openid"), http.StatusBadRequest,
			`{"error":"invalid_request","error_description":"assertion missing"}`)
	})
	t.Run("no scope", func(t *testing.T) {
		t.Parallel()
		checkJSON(t, grant(assertion(t, kf, s.URL, now, nil), ""), http.StatusBadRequest,
			`{"error":"invalid_request","error_description":"The scope of your request is missing. Please ensure some scopes are requested. If you have any questions, you may contact the administrator of the application."}`)
	})
	t.Run("expired key", func(t *testing.T) {
		t.Parallel()
		s := startFixed(t)
		m, err := s.AddMachineUser(NewMachine{Username: "expiring", WithKey: true, KeyExpiration: now.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		mk := parseKeyFile(t, m.KeyFile)
		if !mk.Expiration.Equal(now.Add(time.Minute)) {
			t.Errorf("expiration %v", mk.Expiration)
		}
		post := func(at time.Time) response {
			return form(t, s, zitadel.PathToken, url.Values{"grant_type": {zitadel.GrantJWTBearer},
				"assertion": {assertion(t, mk, s.URL, at, nil)}, "scope": {"openid"}}, "", "")
		}
		tokenResp(t, post(now))
		s.Advance(2 * time.Minute)
		checkJSON(t, post(now.Add(2*time.Minute)), http.StatusBadRequest, invalid)
	})
	t.Run("JWT access token type", func(t *testing.T) {
		t.Parallel()
		m, err := s.AddMachineUser(NewMachine{Username: "jwt-machine", WithKey: true, JWTAccessToken: true})
		if err != nil {
			t.Fatal(err)
		}
		mk := parseKeyFile(t, m.KeyFile)
		at := tokenResp(t, grant(assertion(t, mk, s.URL, now, nil), apiScope)).AccessToken
		c := verifiedClaims(t, s, at)
		if c["sub"] != m.ID || c["client_id"] != m.ID || c["act"] != nil {
			t.Errorf("claims %v", c)
		}
	})
}

func TestClientCredentialsGrant(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	sa := s.ServiceAccount()
	// A login name that needs URL-encoding in the Basic header.
	odd, err := s.AddMachineUser(NewMachine{Username: "svc:ops+1@example.com", WithSecret: true,
		Roles: []Role{RoleIAMUserManager}})
	if err != nil {
		t.Fatal(err)
	}
	noSecret, _ := s.AddMachineUser(NewMachine{Username: "no-secret"})
	if _, err := s.AddHumanUser(NewHuman{GivenName: "H", FamilyName: "U", Email: "h@example.com"}); err != nil {
		t.Fatal(err)
	}
	cc := func(scope string) url.Values {
		return url.Values{"grant_type": {zitadel.GrantClientCredentials}, "scope": {scope}}
	}
	with := func(v url.Values, kv ...string) url.Values {
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	apiScope := "openid " + zitadel.ScopeZitadelAPIAudience

	t.Run("basic with URL-encoded credentials", func(t *testing.T) {
		t.Parallel()
		tr := tokenResp(t, form(t, s, zitadel.PathToken, cc(apiScope), odd.ClientID, odd.ClientSecret))
		if tr.TokenType != "Bearer" || tr.ExpiresIn != 43200 || tr.IDToken == "" || tr.Scope != "" || tr.RefreshToken != "" {
			t.Errorf("response %+v", tr)
		}
		if r := connect(t, s, tr.AccessToken, "GetUserByID", `{"userId":"`+sa.ID+`"}`); r.status != http.StatusOK {
			t.Errorf("GetUserByID: %d %s", r.status, r.body)
		}
		if c := verifiedClaims(t, s, tr.IDToken); c["azp"] != odd.ClientID || c["sub"] != odd.ID {
			t.Errorf("ID token %v", c)
		}
	})
	t.Run("post", func(t *testing.T) {
		t.Parallel()
		tokenResp(t, form(t, s, zitadel.PathToken, with(cc("openid"), "client_id", sa.ClientID, "client_secret", sa.ClientSecret), "", ""))
	})
	t.Run("faults and the request log know both grants", func(t *testing.T) {
		t.Parallel()
		s := startFixed(t)
		sa := s.ServiceAccount()
		s.FailNext(OpTokenClientCredentials, Unavailable())
		s.FailNext(OpTokenJWTBearer, APIError(CodeInternal, "OIDC-x", "Errors.Internal"))
		if r := form(t, s, zitadel.PathToken, cc("openid"), sa.ClientID, sa.ClientSecret); r.status != http.StatusServiceUnavailable {
			t.Errorf("client_credentials under a fault: %d", r.status)
		}
		checkJSON(t, form(t, s, zitadel.PathToken, url.Values{"grant_type": {zitadel.GrantJWTBearer}, "assertion": {"x"}}, "", ""),
			http.StatusInternalServerError, `{"error":"server_error","error_description":"Errors.Internal"}`)
		tokenResp(t, form(t, s, zitadel.PathToken, cc("openid"), sa.ClientID, sa.ClientSecret))
		if a, b := s.Count(OpTokenClientCredentials), s.Count(OpTokenJWTBearer); a != 2 || b != 1 {
			t.Errorf("counts %d %d", a, b)
		}
	})
	t.Run("offline_access gives no refresh token", func(t *testing.T) {
		t.Parallel()
		tr := tokenResp(t, form(t, s, zitadel.PathToken, cc("openid offline_access"), sa.ClientID, sa.ClientSecret))
		if tr.RefreshToken != "" {
			t.Errorf("refresh token %q", tr.RefreshToken)
		}
	})
	tests := []struct {
		name       string
		form       url.Values
		basic      [2]string
		wantStatus int
		wantBody   string
	}{
		{"both methods", with(cc("openid"), "client_id", sa.ClientID, "client_secret", sa.ClientSecret), [2]string{sa.ClientID, sa.ClientSecret},
			400, `{"error":"invalid_request","error_description":"client authentication must not use more than one method"}`},
		{"no client", cc("openid"), [2]string{},
			400, `{"error":"invalid_request","error_description":"client_id or client_assertion must be provided"}`},
		{"unknown client", cc("openid"), [2]string{"nobody", "x"},
			400, `{"error":"invalid_client","error_description":"client not found"}`},
		{"machine without a secret", cc("openid"), [2]string{noSecret.Username, "x"},
			400, `{"error":"invalid_request","error_description":"Errors.User.Machine.Secret.NotExisting"}`},
		{"human user", cc("openid"), [2]string{"h@example.com", "x"},
			400, `{"error":"invalid_request","error_description":"Errors.User.Machine.Secret.NotExisting"}`},
		{"wrong secret", cc("openid"), [2]string{sa.ClientID, "wrong"},
			400, `{"error":"invalid_request","error_description":"Errors.User.Machine.Secret.Invalid"}`},
		{"no scope", cc(""), [2]string{sa.ClientID, sa.ClientSecret},
			400, `{"error":"invalid_request","error_description":"The scope of your request is missing. Please ensure some scopes are requested. If you have any questions, you may contact the administrator of the application."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkJSON(t, form(t, s, zitadel.PathToken, tt.form, tt.basic[0], tt.basic[1]), tt.wantStatus, tt.wantBody)
		})
	}
}

// A non-PAT actor must carry the exchanging application's project in its
// audience (docs/zitadel.md §5.5).
func TestCredentialsTokenAsActor(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	sa := s.ServiceAccount()
	guest := createGuest(t, s, "cc-actor-guest")
	actor := func(scope string) string {
		return tokenResp(t, form(t, s, zitadel.PathToken, url.Values{"grant_type": {zitadel.GrantClientCredentials},
			"scope": {scope}}, sa.ClientID, sa.ClientSecret)).AccessToken
	}
	bound := actor("openid " + zitadel.ScopeZitadelAPIAudience + " urn:zitadel:iam:org:project:id:" + s.ProjectID() + ":aud")
	tr := tokenResp(t, form(t, s, zitadel.PathToken, exchangeForm(s.ClientID(), guest, bound,
		url.Values{"requested_token_type": {zitadel.TokenTypeJWT}}), "", ""))
	c := verifiedClaims(t, s, tr.AccessToken)
	if diff := cmp.Diff(map[string]any{"iss": s.URL, "sub": sa.ID}, c["act"]); diff != "" {
		t.Errorf("act (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{s.st.zitadelProjectID, s.ProjectID()}, c["aud"]); diff != "" {
		t.Errorf("aud (-want +got):\n%s", diff)
	}
	unbound := actor("openid " + zitadel.ScopeZitadelAPIAudience)
	checkJSON(t, form(t, s, zitadel.PathToken, exchangeForm(s.ClientID(), guest, unbound, nil), "", ""),
		http.StatusBadRequest, `{"error":"invalid_request","error_description":"actor_token invalid"}`)
}

func TestRotateKeys(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	guest := createGuest(t, s, "rotate-guest")
	jwt := func() string {
		return tokenResp(t, form(t, s, zitadel.PathToken, exchangeForm(s.ClientID(), guest, s.ServiceAccount().PAT,
			url.Values{"requested_token_type": {zitadel.TokenTypeJWT}}), "", "")).AccessToken
	}
	kids := func() []string {
		r := do(t, s, http.MethodGet, zitadel.PathKeys, "", "", "")
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(r.body, &set); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range set.Keys {
			ids = append(ids, k.KeyID)
		}
		return ids
	}
	kidOf := func(raw string) string {
		jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		return jws.Signatures[0].Header.KeyID
	}
	active := func(at string) bool {
		return connect(t, s, at, "GetUserByID", `{"userId":"`+guest+`"}`).status != http.StatusUnauthorized
	}
	first := jwt()
	k1 := kidOf(first)
	if diff := cmp.Diff([]string{k1}, kids()); diff != "" {
		t.Errorf("JWKS before rotation (-want +got):\n%s", diff)
	}
	k2 := s.RotateKeys()
	second := jwt()
	if kidOf(second) != k2 || k2 == k1 {
		t.Errorf("new token kid %s, rotated to %s from %s", kidOf(second), k2, k1)
	}
	if diff := cmp.Diff([]string{k1, k2}, kids()); diff != "" {
		t.Errorf("JWKS after rotation (-want +got):\n%s", diff)
	}
	// An impersonated token is refused by the API with 403, an unknown one
	// with 401: the first token is still known after one rotation.
	if !active(first) || !active(second) {
		t.Error("tokens of the current and previous key must stay valid")
	}
	k3 := s.RotateKeys()
	if diff := cmp.Diff([]string{k2, k3}, kids()); diff != "" {
		t.Errorf("JWKS after the second rotation (-want +got):\n%s", diff)
	}
	if active(first) || !active(second) {
		t.Error("after two rotations only the second token stays valid")
	}
}

func TestECDSAWebKey(t *testing.T) {
	t.Parallel()
	s := Start(t, WithWebKey(WebKeyECDSAP256))
	guest := createGuest(t, s, "es256-guest")
	tr := tokenResp(t, form(t, s, zitadel.PathToken, exchangeForm(s.ClientID(), guest, s.ServiceAccount().PAT,
		url.Values{"requested_token_type": {zitadel.TokenTypeJWT}, "scope": {"openid"}}), "", ""))
	for _, raw := range []string{tr.AccessToken, tr.IDToken} {
		if c := verifiedClaims(t, s, raw); c["sub"] != guest {
			t.Errorf("claims %v", c)
		}
	}
	r := do(t, s, http.MethodGet, zitadel.PathKeys, "", "", "")
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.body, &set); err != nil || len(set.Keys) != 1 || set.Keys[0].Algorithm != "ES256" {
		t.Errorf("JWKS %s", r.body)
	}
	if r := do(t, s, http.MethodPost, zitadel.PathUserinfo, tr.AccessToken, "", ""); r.status != http.StatusOK {
		t.Errorf("userinfo with an ES256 token: %d %s", r.status, r.body)
	}
	if WebKeyRSA2048.String() != "RS256" || WebKey(7).String() != "WebKey(7)" {
		t.Error("WebKey.String")
	}
}

func TestIssuedTokens(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	sa := s.ServiceAccount()
	guest := createGuest(t, s, "issued-guest")
	app, err := s.AddApp(NewApp{Name: "refreshing", AuthMethod: AuthMethodPost,
		GrantTypes: []string{zitadel.GrantTokenExchange, zitadel.GrantRefreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := s.App(app)
	// An impersonated JWT for the guest, through a confidential application.
	subject := tokenResp(t, form(t, s, zitadel.PathToken, exchangeForm(app, guest, sa.PAT,
		url.Values{"client_secret": {info.ClientSecret}, "requested_token_type": {zitadel.TokenTypeJWT}}), "", ""))
	before := len(s.IssuedTokens())
	got := s.IssuedTokens()[before-1]
	want := IssuedToken{
		Kind: TokenAccess, ID: got.ID, JWT: true, UserID: guest, ClientID: app,
		Scopes: patScopes(), Audience: []string{s.st.zitadelProjectID, app, s.ProjectID()},
		Actor:    &Actor{Issuer: s.URL, Subject: sa.ID},
		IssuedAt: testTime().Truncate(time.Microsecond), ExpiresAt: testTime().Truncate(time.Microsecond).Add(12 * time.Hour),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("issued token (-want +got):\n%s", diff)
	}
	if toks := s.IssuedTokens(); toks[0].Kind != TokenPAT || toks[0].UserID != sa.ID || !toks[0].ExpiresAt.IsZero() {
		t.Errorf("first token %+v", toks[0])
	}
	// Revoked tokens are reported, not forgotten.
	r := form(t, s, zitadel.PathRevoke, url.Values{"token": {subject.AccessToken}}, app, info.ClientSecret)
	if r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if toks := s.IssuedTokens(); len(toks) != before || !toks[before-1].Revoked {
		t.Errorf("after revocation %+v", toks[len(toks)-1])
	}
	// Copies: changing the result changes nothing.
	toks := s.IssuedTokens()
	toks[0].Scopes[0] = "changed"
	if s.IssuedTokens()[0].Scopes[0] == "changed" {
		t.Error("IssuedTokens returned shared slices")
	}
	if TokenRefresh.String() != "Refresh" || TokenKind(9).String() != "TokenKind(9)" {
		t.Error("TokenKind.String")
	}
}
