package shadow_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
)

// intent is a first-intent request from a browser (browser id cookie set
// by an earlier page view) at addr.
func intent(t *testing.T, browserID, addr string) *http.Request {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "https://shop.example/cart", nil)
	r.RemoteAddr = addr
	if browserID != "" {
		r.AddCookie(&http.Cookie{Name: shadow.DefaultCookieName + "-b", Value: browserID})
	}
	return r
}

func browserID(i int) string { return fmt.Sprintf("browser-%016d", i) }

func TestProvisionLimitsPerClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithProvisionLimits(shadow.ProvisionLimits{PerClientPerMinute: 6, PerClientBurst: 2}))
	for i := range 2 {
		if _, err := e.mgr.EnsureGuest(newRecorder(), intent(t, "", "203.0.113.7:4000")); err != nil {
			t.Fatalf("guest %d within the burst: %v", i+1, err)
		}
	}
	_, err := e.mgr.EnsureGuest(newRecorder(), intent(t, "", "203.0.113.7:4001"))
	var rl *shadow.RateLimitError
	if !errors.Is(err, shadow.ErrRateLimited) || !errors.As(err, &rl) || rl.Global || rl.RetryAfter <= 0 || rl.RetryAfter > 10*time.Second {
		t.Fatalf("third guest from one client = %v, want a client RateLimitError of about 10 s", err)
	}
	if _, err := e.mgr.EnsureGuest(newRecorder(), intent(t, "", "198.51.100.9:4000")); err != nil {
		t.Errorf("another client is limited too: %v", err)
	}
	e.clock.Advance(10 * time.Second)
	if _, err := e.mgr.EnsureGuest(newRecorder(), intent(t, "", "203.0.113.7:4002")); err != nil {
		t.Errorf("after the refill: %v", err)
	}
	if n := len(e.fake.Users()); n != 1+4 {
		t.Errorf("%d guests, want 4", n-1)
	}
}

func TestProvisionLimitsGroupIPv6By64(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithProvisionLimits(shadow.ProvisionLimits{PerClientPerMinute: 1, PerClientBurst: 1}))
	if _, err := e.mgr.EnsureGuest(newRecorder(), intent(t, "", "[2001:db8:1:2::1]:443")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mgr.EnsureGuest(newRecorder(), intent(t, "", "[2001:db8:1:2:ffff::9]:443")); !errors.Is(err, shadow.ErrRateLimited) {
		t.Errorf("same /64 = %v, want ErrRateLimited", err)
	}
	if _, err := e.mgr.EnsureGuest(newRecorder(), intent(t, "", "[2001:db8:1:3::1]:443")); err != nil {
		t.Errorf("another /64: %v", err)
	}
}

func TestProvisionLimitsGlobal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithProvisionLimits(shadow.ProvisionLimits{PerClientPerMinute: -1, GlobalPerMinute: 3}))
	for i := range 3 {
		if _, err := e.mgr.EnsureGuest(newRecorder(), intent(t, "", "10.0.0."+strconv.Itoa(i)+":1")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.mgr.EnsureGuest(newRecorder(), intent(t, "", "10.0.1.1:1"))
	var rl *shadow.RateLimitError
	if !errors.As(err, &rl) || !rl.Global {
		t.Fatalf("fourth guest in a minute = %v, want the global limit", err)
	}
}

func TestGuestRequiredAnswers429(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithProvisionLimits(shadow.ProvisionLimits{PerClientPerMinute: 1, PerClientBurst: 1}))
	var served int
	h := e.mgr.GuestRequired(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := shadow.SessionFromContext(r.Context()); ok {
			served++
		}
	}))
	h.ServeHTTP(newRecorder(), intent(t, "", "192.0.2.1:1"))
	rec := newRecorder()
	h.ServeHTTP(rec, intent(t, "", "192.0.2.1:2"))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "60" || served != 1 {
		t.Errorf("second intent: HTTP %d, Retry-After %q, served %d; want 429, 60, 1", rec.Code, rec.Header().Get("Retry-After"), served)
	}
}

// TestConcurrentFirstIntents: 1,000 concurrent EnsureGuest calls from 100
// browsers, 10 each, create exactly one guest per browser, and every call
// of one browser gets that browser's guest.
func TestConcurrentFirstIntents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithProvisionLimits(shadow.ProvisionLimits{PerClientPerMinute: -1, GlobalPerMinute: -1}))
	const browsers, each = 100, 10
	got := make([][]string, browsers)
	var wg sync.WaitGroup
	for b := range browsers {
		got[b] = make([]string, each)
		for i := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := e.mgr.EnsureGuest(newRecorder(), intent(t, browserID(b), fmt.Sprintf("10.1.%d.%d:1", b/250, b%250)))
				if err != nil {
					t.Error(err)
					return
				}
				got[b][i] = s.GuestID
			}()
		}
	}
	wg.Wait()
	seen := map[string]int{}
	for b := range browsers {
		for i := range each {
			if got[b][i] != got[b][0] {
				t.Fatalf("browser %d got guests %s and %s", b, got[b][0], got[b][i])
			}
		}
		seen[got[b][0]]++
	}
	if len(seen) != browsers {
		t.Errorf("%d distinct guests for %d browsers", len(seen), browsers)
	}
	if n := len(e.fake.Users()) - 1; n != browsers {
		t.Errorf("%d guests in ZITADEL, want %d", n, browsers)
	}
}

// TestBrowserIDIsNotATicket: the same browser id from another client does
// not share the guest.
func TestBrowserIDIsNotATicket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, err := e.mgr.EnsureGuest(newRecorder(), intent(t, browserID(1), "192.0.2.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.mgr.EnsureGuest(newRecorder(), intent(t, browserID(1), "198.51.100.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	if a.GuestID == b.GuestID {
		t.Error("a stolen browser id from another network yielded the same guest")
	}
}

func TestMiddlewareSetsBrowserIDOnlyOnSuccessfulNavigations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>")) })
	for _, tc := range []struct {
		name    string
		method  string
		headers map[string]string
		handler http.Handler
		want    bool
	}{
		{"Navigation", http.MethodGet, map[string]string{"Sec-Fetch-Mode": "navigate"}, page, true},
		{"HTMLWithoutFetchMetadata", http.MethodGet, map[string]string{"Accept": "text/html,*/*"}, page, true},
		{"NotFoundPage", http.MethodGet, map[string]string{"Sec-Fetch-Mode": "navigate"}, http.NotFoundHandler(), false},
		{"FetchOfAnImage", http.MethodGet, map[string]string{"Sec-Fetch-Mode": "no-cors"}, page, false},
		{"APIRequest", http.MethodGet, map[string]string{"Accept": "application/json"}, page, false},
		{"Post", http.MethodPost, map[string]string{"Sec-Fetch-Mode": "navigate"}, page, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			r := httptest.NewRequestWithContext(t.Context(), tc.method, "https://shop.example/", nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			e.mgr.Middleware(tc.handler).ServeHTTP(rec, r)
			var found bool
			for _, c := range rec.Result().Cookies() {
				found = found || c.Name == shadow.DefaultCookieName+"-b" && c.HttpOnly && len(c.Value) >= 16
			}
			if found != tc.want {
				t.Errorf("browser id cookie set = %v, want %v: %v", found, tc.want, rec.Result().Header["Set-Cookie"])
			}
		})
	}
	t.Cleanup(func() { // after the parallel subtests
		if n := len(e.fake.Requests()); n != 0 {
			t.Errorf("page views made %d ZITADEL requests", n)
		}
	})
}
