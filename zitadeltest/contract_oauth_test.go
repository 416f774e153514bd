package zitadeltest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow/zitadeltest"
)

// Contract cases of the OAuth and OIDC endpoints (docs/zitadel.md §5–§7).

const (
	grantExchange  = "urn:ietf:params:oauth:grant-type:token-exchange"
	grantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	typeAccess     = "urn:ietf:params:oauth:token-type:access_token"
	typeJWT        = "urn:ietf:params:oauth:token-type:jwt"
	typeIDToken    = "urn:ietf:params:oauth:token-type:id_token"
	typeRefresh    = "urn:ietf:params:oauth:token-type:refresh_token"
	scopeAPI       = "urn:zitadel:iam:org:project:id:zitadel:aud"
	patScope       = "openid profile urn:zitadel:iam:user:metadata urn:zitadel:iam:user:resourceowner"
)

var oidcCases = []contractCase{
	{name: "discovery: ZITADEL's endpoints and keys", run: func(t *testing.T, z *instance) {
		d := ok(t, z.send(t, http.MethodGet, "/.well-known/openid-configuration", nil, ""))
		for k, path := range map[string]string{
			"authorization_endpoint": "/oauth/v2/authorize", "token_endpoint": "/oauth/v2/token",
			"introspection_endpoint": "/oauth/v2/introspect", "userinfo_endpoint": "/oidc/v1/userinfo",
			"revocation_endpoint": "/oauth/v2/revoke", "end_session_endpoint": "/oidc/v1/end_session",
			"jwks_uri": "/oauth/v2/keys", "device_authorization_endpoint": "/oauth/v2/device_authorization",
		} {
			if d[k] != z.issuer+path {
				t.Errorf("%s = %v, want %s", k, d[k], z.issuer+path)
			}
		}
		for _, k := range []string{"scopes_supported", "response_types_supported", "response_modes_supported",
			"grant_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported",
			"request_object_signing_alg_values_supported", "token_endpoint_auth_methods_supported",
			"token_endpoint_auth_signing_alg_values_supported", "introspection_endpoint_auth_methods_supported",
			"revocation_endpoint_auth_methods_supported", "claims_supported", "code_challenge_methods_supported",
			"ui_locales_supported", "request_parameter_supported"} {
			if _, ok := d[k]; !ok {
				t.Errorf("discovery lacks %s", k)
			}
		}
		if d["issuer"] != z.issuer || !slices.Contains(anyStrings(d["code_challenge_methods_supported"]), "S256") ||
			!slices.Contains(anyStrings(d["id_token_signing_alg_values_supported"]), "RS256") {
			t.Errorf("discovery %v", d)
		}
	}},
	{name: "JWKS: signing keys with kid, use and alg, cached 5 minutes with must-revalidate", run: func(t *testing.T, z *instance) {
		r := z.send(t, http.MethodGet, "/oauth/v2/keys", nil, "")
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(r.body, &set); err != nil || r.status != http.StatusOK || len(set.Keys) == 0 {
			t.Fatalf("JWKS %d %s", r.status, r.body)
		}
		for _, k := range set.Keys {
			if k.KeyID == "" || k.Use != "sig" || k.Algorithm == "" || !k.IsPublic() {
				t.Errorf("key %+v", k)
			}
		}
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") || !strings.Contains(cc, "must-revalidate") {
			t.Errorf("Cache-Control %q", cc)
		}
		if z.fake != nil {
			if cc := r.header.Get("Cache-Control"); cc != "max-age=300, must-revalidate" {
				t.Errorf("Cache-Control %q, want ZITADEL's default", cc)
			}
			if pub, isRSA := set.Keys[0].Key.(*rsa.PublicKey); !isRSA || pub.N.BitLen() != 2048 || set.Keys[0].Algorithm != "RS256" {
				t.Errorf("default web key %+v, want RSA 2048 RS256", set.Keys[0])
			}
		}
	}},
	{name: "userinfo: the claims of the token's scopes, metadata in base64url, never act", run: func(t *testing.T, z *instance) {
		guest := z.guest(t)
		tr := ok(t, z.token(t, z.exchange(guest, url.Values{"scope": {"openid profile email urn:zitadel:iam:user:metadata urn:zitadel:iam:user:resourceowner"}})))
		u := ok(t, z.send(t, http.MethodGet, "/oidc/v1/userinfo", bearer(tr["access_token"].(string)), ""))
		md, _ := u["urn:zitadel:iam:user:metadata"].(map[string]any)
		if u["sub"] != guest || u["email"] != guest+"@guests.example.com" || u["email_verified"] == true ||
			u["urn:zitadel:iam:user:resourceowner:id"] != z.orgID || u["given_name"] != "Guest" {
			t.Errorf("userinfo %v", u)
		}
		if md["GUEST_CREATED_AT"] != base64.RawURLEncoding.EncodeToString([]byte("2025-01-23T10:34:18Z")) {
			t.Errorf("metadata claim %v, want base64url without padding", md)
		}
		if _, has := u["act"]; has {
			t.Errorf("userinfo carries act: %v", u)
		}
	}},
	{name: "userinfo: an invalid token is 401", run: func(t *testing.T, z *instance) {
		wantStatus(t, z.send(t, http.MethodGet, "/oidc/v1/userinfo", bearer("nope"), ""), http.StatusUnauthorized)
		wantOAuthError(t, z.send(t, http.MethodGet, "/oidc/v1/userinfo", nil, ""), http.StatusUnauthorized, "invalid_request", "access token missing")
	}},
	{name: "introspection: the client must authenticate", run: func(t *testing.T, z *instance) {
		wantOAuthError(t, z.post(t, "/oauth/v2/introspect", url.Values{"token": {"x"}, "client_id": {z.clientID}}, "", ""),
			http.StatusBadRequest, "invalid_client", "client must be authenticated")
	}},
	{name: "introspection: act for impersonated tokens; inactive for unknown tokens", fakeOnly: "needs a confidential API application",
		run: func(t *testing.T, z *instance) {
			api, err := z.fake.AddApp(zitadeltest.NewApp{Name: randomID("api"), AuthMethod: zitadeltest.AuthMethodBasic})
			if err != nil {
				t.Fatal(err)
			}
			app, _ := z.fake.App(api)
			_, at := z.impersonatedToken(t, typeAccess)
			got := ok(t, z.post(t, "/oauth/v2/introspect", url.Values{"token": {at}}, api, app.ClientSecret))
			if got["active"] != true || got["client_id"] != z.clientID || got["token_type"] != "Bearer" ||
				!cmp.Equal(got["act"], map[string]any{"iss": z.issuer, "sub": z.fake.ServiceAccount().ID}) {
				t.Errorf("introspection %v", got)
			}
			got = ok(t, z.post(t, "/oauth/v2/introspect", url.Values{"token": {"nope"}}, api, app.ClientSecret))
			if diff := cmp.Diff(map[string]any{"active": false}, got); diff != "" {
				t.Errorf("unknown token (-want +got):\n%s", diff)
			}
		}},
	{name: "revocation: a revoked access token no longer works", run: func(t *testing.T, z *instance) {
		_, at := z.impersonatedToken(t, typeAccess)
		wantStatus(t, z.post(t, "/oauth/v2/revoke", url.Values{"token": {at}, "client_id": {z.clientID}}, "", ""), http.StatusOK)
		wantStatus(t, z.send(t, http.MethodGet, "/oidc/v1/userinfo", bearer(at), ""), http.StatusUnauthorized)
	}},
	{name: "authorization code with PKCE S256, then refresh_token rotation", fakeOnly: "ZITADEL's login UI cannot be driven over plain HTTP",
		run: func(t *testing.T, z *instance) {
			redirect := "https://app.example.com/callback"
			if err := z.fake.SetRedirectURIs(z.clientID, redirect); err != nil {
				t.Fatal(err)
			}
			email := randomID("login") + "@example.com"
			if _, err := z.fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Log", FamilyName: "In", Email: email,
				EmailVerified: true, Password: "Secr3t!Passw0rd"}); err != nil {
				t.Fatal(err)
			}
			verifier, challenge := pkce()
			code := z.login(t, url.Values{"client_id": {z.clientID}, "redirect_uri": {redirect}, "response_type": {"code"},
				"scope": {"openid offline_access"}, "state": {"st"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}},
				email, "Secr3t!Passw0rd")
			codeForm := url.Values{"grant_type": {"authorization_code"}, "client_id": {z.clientID}, "code": {code},
				"redirect_uri": {redirect}, "code_verifier": {"wrong-" + verifier}}
			wantOAuthError(t, z.token(t, codeForm), http.StatusBadRequest, "invalid_grant", "invalid code challenge")
			codeForm.Set("code_verifier", verifier)
			tr := ok(t, z.token(t, codeForm))
			if tr["state"] != "st" || tr["token_type"] != "Bearer" || tr["id_token"] == nil || tr["refresh_token"] == nil {
				t.Errorf("code response %v", tr)
			}
			wantOAuthError(t, z.token(t, codeForm), http.StatusBadRequest, "invalid_request", "Errors.User.Code.Invalid")
			refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {z.clientID}, "refresh_token": {tr["refresh_token"].(string)}}
			again := ok(t, z.token(t, refresh))
			if again["refresh_token"] == nil || again["refresh_token"] == tr["refresh_token"] {
				t.Errorf("refresh response %v", again)
			}
			wantOAuthError(t, z.token(t, refresh), http.StatusBadRequest, "invalid_request", "Errors.User.RefreshToken.Invalid")
		}},
}

