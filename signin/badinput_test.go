package signin_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/signin"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

func query(t *testing.T, u, key string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query().Get(key)
}

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func newRequest(t *testing.T, target string) *http.Request {
	t.Helper()
	return httptest.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
}

// recorderFor is the request the browser b would send to u (an app URL),
// with its cookies, and a recorder for the answer.
func recorderFor(t *testing.T, b *browser, u string) (*httptest.ResponseRecorder, *http.Request) {
	t.Helper()
	r := newRequest(t, u)
	base, _ := url.Parse(b.a.srv.URL + "/callback")
	for _, c := range b.c.Jar.Cookies(base) {
		r.AddCookie(c)
	}
	return httptest.NewRecorder(), r
}

// clock is a settable clock for the Flow.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// started begins a sign-in on f with a recorder and returns the state,
// the state cookie and the browser cookie the state is bound to (set now,
// or already in r).
func started(t *testing.T, f *signin.Flow, r *http.Request) (state string, cookie, browser *http.Cookie) {
	t.Helper()
	w := httptest.NewRecorder()
	u, err := f.AuthCodeURL(w, r)
	if err != nil {
		t.Fatal(err)
	}
	state = query(t, u, "state")
	for _, c := range w.Result().Cookies() {
		switch {
		case strings.HasSuffix(c.Name, state):
			cookie = c
		case strings.HasSuffix(c.Name, "shadow-browser"):
			browser = c
		default:
			t.Fatalf("AuthCodeURL set the cookie %s", c.Name)
		}
	}
	if browser == nil {
		for _, c := range r.Cookies() {
			if strings.HasSuffix(c.Name, "shadow-browser") {
				browser = c
			}
		}
	}
	if cookie == nil || browser == nil {
		t.Fatalf("AuthCodeURL set state cookie %v, browser cookie %v; want both", cookie, browser)
	}
	return state, cookie, browser
}

func callback(t *testing.T, f *signin.Flow, q string, cookies ...*http.Cookie) (*signin.Result, error) {
	t.Helper()
	r := newRequest(t, "http://127.0.0.1/callback?"+q)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return f.Callback(httptest.NewRecorder(), r)
}

