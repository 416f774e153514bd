package zitadeltest

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

const callback = "https://app.example.com/callback"

// browser is a client that does not follow redirects.
func browser(s *Server) *http.Client {
	c := s.NewBrowser() // its own cookie jar: the fake binds auth requests to the browser
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func get(t *testing.T, c *http.Client, u string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return response{status: resp.StatusCode, header: resp.Header, body: readAll(t, resp)}
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return response{status: resp.StatusCode, header: resp.Header, body: readAll(t, resp)}
}

func pkce(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize starts a flow and returns the login page's URL.
func authorize(t *testing.T, s *Server, c *http.Client, scope, verifier, hint string) string {
	t.Helper()
	q := url.Values{
		"client_id": {s.ClientID()}, "redirect_uri": {callback}, "response_type": {"code"}, "scope": {scope},
		"state": {"st-1"}, "nonce": {"n-1"}, "code_challenge": {pkce(verifier)}, "code_challenge_method": {"S256"},
		"login_hint": {hint},
	}
	r := get(t, c, s.URL+zitadel.PathAuthorize+"?"+q.Encode())
	loc := r.header.Get("Location")
	if r.status != http.StatusFound || !strings.HasPrefix(loc, pathLogin+"?authRequestID=") {
		t.Fatalf("authorize: %d Location %q %s", r.status, loc, r.body)
	}
	return s.URL + loc
}

// login posts credentials for the auth request of loginURL.
func login(t *testing.T, s *Server, c *http.Client, loginURL, name, password string) response {
	t.Helper()
	u, _ := url.Parse(loginURL)
	return postForm(t, c, s.URL+pathLogin, url.Values{
		"authRequestID": {u.Query().Get("authRequestID")}, "loginName": {name}, "password": {password},
	})
}

// codeFrom reads the code of a successful login's redirect.
func codeFrom(t *testing.T, r response) string {
	t.Helper()
	loc, err := url.Parse(r.header.Get("Location"))
	if r.status != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), callback+"?") {
		t.Fatalf("login: %d Location %q %s", r.status, r.header.Get("Location"), r.body)
	}
	if loc.Query().Get("state") != "st-1" {
		t.Errorf("state = %q", loc.Query().Get("state"))
	}
	return loc.Query().Get("code")
}