// login runs the authorization request through the fake's login page and
// returns the code.
func (z *instance) login(t *testing.T, q url.Values, loginName, password string) string {
	t.Helper()
	hc := *z.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc.Jar, _ = cookiejar.New(nil) // a browser: ZITADEL binds the auth request to its user-agent cookie
	next := func(req *http.Request) *url.URL {
		t.Helper()
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if resp.StatusCode != http.StatusFound || err != nil {
			t.Fatalf("%s %s: %d, want a redirect", req.Method, req.URL.Path, resp.StatusCode)
		}
		return loc
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, z.issuer+"/oauth/v2/authorize?"+q.Encode(), nil)
	loginPage := next(req)
	form := url.Values{"authRequestID": {loginPage.Query().Get("authRequestID")}, "loginName": {loginName}, "password": {password}}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, loginPage.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cb := next(req)
	if cb.Query().Get("state") != q.Get("state") {
		t.Errorf("callback %s lost the state", cb)
	}
	return cb.Query().Get("code")
}

func anyStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// keyFile reads a key file as ZITADEL downloads it.
type keyFile struct {
	Type           string    `json:"type"`
	KeyID          string    `json:"keyId"`
	Key            string    `json:"key"`
	ExpirationDate time.Time `json:"expirationDate"`
	UserID         string    `json:"userId"`
	priv           *rsa.PrivateKey
}

