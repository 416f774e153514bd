package shadow_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// newRequest builds a request carrying the given cookies.
func newRequest(t *testing.T, cookies []*http.Cookie) *http.Request {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "https://shop.example/cart", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

func sessionCookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == shadow.DefaultCookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", shadow.DefaultCookieName, rec.Result().Header["Set-Cookie"])
	return nil
}

func TestEnsureGuestSetsSealedCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder()
	s, err := e.mgr.EnsureGuest(rec, newRequest(t, nil))
	if err != nil {
		t.Fatalf("EnsureGuest: %v", err)
	}
	c := sessionCookie(t, rec)
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("cookie attributes: %+v", c)
	}
	if want := int(shadow.DefaultIdleTimeout / time.Second); c.MaxAge != want {
		t.Errorf("Max-Age = %d, want %d", c.MaxAge, want)
	}
	if strings.Contains(c.Value, s.GuestID) || len(c.Name)+len(c.Value) >= shadow.MaxCookieBytes {
		t.Errorf("cookie leaks the guest id or is too large (%d bytes)", len(c.Value))
	}
	if s.Token.IDToken != "" {
		t.Error("the ID token is kept in the cookie")
	}

	// The next request with the cookie is the same guest, with no call.
	e.fake.ResetRequests()
	rec2 := newRecorder()
	s2, err := e.mgr.EnsureGuest(rec2, newRequest(t, []*http.Cookie{c}))
	if err != nil || s2.GuestID != s.GuestID {
		t.Fatalf("second EnsureGuest = %+v, %v; want guest %s", s2, err, s.GuestID)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("second EnsureGuest made %d requests", n)
	}
	if len(e.fake.Users()) != 2 {
		t.Errorf("%d users, want the service account and one guest", len(e.fake.Users()))
	}
}

// TestEnsureGuestRejectsBadCookies checks invariant 2: a tampered,
// foreign, expired or forged cookie never yields its guest; the visitor
// gets a fresh one.
func TestEnsureGuestRejectsBadCookies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder()
	victim, err := e.mgr.EnsureGuest(rec, newRequest(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	good := sessionCookie(t, rec)

	otherKey, _ := shadow.NewSessionKey([]byte(strings.Repeat("k", 32)))
	forger, _ := shadow.NewJWECodec(otherKey, nil)
	forged, err := forger.Encode(shadow.DefaultCookieName, shadow.Session{GuestID: victim.GuestID, Expiry: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(good.Value)
	tampered[len(tampered)/2] ^= 1
	for name, value := range map[string]string{
		"tampered": string(tampered),
		"forged":   forged,
		"garbage":  "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ2aWN0aW0ifQ.",
		"plain id": victim.GuestID,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.mgr.ReadSession(newRequest(t, []*http.Cookie{{Name: good.Name, Value: value}})); !errors.Is(err, shadow.ErrInvalidSession) {
				t.Errorf("ReadSession = %v, want ErrInvalidSession", err)
			}
			s, err := e.mgr.EnsureGuest(newRecorder(), newRequest(t, []*http.Cookie{{Name: good.Name, Value: value}}))
			if err != nil {
				t.Fatalf("EnsureGuest: %v", err)
			}
			if s.GuestID == victim.GuestID {
				t.Fatal("a bad cookie yielded the victim's guest")
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.clock.Advance(shadow.DefaultSessionLifetime + time.Second)
		if _, err := e.mgr.ReadSession(newRequest(t, []*http.Cookie{good})); !errors.Is(err, shadow.ErrInvalidSession) {
			t.Errorf("ReadSession of an expired cookie = %v", err)
		}
	})
}

func TestMiddlewareRenewsNearExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder()
	first, err := e.mgr.EnsureGuest(rec, newRequest(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	cookie := sessionCookie(t, rec)
	var seen shadow.Session
	h := e.mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = shadow.SessionFromContext(r.Context())
	}))

	// Well before expiry: the session passes through, no call.
	e.fake.ResetRequests()
	h.ServeHTTP(newRecorder(), newRequest(t, []*http.Cookie{cookie}))
	if seen.GuestID != first.GuestID || len(e.fake.Requests()) != 0 {
		t.Fatalf("fresh session: saw %+v with %d requests", seen, len(e.fake.Requests()))
	}

	// Within the renewal window: one exchange, a new cookie, same guest.
	e.clock.Advance(12*time.Hour - time.Minute)
	rec = newRecorder()
	h.ServeHTTP(rec, newRequest(t, []*http.Cookie{cookie}))
	if seen.GuestID != first.GuestID || !seen.Token.Expiry.After(first.Token.Expiry) {
		t.Errorf("renewed session = %+v, want the same guest with a later token", seen)
	}
	if n := e.fake.Count(zitadeltest.OpTokenExchange); n != 1 {
		t.Errorf("%d token exchanges, want 1", n)
	}
	if c := sessionCookie(t, rec); c.Value == cookie.Value {
		t.Error("the cookie was not re-sealed")
	}
}

func TestMiddlewareDropsUpgradedGuests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder()
	s, err := e.mgr.EnsureGuest(rec, newRequest(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	cookie := sessionCookie(t, rec)
	if _, err := e.mgr.Upgrade(t.Context(), s.GuestID, goodProfile); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(12 * time.Hour)
	var seen bool
	h := e.mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, seen = shadow.SessionFromContext(r.Context())
	}))
	rec = newRecorder()
	h.ServeHTTP(rec, newRequest(t, []*http.Cookie{cookie}))
	if seen {
		t.Error("an old guest cookie of a registered user still gives a session")
	}
	if c := sessionCookie(t, rec); c.MaxAge >= 0 {
		t.Errorf("cookie not cleared: %+v", c)
	}
}