func TestAuthorizationCodeFlow(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	if err := s.SetRedirectURIs(s.ClientID(), callback); err != nil {
		t.Fatal(err)
	}
	id, err := s.AddHumanUser(NewHuman{GivenName: "Ada", FamilyName: "Lovelace", Email: "ada@example.com",
		EmailVerified: true, Password: "Secr3tP4ssw0rd!"})
	if err != nil {
		t.Fatal(err)
	}
	c := browser(s)
	const verifier = "a-long-enough-code-verifier-0123456789-abcdefghijklmnop"
	loginURL := authorize(t, s, c, "openid profile email offline_access "+zitadel.ScopeZitadelAPIAudience, verifier, "ada@example.com")

	page := get(t, c, loginURL)
	if page.status != http.StatusOK || !strings.Contains(string(page.body), `value="ada@example.com"`) {
		t.Fatalf("login page: %d %s", page.status, page.body)
	}
	bad := login(t, s, c, loginURL, "ada@example.com", "wrong")
	if bad.status != http.StatusOK || !strings.Contains(string(bad.body), "Password is invalid") {
		t.Errorf("wrong password: %d %s", bad.status, bad.body)
	}
	code := codeFrom(t, login(t, s, c, loginURL, "ADA@example.com", "Secr3tP4ssw0rd!"))

	exchange := url.Values{
		"grant_type": {zitadel.GrantAuthorizationCode}, "code": {code}, "redirect_uri": {callback},
		"client_id": {s.ClientID()}, "code_verifier": {"wrong-verifier"},
	}
	checkJSON(t, form(t, s, zitadel.PathToken, exchange, "", ""), http.StatusBadRequest,
		`{"error":"invalid_grant","error_description":"invalid code challenge"}`)
	exchange.Set("code_verifier", verifier)
	r := form(t, s, zitadel.PathToken, exchange, "", "")
	tr := tokenResp(t, r)
	if state := r.json(t).(map[string]any)["state"]; state != "st-1" || tr.TokenType != "Bearer" ||
		tr.ExpiresIn != 43200 || tr.RefreshToken == "" || tr.IssuedTokenType != "" || tr.Scope != "" {
		t.Errorf("token response %s", r.body)
	}
	checkJSON(t, form(t, s, zitadel.PathToken, exchange, "", ""), http.StatusBadRequest,
		`{"error":"invalid_request","error_description":"Errors.User.Code.Invalid"}`)

	now := float64(testTime().Unix())
	idt := verifiedClaims(t, s, tr.IDToken)
	sum := sha256.Sum256([]byte(tr.AccessToken))
	wantID := map[string]any{
		"iss": s.URL, "sub": id, "aud": idt["aud"], "exp": now + 43200, "iat": now, "auth_time": now,
		"nonce": "n-1", "amr": []any{"pwd"}, "azp": s.ClientID(), "client_id": s.ClientID(), "sid": idt["sid"],
		"at_hash": base64.RawURLEncoding.EncodeToString(sum[:16]),
		"name":    "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace", "preferred_username": "ada@example.com",
		"updated_at": now, "email": "ada@example.com", "email_verified": true,
	}
	if diff := cmp.Diff(wantID, idt); diff != "" {
		t.Errorf("ID token (-want +got):\n%s", diff)
	}
	if aud := idt["aud"].([]any); len(aud) != 3 || aud[0] != s.ClientID() || aud[1] != s.ProjectID() {
		t.Errorf("aud = %v, want [client project <ZITADEL project>]", aud)
	}
	at := verifiedClaims(t, s, tr.AccessToken)
	if at["sub"] != id || at["client_id"] != s.ClientID() || at["act"] != nil || at["email"] != nil {
		t.Errorf("access token claims %v", at)
	}
	// Without ZITADEL's project in the audience the API refuses the token.
	c = browser(s) // signed in, c would skip the login page
	plain := codeFrom(t, login(t, s, c, authorize(t, s, c, "openid", verifier, ""), "ada@example.com", "Secr3tP4ssw0rd!"))
	plainTokens := tokenResp(t, form(t, s, zitadel.PathToken, url.Values{
		"grant_type": {zitadel.GrantAuthorizationCode}, "code": {plain}, "redirect_uri": {callback},
		"client_id": {s.ClientID()}, "code_verifier": {verifier},
	}, "", ""))
	checkJSON(t, connect(t, s, plainTokens.AccessToken, "GetUserByID", `{"userId":"`+id+`"}`), http.StatusUnauthorized,
		connectError("unauthenticated", "APP-Zxfako", "invalid audience"))
	// With ZITADEL's project in the audience the user may read itself.
	if r := connect(t, s, tr.AccessToken, "GetUserByID", `{"userId":"`+id+`"}`); r.status != http.StatusOK {
		t.Errorf("self read: %d %s", r.status, r.body)
	}
	if r := connect(t, s, tr.AccessToken, "GetUserByID", `{"userId":"`+s.ServiceAccount().ID+`"}`); r.status != http.StatusNotFound {
		t.Errorf("reading another user without memberships: %d %s", r.status, r.body)
	}

	// Refresh rotates the refresh token.
	refresh := url.Values{"grant_type": {zitadel.GrantRefreshToken}, "refresh_token": {tr.RefreshToken}, "client_id": {s.ClientID()}}
	tr2 := tokenResp(t, form(t, s, zitadel.PathToken, refresh, "", ""))
	if tr2.RefreshToken == "" || tr2.RefreshToken == tr.RefreshToken || tr2.IDToken == "" {
		t.Errorf("refresh response %+v", tr2)
	}
	checkJSON(t, form(t, s, zitadel.PathToken, refresh, "", ""), http.StatusBadRequest,
		`{"error":"invalid_request","error_description":"Errors.User.RefreshToken.Invalid"}`)

	// Codes expire after ten minutes.
	c = browser(s) // a new browser: c is signed in and would skip the login page
	code = codeFrom(t, login(t, s, c, authorize(t, s, c, "openid", verifier, ""), "ada@example.com", "Secr3tP4ssw0rd!"))
	s.Advance(10 * time.Minute)
	exchange.Set("code", code)
	checkJSON(t, form(t, s, zitadel.PathToken, exchange, "", ""), http.StatusBadRequest,
		`{"error":"invalid_request","error_description":"Errors.User.Code.Invalid"}`)
}

