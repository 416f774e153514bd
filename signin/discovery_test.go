package signin_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow/signin"
)

// provider serves a discovery document built by doc from its own URL.
func provider(t *testing.T, status int, doc func(base string) any) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		switch d := doc(srv.URL).(type) {
		case string:
			_, _ = w.Write([]byte(d))
		default:
			_ = json.NewEncoder(w).Encode(d)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func metadata(base string) map[string]any {
	return map[string]any{"issuer": base, "authorization_endpoint": base + "/oauth/v2/authorize",
		"token_endpoint": base + "/oauth/v2/token", "jwks_uri": base + "/oauth/v2/keys",
		"end_session_endpoint": base + "/oidc/v1/end_session", "code_challenge_methods_supported": []string{"S256"}}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	with := func(change func(m map[string]any, base string)) func(string) any {
		return func(base string) any { m := metadata(base); change(m, base); return m }
	}
	for _, c := range []struct {
		name   string
		status int
		doc    func(string) any
		want   string // error text, "" for success
	}{
		{"valid", 200, func(b string) any { return metadata(b) }, ""},
		{"issuer with a slash", 200, with(func(m map[string]any, b string) { m["issuer"] = b + "/" }), "does not match"},
		{"other issuer", 200, with(func(m map[string]any, _ string) { m["issuer"] = "https://evil.example" }), "does not match"},
		{"no token endpoint", 200, with(func(m map[string]any, _ string) { delete(m, "token_endpoint") }), "lacks"},
		{"no S256", 200, with(func(m map[string]any, _ string) { m["code_challenge_methods_supported"] = []string{"plain"} }), "PKCE S256"},
		{"not JSON", 200, func(string) any { return "<html>" }, "discovery"},
		{"HTTP 500", 500, func(b string) any { return metadata(b) }, "HTTP 500"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := provider(t, c.status, c.doc)
			_, err := signin.New(t.Context(), signin.Config{Issuer: p.URL, ClientID: "c",
				RedirectURL: "http://127.0.0.1/callback", Secrets: [][]byte{secret}, HTTPClient: p.Client()})
			switch {
			case c.want == "" && err != nil:
				t.Errorf("New: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "shadow: ")):
				t.Errorf("New: %v, want an error containing %q", err, c.want)
			}
			if strings.Contains(c.want, "match") && !errors.Is(err, signin.ErrIssuerMismatch) {
				t.Errorf("%v is not ErrIssuerMismatch", err)
			}
		})
	}
}

func TestLogoutURL(t *testing.T) {
	t.Parallel()
	p := provider(t, 200, func(b string) any { return metadata(b) })
	f, err := signin.New(t.Context(), signin.Config{Issuer: p.URL, ClientID: "client-1", RedirectURL: "http://127.0.0.1/callback",
		PostLogoutRedirectURL: "http://127.0.0.1/", Secrets: [][]byte{secret}, HTTPClient: p.Client()})
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.LogoutURL("id.token.hint", "st")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := url.Parse(u)
	want := url.Values{"client_id": {"client-1"}, "id_token_hint": {"id.token.hint"}, "post_logout_redirect_uri": {"http://127.0.0.1/"}, "state": {"st"}}
	if diff := cmp.Diff(want, got.Query()); diff != "" || got.Path != "/oidc/v1/end_session" {
		t.Errorf("LogoutURL %s (-want +got):\n%s", u, diff)
	}
	noEnd := provider(t, 200, func(b string) any { m := metadata(b); delete(m, "end_session_endpoint"); return m })
	f, err = signin.New(t.Context(), signin.Config{Issuer: noEnd.URL, ClientID: "c", RedirectURL: "http://127.0.0.1/callback",
		Secrets: [][]byte{secret}, HTTPClient: noEnd.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.LogoutURL("", ""); !errors.Is(err, signin.ErrNoEndSession) {
		t.Errorf("LogoutURL without end_session_endpoint: %v", err)
	}
}