func TestInsecureCookiesForLocalhost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithInsecureCookies())
	rec := newRecorder()
	if _, err := e.mgr.EnsureGuest(rec, newRequest(t, nil)); err != nil {
		t.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Secure || c.Name != shadow.DefaultInsecureCookieName && c.Name != shadow.DefaultInsecureCookieName+"-b" {
			t.Errorf("cookie %q (Secure %v), want non-Secure %q and its browser id", c.Name, c.Secure, shadow.DefaultInsecureCookieName)
		}
	}
}

// TestEnsureGuestCleansUpWhenImpersonationFails: a guest that cannot be
// handed out is deleted at once, not left for every request to pile up.
func TestEnsureGuestCleansUpWhenImpersonationFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.SetImpersonation(false)
	if _, err := e.mgr.EnsureGuest(newRecorder(), newRequest(t, nil)); !errors.Is(err, shadow.ErrImpersonationDisabled) {
		t.Fatalf("EnsureGuest = %v, want ErrImpersonationDisabled", err)
	}
	if n := len(e.fake.Users()); n != 1 {
		t.Errorf("%d users left, want only the service account", n)
	}
}

// TestOneRenewalPerGuest: concurrent requests of one guest whose token is
// about to expire share one token exchange.
func TestOneRenewalPerGuest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder()
	if _, err := e.mgr.EnsureGuest(rec, newRequest(t, nil)); err != nil {
		t.Fatal(err)
	}
	cookie := sessionCookie(t, rec)
	e.clock.Advance(12*time.Hour - time.Minute)
	e.fake.SetLatency(50 * time.Millisecond) // keep the first renewal in flight while the others arrive
	e.fake.ResetRequests()
	h := e.mgr.Middleware(http.NotFoundHandler())
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(newRecorder(), newRequest(t, []*http.Cookie{cookie}))
		}()
	}
	wg.Wait()
	if n := e.fake.Count(zitadeltest.OpTokenExchange); n != 1 {
		t.Errorf("%d token exchanges for 20 concurrent renewals of one guest, want 1", n)
	}
}
