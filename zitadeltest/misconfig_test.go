package zitadeltest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// post sends a request to s and returns the status and body.
func post(t *testing.T, s *Server, path, contentType, body, bearer string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestGetInstance(t *testing.T) {
	t.Parallel()
	s := Start(t)
	viewer, err := s.AddMachineUser(NewMachine{Username: "viewer", Roles: []Role{RoleIAMOwnerViewer}})
	if err != nil {
		t.Fatal(err)
	}
	path := zitadel.InstanceServicePath + zitadel.MethodGetInstance
	for _, c := range []struct {
		name, bearer, version string
		status                int
		want                  string
	}{
		{"default version", viewer.PAT, "", 200, `"version":"` + DefaultVersion + `"`},
		{"set version", viewer.PAT, "v4.15.3", 200, `"version":"v4.15.3"`},
		{"user manager lacks iam.read", s.ServiceAccount().PAT, "", 403, `"AUTH-AWfge"`},
		{"no token", "", "", 401, `"unauthenticated"`},
	} {
		if c.version != "" {
			s.SetVersion(c.version)
		}
		status, body := post(t, s, path, "application/json", `{}`, c.bearer)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s; want %d with %s", c.name, status, body, c.status, c.want)
		}
	}
}

func TestSetDiscoveryIssuer(t *testing.T) {
	t.Parallel()
	s := Start(t)
	issuer := func() string {
		resp, err := s.Client().Get(s.URL + zitadel.PathDiscovery)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d struct {
			Issuer string `json:"issuer"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d.Issuer
	}
	s.SetDiscoveryIssuer("https://other.example")
	if got := issuer(); got != "https://other.example" {
		t.Errorf("issuer %q, want https://other.example", got)
	}
	s.SetDiscoveryIssuer("")
	if got := issuer(); got != s.URL {
		t.Errorf("issuer %q, want %q", got, s.URL)
	}
}

func TestRevokeTokens(t *testing.T) {
	t.Parallel()
	s := Start(t)
	pat := s.ServiceAccount().PAT
	list := zitadel.UserServicePath + zitadel.MethodListUsers
	if status, body := post(t, s, list, "application/json", `{"query":{"limit":1}}`, pat); status != 200 {
		t.Fatalf("before: %d %s", status, body)
	}
	if !s.RevokeTokens(s.ServiceAccount().ID) {
		t.Fatal("RevokeTokens = false for the service account")
	}
	if status, body := post(t, s, list, "application/json", `{"query":{"limit":1}}`, pat); status != 401 || !strings.Contains(body, idAuthTokenInvalid) {
		t.Errorf("after: %d %s; want 401 %s", status, body, idAuthTokenInvalid)
	}
	if s.RevokeTokens("nobody") {
		t.Error("RevokeTokens = true for an unknown user")
	}
}

func TestSetScopeRegression(t *testing.T) {
	t.Parallel()
	s := Start(t)
	guest, err := s.AddHumanUser(NewHuman{GivenName: "G", FamilyName: "U", Email: "g@guest.invalid"})
	if err != nil {
		t.Fatal(err)
	}
	exchange := func(scope string) (int, string) {
		form := url.Values{
			"grant_type": {zitadel.GrantTokenExchange}, "client_id": {s.ClientID()},
			"subject_token": {guest}, "subject_token_type": {zitadel.TokenTypeUserID},
			"actor_token": {s.ServiceAccount().PAT}, "actor_token_type": {zitadel.TokenTypeAccessToken},
			"requested_token_type": {zitadel.TokenTypeJWT},
		}
		if scope != "" {
			form.Set("scope", scope)
		}
		return post(t, s, zitadel.PathToken, "application/x-www-form-urlencoded", form.Encode(), "")
	}
	s.SetScopeRegression(true)
	for _, c := range []struct {
		scope  string
		status int
		want   string
	}{
		{"openid profile", 400, `{"error":"invalid_scope","error_description":"scope \"openid\" not found in subject or actor token"}`},
		{"profile", 400, `scope \"profile\" not found in subject or actor token`},
		{"", 200, `"access_token"`}, // no scope: the actor's scopes, nothing to refuse
	} {
		if status, body := exchange(c.scope); status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("scope %q: %d %s; want %d with %s", c.scope, status, body, c.status, c.want)
		}
	}
	s.SetScopeRegression(false)
	if status, body := exchange("openid profile"); status != 200 {
		t.Errorf("regression off: %d %s", status, body)
	}
}
