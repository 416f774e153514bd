package zitadeltest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

func TestDiscoveryAndKeys(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := do(t, s, http.MethodGet, zitadel.PathDiscovery, "", "", "")
	if r.status != http.StatusOK {
		t.Fatalf("discovery: %d", r.status)
	}
	var d map[string]any
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                           s.URL,
		"authorization_endpoint":           s.URL + "/oauth/v2/authorize",
		"token_endpoint":                   s.URL + "/oauth/v2/token",
		"introspection_endpoint":           s.URL + "/oauth/v2/introspect",
		"userinfo_endpoint":                s.URL + "/oidc/v1/userinfo",
		"revocation_endpoint":              s.URL + "/oauth/v2/revoke",
		"end_session_endpoint":             s.URL + "/oidc/v1/end_session",
		"jwks_uri":                         s.URL + "/oauth/v2/keys",
		"code_challenge_methods_supported": []any{"S256"},
		"subject_types_supported":          []any{"public"},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, d[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	for _, k := range []string{"scopes_supported", "response_types_supported", "grant_types_supported",
		"id_token_signing_alg_values_supported", "token_endpoint_auth_methods_supported", "claims_supported",
		"device_authorization_endpoint", "backchannel_logout_supported"} {
		if d[k] == nil {
			t.Errorf("discovery lacks %s", k)
		}
	}

	r = do(t, s, http.MethodGet, zitadel.PathKeys, "", "", "")
	if cc := r.header.Get("Cache-Control"); cc != "max-age=300, must-revalidate" {
		t.Errorf("Cache-Control = %q", cc)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.body, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS %s: %v", r.body, err)
	}
	k := set.Keys[0]
	pub, ok := k.Key.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != 2048 || k.KeyID == "" || k.Algorithm != "RS256" || k.Use != "sig" || !k.IsPublic() {
		t.Errorf("key %+v", k)
	}
}

func TestIntrospectionAndRevocation(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	guest := createGuest(t, s, "intro-guest")
	sa := s.ServiceAccount()
	api, err := s.AddApp(NewApp{Name: "api", AuthMethod: AuthMethodBasic})
	if err != nil {
		t.Fatal(err)
	}
	apiApp, _ := s.App(api)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyApp, err := s.AddApp(NewApp{Name: "api-key", AuthMethod: AuthMethodPrivateKeyJWT, KeyID: "k1", PublicKey: &ecKey.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	tr := tokenResp(t, form(t, s, zitadel.PathToken, exchangeForm(s.ClientID(), guest, sa.PAT, url.Values{"scope": {"openid email"}}), "", ""))

	now := float64(testTime().Unix())
	r := form(t, s, zitadel.PathIntrospect, url.Values{"token": {tr.AccessToken}}, api, apiApp.ClientSecret)
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"active": true, "scope": "openid email", "client_id": s.ClientID(), "token_type": "Bearer",
		"iss": s.URL, "sub": guest, "aud": got["aud"], "jti": got["jti"], "username": guest + "@guests.invalid",
		"iat": now, "nbf": now, "exp": now + 43200, "email": guest + "@guests.invalid",
		"act": map[string]any{"iss": s.URL, "sub": sa.ID},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("introspection (-want +got):\n%s", diff)
	}

	// private_key_jwt client authentication.
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: ecKey, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertion := func(aud string) string {
		claims, _ := json.Marshal(map[string]any{"iss": keyApp, "sub": keyApp, "aud": aud,
			"iat": testTime().Unix(), "exp": testTime().Add(time.Hour).Unix()})
		jws, err := signer.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := jws.CompactSerialize()
		return s
	}
	viaKey := func(aud string) response {
		return form(t, s, zitadel.PathIntrospect, url.Values{"token": {tr.AccessToken},
			"client_assertion": {assertion(aud)}, "client_assertion_type": {zitadel.ClientAssertionTypeJWTBearer}}, "", "")
	}
	if r := viaKey(s.URL); r.status != http.StatusOK || r.json(t).(map[string]any)["active"] != true {
		t.Errorf("private_key_jwt: %d %s", r.status, r.body)
	}
	checkJSON(t, viaKey("https://other.example.com"), http.StatusBadRequest,
		`{"error":"invalid_client","error_description":"invalid assertion"}`)

	tests := []struct {
		name       string
		form       url.Values
		user, pass string
		wantStatus int
		wantBody   string
	}{
		{"unknown token", url.Values{"token": {"nope"}}, api, apiApp.ClientSecret, 200, `{"active":false}`},
		{"PAT not meant for the project", url.Values{"token": {sa.PAT}}, api, apiApp.ClientSecret, 200, `{"active":false}`},
		{"unauthenticated client", url.Values{"token": {tr.AccessToken}, "client_id": {s.ClientID()}}, "", "", 400,
			`{"error":"invalid_client","error_description":"client must be authenticated"}`},
		{"wrong secret", url.Values{"token": {tr.AccessToken}}, api, "wrong", 400,
			`{"error":"invalid_client","error_description":"invalid secret"}`},
		{"no token", url.Values{}, api, apiApp.ClientSecret, 400,
			`{"error":"invalid_request","error_description":"token missing"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkJSON(t, form(t, s, zitadel.PathIntrospect, tt.form, tt.user, tt.pass), tt.wantStatus, tt.wantBody)
		})
	}

	// Revocation by the client the token was issued to.
	r = form(t, s, zitadel.PathRevoke, url.Values{"token": {tr.AccessToken}, "client_id": {s.ClientID()}}, "", "")
	if r.status != http.StatusOK {
		t.Errorf("revoke: %d %s", r.status, r.body)
	}
	checkJSON(t, form(t, s, zitadel.PathIntrospect, url.Values{"token": {tr.AccessToken}}, api, apiApp.ClientSecret),
		http.StatusOK, `{"active":false}`)
	checkJSON(t, do(t, s, http.MethodGet, zitadel.PathUserinfo, "", "", ""), http.StatusUnauthorized,
		`{"error":"invalid_request","error_description":"access token missing"}`)
}

func TestEndSession(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	if err := s.SetRedirectURIs(s.ClientID(), callback); err != nil {
		t.Fatal(err)
	}
	guest := createGuest(t, s, "es-guest")
	tr := tokenResp(t, form(t, s, zitadel.PathToken, exchangeForm(s.ClientID(), guest, s.ServiceAccount().PAT, nil), "", ""))
	q := url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {callback}, "state": {"bye"}}
	r := get(t, browser(s), s.URL+zitadel.PathEndSession+"?"+q.Encode())
	if r.status != http.StatusFound || r.header.Get("Location") != callback+"?state=bye" {
		t.Errorf("end session: %d %q", r.status, r.header.Get("Location"))
	}
	if got := do(t, s, http.MethodGet, zitadel.PathUserinfo, tr.AccessToken, "", "").status; got != http.StatusUnauthorized {
		t.Errorf("userinfo after end session: %d, want 401", got)
	}
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	pat := s.ServiceAccount().PAT
	createGuest(t, s, "log-guest")
	s.ResetRequests()
	connect(t, s, pat, "GetUserByID", `{"userId":"log-guest"}`)
	do(t, s, http.MethodGet, "/v2/users/nobody", pat, "", "")
	form(t, s, zitadel.PathToken, url.Values{"grant_type": {"password"}}, "", "")
	do(t, s, http.MethodGet, "/nowhere", "", "", "")

	var got []Request
	for _, r := range s.Requests() {
		if r.Duration < 0 {
			t.Errorf("negative duration %v", r.Duration)
		}
		r.Duration = 0
		got = append(got, r)
	}
	want := []Request{
		{Op: OpGetUserByID, Method: "POST", Path: "/zitadel.user.v2.UserService/GetUserByID", Status: 200},
		{Op: OpGetUserByID, Method: "GET", Path: "/v2/users/nobody", Status: 404},
		{Op: OpToken, Method: "POST", Path: "/oauth/v2/token", Status: 400},
		{Op: OpUnknown, Method: "GET", Path: "/nowhere", Status: 404},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if n := s.Count(OpGetUserByID); n != 2 {
		t.Errorf("Count(GetUserByID) = %d", n)
	}
	s.ResetRequests()
	if len(s.Requests()) != 0 || s.Count(OpGetUserByID) != 0 {
		t.Error("ResetRequests kept entries")
	}
	if OpTokenExchange.String() != "TokenExchange" || Operation(99).String() != "Operation(99)" {
		t.Errorf("String: %v %v", OpTokenExchange, Operation(99))
	}
}

func TestOptionsAndHelpers(t *testing.T) {
	t.Parallel()
	for _, opts := range [][]Option{{WithAccessTokenLifetime(0)}, {WithClock(nil)}, {WithProjectionLag(-time.Second)}, {WithWebKey(WebKey(9))}} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("NewServer with invalid options did not panic")
				} else if msg, _ := r.(string); len(msg) < 13 || msg[:13] != "zitadeltest: " {
					t.Errorf("panic %v lacks the zitadeltest prefix", r)
				}
			}()
			NewServer(opts...).Close()
		}()
	}

	s := startFixed(t)
	if s.Issuer() != s.URL || s.URL[len(s.URL)-1] == '/' {
		t.Errorf("Issuer %q URL %q", s.Issuer(), s.URL)
	}
	s.SetTime(testTime().Add(time.Hour))
	if got := s.Now(); !got.Equal(testTime().Add(time.Hour)) {
		t.Errorf("Now after SetTime = %v", got)
	}
	if err := s.SetRedirectURIs("nope", callback); err == nil {
		t.Error("SetRedirectURIs accepted an unknown client")
	}
	if err := s.SetRedirectURIs(s.ClientID(), "/relative"); err == nil {
		t.Error("SetRedirectURIs accepted a relative URI")
	}
	if _, err := s.AddMachineUser(NewMachine{Username: "bad-role", Roles: []Role{Role(42)}}); err == nil {
		t.Error("AddMachineUser accepted an unknown role")
	}
	if _, err := s.AddApp(NewApp{Name: "x", GrantTypes: []string{"password"}}); err == nil {
		t.Error("AddApp accepted an unknown grant type")
	}
	if _, err := s.AddApp(NewApp{Name: "x", AuthMethod: AuthMethodPrivateKeyJWT}); err == nil {
		t.Error("AddApp accepted private_key_jwt without a key")
	}
	app, _ := s.App(s.ClientID())
	want := App{ClientID: s.ClientID(), Name: "shadow-web",
		GrantTypes: []string{zitadel.GrantTokenExchange, zitadel.GrantAuthorizationCode, zitadel.GrantRefreshToken},
		AuthMethod: AuthMethodNone, JWTAccessToken: true, IDTokenUserinfo: true}
	if diff := cmp.Diff(want, app); diff != "" {
		t.Errorf("seeded app (-want +got):\n%s", diff)
	}
	sa, _ := s.User(s.ServiceAccount().ID)
	if sa.Type != Machine || sa.Username != "shadow-service" || RoleIAMEndUserImpersonator.String() != "IAM_END_USER_IMPERSONATOR" {
		t.Errorf("service account %+v", sa)
	}
	if users := s.Users(); len(users) != 1 || users[0].ID != sa.ID {
		t.Errorf("Users() = %+v", users)
	}
}