func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	if err := s.SetRedirectURIs(s.ClientID(), callback); err != nil {
		t.Fatal(err)
	}
	deleted, _ := s.AddHumanUser(NewHuman{GivenName: "D", FamilyName: "D", Email: "deleted@example.com", Password: "Secr3tP4ssw0rd!"})
	if r := connect(t, s, s.ServiceAccount().PAT, "DeleteUser", `{"userId":"`+deleted+`"}`); r.status != http.StatusOK {
		t.Fatal(r.status)
	}
	c := browser(s)
	for _, name := range []string{"deleted@example.com", s.ServiceAccount().Username, "nobody"} {
		r := login(t, s, c, authorize(t, s, c, "openid", "verifier-verifier-verifier-verifier-verifier", ""), name, "Secr3tP4ssw0rd!")
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "User could not be found") {
			t.Errorf("login as %s: %d %s", name, r.status, r.body)
		}
	}
}

func TestAuthorizeErrors(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	if err := s.SetRedirectURIs(s.ClientID(), callback); err != nil {
		t.Fatal(err)
	}
	exchangeOnly, err := s.AddApp(NewApp{Name: "exchange-only", RedirectURIs: []string{callback},
		GrantTypes: []string{zitadel.GrantTokenExchange}, AuthMethod: AuthMethodNone})
	if err != nil {
		t.Fatal(err)
	}
	c := browser(s)
	base := func(mod func(url.Values)) string {
		q := url.Values{"client_id": {s.ClientID()}, "redirect_uri": {callback}, "response_type": {"code"},
			"scope": {"openid"}, "state": {"s"}, "code_challenge": {pkce("v")}, "code_challenge_method": {"S256"}}
		mod(q)
		return s.URL + zitadel.PathAuthorize + "?" + q.Encode()
	}
	tests := []struct {
		name       string
		mod        func(url.Values)
		wantStatus int
		wantBody   string // JSON body, or the Location for redirects
	}{
		{"unregistered redirect", func(q url.Values) { q.Set("redirect_uri", "https://evil.example.com/cb") }, 400,
			`{"error":"invalid_request","error_description":"The requested redirect_uri is missing in the client configuration. If you have any questions, you may contact the administrator of the application."}`},
		{"missing redirect", func(q url.Values) { q.Del("redirect_uri") }, 400,
			`{"error":"invalid_request","error_description":"auth request is missing redirect_uri"}`},
		{"no scope", func(q url.Values) { q.Del("scope") }, 400,
			`{"error":"invalid_request","error_description":"The scope of your request is missing. Please ensure some scopes are requested. If you have any questions, you may contact the administrator of the application."}`},
		{"token response type", func(q url.Values) { q.Set("response_type", "token") }, 400,
			`{"error":"unauthorized_client","error_description":"The requested response type is missing in the client configuration. If you have any questions, you may contact the administrator of the application."}`},
		{"app without the code grant", func(q url.Values) { q.Set("client_id", exchangeOnly) }, 400,
			`{"error":"unauthorized_client","error_description":"The requested response type is missing in the client configuration. If you have any questions, you may contact the administrator of the application."}`},
		{"unknown client", func(q url.Values) { q.Set("client_id", "nope") }, 400,
			`{"error":"invalid_request","error_description":"unable to retrieve client by id"}`},
		{"no PKCE for a public client", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, 302,
			callback + "?error=invalid_request&error_description=code_challenge+required&state=s"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, 302,
			callback + "?error=invalid_request&error_description=code_challenge_method+is+not+supported&state=s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := get(t, c, base(tt.mod))
			if tt.wantStatus == http.StatusFound {
				if r.status != tt.wantStatus || r.header.Get("Location") != tt.wantBody {
					t.Errorf("%d Location %q, want %q", r.status, r.header.Get("Location"), tt.wantBody)
				}
				return
			}
			checkJSON(t, r, tt.wantStatus, tt.wantBody)
		})
	}
}