// TestBadCallbacks: every malformed or foreign callback is a typed error,
// nothing is exchanged (the fake sees no code grant) and nothing merged.
func TestBadCallbacks(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now()}
	a := newApp(t, appOptions{config: func(c *signin.Config) { c.Clock = clk.Now }})
	other, err := signin.New(t.Context(), signin.Config{Issuer: a.fake.Issuer(), ClientID: a.fake.ClientID(),
		RedirectURL: a.srv.URL + "/callback", Secrets: [][]byte{[]byte(strings.Repeat("x", 32))}, HTTPClient: a.fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	b := a.browser(t)
	b.addToCart("mug")
	guest := b.guestID()
	_, withGuest := recorderFor(t, b, a.srv.URL+"/login")

	state, cookie, bc := started(t, a.flow, withGuest)
	withGuest.AddCookie(bc) // later sign-ins of this browser reuse it
	foreignState, foreignCookie, _ := started(t, other, newRequest(t, "/login"))
	renamed := *foreignCookie
	renamed.Name = strings.Replace(renamed.Name, foreignState, state, 1)
	tampered := *cookie
	tampered.Value = tampered.Value[:len(tampered.Value)-3] + "AAA"
	for _, c := range []struct {
		name    string
		q       string
		cookies []*http.Cookie
		want    error
	}{
		{"no state", "code=abc", []*http.Cookie{bc, cookie}, signin.ErrNoState},
		{"state of no sign-in", "code=abc&state=" + strings.Repeat("A", 22), []*http.Cookie{bc, cookie}, signin.ErrUnknownState},
		{"malformed state", "code=abc&state=%00%01", []*http.Cookie{bc, cookie}, signin.ErrUnknownState},
		{"no cookie (another browser)", "code=abc&state=" + state, []*http.Cookie{bc}, signin.ErrUnknownState},
		{"no browser cookie (a tossed state cookie)", "code=abc&state=" + state, []*http.Cookie{cookie}, signin.ErrUnknownState},
		{"another browser cookie", "code=abc&state=" + state, []*http.Cookie{{Name: bc.Name, Value: strings.Repeat("B", 22)}, cookie}, signin.ErrUnknownState},
		{"cookie sealed by another app", "code=abc&state=" + state, []*http.Cookie{bc, &renamed}, signin.ErrInvalidState},
		{"tampered cookie", "code=abc&state=" + state, []*http.Cookie{bc, &tampered}, signin.ErrInvalidState},
		{"error parameter", "error=access_denied&error_description=cancelled&state=" + state, []*http.Cookie{bc, cookie}, signin.ErrAuthorization},
		{"replayed state", "error=access_denied&state=" + state, []*http.Cookie{bc, cookie}, signin.ErrReplayedState},
	} {
		res, err := callback(t, a.flow, c.q, c.cookies...)
		if !errors.Is(err, c.want) || res != nil {
			t.Errorf("%s: %v %v, want %v", c.name, res, err, c.want)
		}
		if errors.Is(c.want, signin.ErrBadCallback) && !signin.IsBadRequest(err) {
			t.Errorf("%s: IsBadRequest false", c.name)
		}
	}
	var ae *signin.AuthorizationError
	state2, cookie2, _ := started(t, a.flow, withGuest)
	if _, err := callback(t, a.flow, "error=access_denied&error_description=cancelled&state="+state2, bc, cookie2); !errors.As(err, &ae) ||
		ae.Code != "access_denied" || ae.Description != "cancelled" {
		t.Errorf("error parameter: %v", err)
	}
	state3, cookie3, _ := started(t, a.flow, withGuest)
	clk.now = clk.now.Add(signin.DefaultStateLifetime + time.Second)
	if _, err := callback(t, a.flow, "code=abc&state="+state3, bc, cookie3); !errors.Is(err, signin.ErrExpiredState) {
		t.Errorf("expired state: %v, want ErrExpiredState", err)
	}
	if n := a.fake.Count(zitadeltest.OpTokenAuthorizationCode); n != 0 {
		t.Errorf("%d code exchanges, want none", n)
	}
	if !a.exists(guest) || b.guestID() != guest {
		t.Error("guest touched by a bad callback")
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	for name, cfg := range map[string]signin.Config{
		"empty":           {},
		"short secret":    {Issuer: a.fake.Issuer(), ClientID: "c", RedirectURL: "https://app.example/cb", Secrets: [][]byte{[]byte("short")}},
		"http redirect":   {Issuer: a.fake.Issuer(), ClientID: "c", RedirectURL: "http://app.example/cb", Secrets: [][]byte{secret}},
		"http issuer":     {Issuer: "http://zitadel.example", ClientID: "c", RedirectURL: "https://app.example/cb", Secrets: [][]byte{secret}},
		"negative expiry": {Issuer: a.fake.Issuer(), ClientID: "c", RedirectURL: "https://app.example/cb", Secrets: [][]byte{secret}, StateLifetime: -1},
		"http post-logout": {Issuer: a.fake.Issuer(), ClientID: "c", RedirectURL: "https://app.example/cb",
			PostLogoutRedirectURL: "http://app.example/", Secrets: [][]byte{secret}, HTTPClient: a.fake.Client()},
		// Names that merely start like a loopback address are other hosts.
		"http redirect, 127. name": {Issuer: a.fake.Issuer(), ClientID: "c", RedirectURL: "http://127.0.0.1.nip.example/cb", Secrets: [][]byte{secret}, HTTPClient: a.fake.Client()},
		"http redirect, 127 label": {Issuer: a.fake.Issuer(), ClientID: "c", RedirectURL: "http://127.attacker.example/cb", Secrets: [][]byte{secret}, HTTPClient: a.fake.Client()},
	} {
		if _, err := signin.New(t.Context(), cfg); err == nil || !strings.HasPrefix(err.Error(), "shadow: ") {
			t.Errorf("%s: %v, want a shadow: error", name, err)
		}
	}
	// Refused by the configuration check, before any network call.
	if _, err := signin.New(t.Context(), signin.Config{Issuer: "http://127.attacker.example", ClientID: "c",
		RedirectURL: "https://app.example/cb", Secrets: [][]byte{secret}}); err == nil || !strings.Contains(err.Error(), "is not an https URL") {
		t.Errorf("http issuer named 127.attacker.example: %v, want refused as not https", err)
	}
	if _, err := a.flow.AuthCodeURL(httptest.NewRecorder(), newRequest(t, "/login"), signin.WithPrompt("consent")); err == nil {
		t.Error("unknown prompt accepted")
	}
}

// TestPendingSignInsTakeNoServerMemory: any number of started sign-ins
// leave nothing on the server; each is one cookie on its browser.
func TestManyTabs(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	a.customer(t, "ada@example.com")
	b := a.browser(t)
	var urls []string
	for range 20 {
		urls = append(urls, b.startLogin(""))
	}
	for i, u := range urls {
		var cb string
		var err error
		if i == 0 {
			cb, err = a.fake.SignIn(b.c, u, "ada@example.com", password)
		} else {
			cb, err = a.fake.SignInSilently(b.c, u)
		}
		if err != nil {
			t.Fatal(err)
		}
		if status, body := b.get(cb); status != http.StatusOK {
			t.Fatalf("tab %d: %d %+v", i, status, body)
		}
	}
}

var _ = shadow.ErrInvalidToken