func readKeyFile(t *testing.T, data []byte) keyFile {
	t.Helper()
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(kf.Key))
	if block == nil || block.Type != "RSA PRIVATE KEY" {
		t.Fatalf("key %q is not PKCS#1 PEM", kf.Key)
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	kf.priv = k
	return kf
}

// sign signs a JWT profile assertion; claims default to iss = sub = userId,
// aud = the issuer, iat = now, exp = now + 1h.
func (kf keyFile) sign(t *testing.T, issuer string, mod func(c map[string]any, kid *string)) string {
	t.Helper()
	now := time.Now()
	c := map[string]any{"iss": kf.UserID, "sub": kf.UserID, "aud": issuer, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	kid := kf.KeyID
	if mod != nil {
		mod(c, &kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: kf.priv},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := jws.CompactSerialize()
	return raw
}

func jwtBearer(assertion, scope string) url.Values {
	return url.Values{"grant_type": {grantJWTBearer}, "assertion": {assertion}, "scope": {scope}}
}

func clientCredentials(scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
}

var credentialCases = []contractCase{
	{name: "key file: exactly as ZITADEL downloads it", fakeOnly: "needs the service account's key file", run: func(t *testing.T, z *instance) {
		data := z.fake.ServiceAccount().KeyFile
		var members map[string]any
		if err := json.Unmarshal(data, &members); err != nil {
			t.Fatal(err)
		}
		if len(members) != 5 {
			t.Errorf("members %v, want type, keyId, key, expirationDate, userId", members)
		}
		kf := readKeyFile(t, data)
		if kf.Type != "serviceaccount" || kf.UserID != z.fake.ServiceAccount().ID || kf.priv.N.BitLen() != 2048 || kf.ExpirationDate.IsZero() {
			t.Errorf("key file %+v", kf)
		}
	}},
	{name: "jwt-bearer: a key-file assertion gives an access token that calls the user service", fakeOnly: "needs the service account's key file",
		run: func(t *testing.T, z *instance) {
			kf := readKeyFile(t, z.fake.ServiceAccount().KeyFile)
			tr := ok(t, z.token(t, jwtBearer(kf.sign(t, z.issuer, nil), "openid "+scopeAPI)))
			if tr["token_type"] != "Bearer" || tr["expires_in"] != float64(43199) && tr["expires_in"] != float64(43200) ||
				tr["id_token"] == nil || tr["refresh_token"] != nil || tr["scope"] != nil {
				t.Errorf("response %v", tr)
			}
			ok(t, z.connectAs(t, tr["access_token"].(string), "GetUserByID", `{"userId":"`+kf.UserID+`"}`))
			// The aud of the assertion may be an array holding the issuer.
			ok(t, z.token(t, jwtBearer(kf.sign(t, z.issuer, func(c map[string]any, _ *string) {
				c["aud"] = []string{"https://elsewhere.example.com", z.issuer}
			}), "openid")))
		}},
	{name: "jwt-bearer: every bad assertion is 400 invalid_grant \"invalid assertion\"", fakeOnly: "needs the service account's key file",
		run: func(t *testing.T, z *instance) {
			kf := readKeyFile(t, z.fake.ServiceAccount().KeyFile)
			now := time.Now()
			for name, mod := range map[string]func(c map[string]any, kid *string){
				"unknown kid":       func(_ map[string]any, kid *string) { *kid = "unknown" },
				"iss is not sub":    func(c map[string]any, _ *string) { c["sub"] = randomID("other") },
				"aud is not issuer": func(c map[string]any, _ *string) { c["aud"] = "https://elsewhere.example.com" },
				"iat older than 1h": func(c map[string]any, _ *string) { c["iat"] = now.Add(-2 * time.Hour).Unix() },
				"iat in the future": func(c map[string]any, _ *string) { c["iat"] = now.Add(time.Minute).Unix() },
				"no iat":            func(c map[string]any, _ *string) { delete(c, "iat") },
				"expired":           func(c map[string]any, _ *string) { c["exp"] = now.Add(-time.Minute).Unix() },
			} {
				t.Run(name, func(t *testing.T) {
					wantOAuthError(t, z.token(t, jwtBearer(kf.sign(t, z.issuer, mod), "openid")), http.StatusBadRequest,
						"invalid_grant", "invalid assertion")
				})
			}
		}},
	{name: "jwt-bearer: an assertion signed by an unknown key is 400 invalid_grant", run: func(t *testing.T, z *instance) {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		kf := keyFile{KeyID: randomID("key"), UserID: randomID("user"), priv: priv}
		wantOAuthError(t, z.token(t, jwtBearer(kf.sign(t, z.issuer, nil), "openid")), http.StatusBadRequest, "invalid_grant", "invalid assertion")
		wantOAuthError(t, z.token(t, jwtBearer("", "openid")), http.StatusBadRequest, "invalid_request", "assertion missing")
	}},
	{name: "client_credentials: Basic with URL-encoded credentials, or post; no scope and no refresh token in the answer", fakeOnly: "needs a machine user's client secret",
		run: func(t *testing.T, z *instance) {
			m, err := z.fake.AddMachineUser(zitadeltest.NewMachine{Username: randomID("svc:ops+") + "@example.com", WithSecret: true,
				Roles: []zitadeltest.Role{zitadeltest.RoleIAMUserManager}})
			if err != nil {
				t.Fatal(err)
			}
			tr := ok(t, z.post(t, "/oauth/v2/token", clientCredentials("openid offline_access "+scopeAPI), m.ClientID, m.ClientSecret))
			if tr["token_type"] != "Bearer" || tr["expires_in"] == nil || tr["id_token"] == nil || tr["refresh_token"] != nil || tr["scope"] != nil {
				t.Errorf("response %v", tr)
			}
			ok(t, z.connectAs(t, tr["access_token"].(string), "GetUserByID", `{"userId":"`+m.ID+`"}`))
			post := clientCredentials("openid")
			post.Set("client_id", m.ClientID)
			post.Set("client_secret", m.ClientSecret)
			ok(t, z.token(t, post))
		}},
	{name: "client_credentials: Basic and post together is invalid_request", run: func(t *testing.T, z *instance) {
		f := clientCredentials("openid")
		f.Set("client_id", "someone")
		f.Set("client_secret", "secret")
		wantOAuthError(t, z.post(t, "/oauth/v2/token", f, "someone", "secret"), http.StatusBadRequest,
			"invalid_request", "client authentication must not use more than one method")
	}},
	{name: "client_credentials: an unknown client is invalid_client \"client not found\"", run: func(t *testing.T, z *instance) {
		wantOAuthError(t, z.post(t, "/oauth/v2/token", clientCredentials("openid"), randomID("nobody"), "secret"),
			http.StatusBadRequest, "invalid_client", "client not found")
	}},
	{name: "client_credentials: a user without a secret, or a wrong secret, is invalid_request", fakeOnly: "needs machine users with and without a secret",
		run: func(t *testing.T, z *instance) {
			bare, err := z.fake.AddMachineUser(zitadeltest.NewMachine{Username: randomID("bare")})
			if err != nil {
				t.Fatal(err)
			}
			wantOAuthError(t, z.post(t, "/oauth/v2/token", clientCredentials("openid"), bare.Username, "x"),
				http.StatusBadRequest, "invalid_request", "Errors.User.Machine.Secret.NotExisting")
			sa := z.fake.ServiceAccount()
			wantOAuthError(t, z.post(t, "/oauth/v2/token", clientCredentials("openid"), sa.ClientID, "wrong"),
				http.StatusBadRequest, "invalid_request", "Errors.User.Machine.Secret.Invalid")
		}},
	{name: "credentials tokens: without ZITADEL's audience refused by the API; as actor only with the app's project audience", fakeOnly: "needs the service account's client secret",
		run: func(t *testing.T, z *instance) {
			sa := z.fake.ServiceAccount()
			get := func(scope string) string {
				return ok(t, z.post(t, "/oauth/v2/token", clientCredentials(scope), sa.ClientID, sa.ClientSecret))["access_token"].(string)
			}
			r := z.connectAs(t, get("openid"), "GetUserByID", `{"userId":"`+sa.ID+`"}`)
			wantStatus(t, r, http.StatusUnauthorized)
			guest := z.guest(t)
			ex := z.exchange(guest, nil)
			ex.Set("actor_token", get("openid "+scopeAPI))
			wantOAuthError(t, z.token(t, ex), http.StatusBadRequest, "invalid_request", "actor_token invalid")
			ex.Set("actor_token", get("openid "+scopeAPI+" urn:zitadel:iam:org:project:id:"+z.fake.ProjectID()+":aud"))
			ok(t, z.token(t, ex))
		}},
}

var exchangeCases = []contractCase{
	{name: "token exchange: user_id subject, PAT actor, requested jwt", run: func(t *testing.T, z *instance) {
		guest := z.guest(t)
		tr := ok(t, z.token(t, z.exchange(guest, url.Values{"requested_token_type": {typeJWT},
			"scope": {"openid profile urn:zitadel:iam:user:metadata"}})))
		if tr["issued_token_type"] != typeJWT || tr["token_type"] != "Bearer" || tr["scope"] != "openid profile urn:zitadel:iam:user:metadata" ||
			tr["id_token"] == nil || tr["refresh_token"] != nil {
			t.Errorf("response %v", tr)
		}
		if exp, _ := tr["expires_in"].(float64); exp <= 0 {
			t.Errorf("expires_in %v", tr["expires_in"])
		}
		at := z.claims(t, tr["access_token"].(string))
		act, _ := at["act"].(map[string]any)
		if at["sub"] != guest || at["client_id"] != z.clientID || act["iss"] != z.issuer || act["sub"] == nil || act["sub"] == "" {
			t.Errorf("access token claims %v", at)
		}
		if z.fake != nil && act["sub"] != z.fake.ServiceAccount().ID {
			t.Errorf("act.sub %v, want the service account", act["sub"])
		}
		if _, has := at["email"]; has {
			t.Errorf("JWT access tokens carry no standard profile or email claims: %v", at)
		}
		md, _ := at["urn:zitadel:iam:user:metadata"].(map[string]any)
		if md["GUEST_CREATED_AT"] != base64.RawURLEncoding.EncodeToString([]byte("2025-01-23T10:34:18Z")) {
			t.Errorf("metadata claim %v", at["urn:zitadel:iam:user:metadata"])
		}
		id := z.claims(t, tr["id_token"].(string))
		if id["sub"] != guest || id["azp"] != z.clientID || !cmp.Equal(id["act"], at["act"]) || id["nonce"] != nil {
			t.Errorf("ID token claims %v", id)
		}
	}},
	{name: "token exchange: without requested_token_type an opaque access token", run: func(t *testing.T, z *instance) {
		tr := ok(t, z.token(t, z.exchange(z.guest(t), nil)))
		if tr["issued_token_type"] != typeAccess || strings.Count(tr["access_token"].(string), ".") == 2 {
			t.Errorf("response %v", tr)
		}
	}},
	{name: "token exchange: requested id_token answers token_type N_A and no id_token", run: func(t *testing.T, z *instance) {
		guest := z.guest(t)
		tr := ok(t, z.token(t, z.exchange(guest, url.Values{"requested_token_type": {typeIDToken}, "scope": {"openid"}})))
		if tr["token_type"] != "N_A" || tr["issued_token_type"] != typeIDToken || tr["id_token"] != nil {
			t.Errorf("response %v", tr)
		}
		if c := z.claims(t, tr["access_token"].(string)); c["sub"] != guest || c["act"] == nil {
			t.Errorf("claims %v", c)
		}
	}},
	{name: "token exchange: without scope the PAT actor's scopes", run: func(t *testing.T, z *instance) {
		if tr := ok(t, z.token(t, z.exchange(z.guest(t), nil))); tr["scope"] != patScope {
			t.Errorf("scope %v, want %q", tr["scope"], patScope)
		}
	}},
	{name: "token exchange: subject-data scopes pass; openid is optional", run: func(t *testing.T, z *instance) {
		guest := z.guest(t)
		tr := ok(t, z.token(t, z.exchange(guest, url.Values{"scope": {"openid email phone"}})))
		if tr["scope"] != "openid email phone" {
			t.Errorf("scope %v", tr["scope"])
		}
		tr = ok(t, z.token(t, z.exchange(guest, url.Values{"scope": {"profile email"}})))
		if tr["id_token"] != nil {
			t.Errorf("an ID token without openid: %v", tr)
		}
	}},
	{name: "token exchange: authorization scopes must be on a token: offline_access with a PAT is invalid_scope", run: func(t *testing.T, z *instance) {
		wantOAuthError(t, z.token(t, z.exchange(z.guest(t), url.Values{"scope": {"openid offline_access"}})), http.StatusBadRequest,
			"invalid_scope", `scope "offline_access" not found in subject or actor token`)
	}},
	{name: "token exchange: audience not on the tokens and any resource are invalid_target", run: func(t *testing.T, z *instance) {
		guest := z.guest(t)
		wantOAuthError(t, z.token(t, z.exchange(guest, url.Values{"audience": {"elsewhere"}})), http.StatusBadRequest,
			"invalid_target", `audience "elsewhere" not found in subject or actor token`)
		wantOAuthError(t, z.token(t, z.exchange(guest, url.Values{"resource": {"https://api.example.com"}})), http.StatusBadRequest,
			"invalid_target", "resource parameter not supported")
	}},
	{name: "token exchange: an unknown user is \"subject_token invalid\"", run: func(t *testing.T, z *instance) {
		wantOAuthError(t, z.token(t, z.exchange(randomID("nobody"), nil)), http.StatusBadRequest, "invalid_request", "subject_token invalid")
	}},
	{name: "token exchange: missing and unsupported token types", run: func(t *testing.T, z *instance) {
		guest := z.guest(t)
		for desc, extra := range map[string]url.Values{
			"subject_token missing":                       {"subject_token": {""}},
			"subject_token_type missing":                  {"subject_token_type": {""}},
			"subject_token_type is not supported":         {"subject_token_type": {"urn:example:unknown"}},
			"requested_token_type is not supported":       {"requested_token_type": {"urn:example:unknown"}},
			"actor_token_type is not supported":           {"actor_token_type": {"urn:example:unknown"}},
			"Errors.TokenExchange.Token.TypeNotSupported": {"requested_token_type": {typeRefresh}},
		} {
			wantOAuthError(t, z.token(t, z.exchange(guest, extra)), http.StatusBadRequest, "invalid_request", desc)
		}
	}},
	{name: "token exchange: a bad or untyped actor token is \"actor_token invalid\"", run: func(t *testing.T, z *instance) {
		guest := z.guest(t)
		for _, extra := range []url.Values{{"actor_token": {"nope"}}, {"actor_token_type": {""}}, {"actor_token": {""}}} {
			wantOAuthError(t, z.token(t, z.exchange(guest, extra)), http.StatusBadRequest, "invalid_request", "actor_token invalid")
		}
	}},
	{name: "token exchange: a standard exchange of an impersonated token keeps its act", run: func(t *testing.T, z *instance) {
		guest, at := z.impersonatedToken(t, typeJWT)
		tr := ok(t, z.token(t, url.Values{"grant_type": {grantExchange}, "client_id": {z.clientID}, "subject_token": {at},
			"subject_token_type": {typeAccess}, "requested_token_type": {typeJWT}}))
		again := z.claims(t, tr["access_token"].(string))
		if again["sub"] != guest || !cmp.Equal(again["act"], z.claims(t, at)["act"]) {
			t.Errorf("claims %v", again)
		}
	}},
	{name: "token exchange: an unknown client is invalid_client", run: func(t *testing.T, z *instance) {
		ex := z.exchange(z.guest(t), nil)
		ex.Set("client_id", randomID("nobody"))
		wantOAuthError(t, z.token(t, ex), http.StatusBadRequest, "invalid_client", "no active client not found")
	}},
	{name: "token exchange: the impersonation policy disabled is 403", fakeOnly: "flips the instance security policy",
		run: func(t *testing.T, _ *instance) {
			z := own(t)
			z.fake.SetImpersonation(false)
			wantOAuthError(t, z.token(t, z.exchange(z.guest(t), nil)), http.StatusForbidden, "invalid_request",
				"Errors.TokenExchange.Impersonation.PolicyDisabled")
		}},
	{name: "token exchange: an actor without the impersonation permission is 403, without memberships 404", fakeOnly: "needs machine users with chosen roles",
		run: func(t *testing.T, z *instance) {
			manager, _ := z.fake.AddMachineUser(zitadeltest.NewMachine{Username: randomID("manager"), Roles: []zitadeltest.Role{zitadeltest.RoleIAMUserManager}})
			none, _ := z.fake.AddMachineUser(zitadeltest.NewMachine{Username: randomID("none")})
			guest := z.guest(t)
			ex := z.exchange(guest, url.Values{"actor_token": {manager.PAT}})
			wantOAuthError(t, z.token(t, ex), http.StatusForbidden, "invalid_request", "No matching permissions found")
			ex.Set("actor_token", none.PAT)
			ex.Set("requested_token_type", typeJWT)
			wantOAuthError(t, z.token(t, ex), http.StatusNotFound, "invalid_request", "membership not found")
			// The id_token path never checks the permission (docs/zitadel.md §6.7).
			ex.Set("requested_token_type", typeIDToken)
			ok(t, z.token(t, ex))
		}},
	{name: "token exchange: ORG_END_USER_IMPERSONATOR impersonates in its own organization only", fakeOnly: "needs a second organization and an organization-scoped machine user",
		run: func(t *testing.T, z *instance) {
			other, _ := z.fake.AddOrganization(randomID("Other"))
			orgImp, _ := z.fake.AddMachineUser(zitadeltest.NewMachine{Username: randomID("org-imp"),
				Roles: []zitadeltest.Role{zitadeltest.RoleOrgEndUserImpersonator}})
			ok(t, z.token(t, z.exchange(z.guest(t), url.Values{"actor_token": {orgImp.PAT}})))
			stranger, err := z.fake.AddHumanUser(zitadeltest.NewHuman{OrganizationID: other, GivenName: "S", FamilyName: "T",
				Email: randomID("s") + "@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			wantOAuthError(t, z.token(t, z.exchange(stranger, url.Values{"actor_token": {orgImp.PAT}})), http.StatusNotFound,
				"invalid_request", "membership not found")
		}},
	{name: "token exchange: an application without the grant is unauthorized_client", fakeOnly: "needs a second application",
		run: func(t *testing.T, z *instance) {
			app, err := z.fake.AddApp(zitadeltest.NewApp{Name: randomID("web"), AuthMethod: zitadeltest.AuthMethodNone})
			if err != nil {
				t.Fatal(err)
			}
			ex := z.exchange(z.guest(t), nil)
			ex.Set("client_id", app)
			wantOAuthError(t, z.token(t, ex), http.StatusBadRequest, "unauthorized_client",
				`grant_type "urn:ietf:params:oauth:grant-type:token-exchange" not allowed`)
		}},
	{name: "token exchange: projection lag: \"subject_token invalid\" until GetUserByID", fakeOnly: "an option of the fake (SetProjectionLag)",
		run: func(t *testing.T, _ *instance) {
			z := own(t)
			z.fake.SetProjectionLag(time.Hour)
			guest := z.guest(t)
			wantOAuthError(t, z.token(t, z.exchange(guest, nil)), http.StatusBadRequest, "invalid_request", "subject_token invalid")
			ok(t, z.connect(t, "GetUserByID", `{"userId":"`+guest+`"}`))
			ok(t, z.token(t, z.exchange(guest, nil)))
		}},
	{name: "token exchange: projection lag: \"subject_token invalid\" until the delay passes", fakeOnly: "an option of the fake (WithProjectionLag, Advance)",
		run: func(t *testing.T, _ *instance) {
			z := own(t, zitadeltest.WithProjectionLag(time.Second))
			guest := z.guest(t)
			wantOAuthError(t, z.token(t, z.exchange(guest, nil)), http.StatusBadRequest, "invalid_request", "subject_token invalid")
			z.fake.Advance(time.Second)
			ok(t, z.token(t, z.exchange(guest, nil)))
		}},
	{name: "token exchange: off by default, right after CreateUser the fake finds the user", fakeOnly: "a real ZITADEL may lag (docs/zitadel.md §6.7)",
		run: func(t *testing.T, z *instance) {
			ok(t, z.token(t, z.exchange(z.guest(t), nil)))
		}},
}
