package shadow_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// The tests of issue 10, "the session follows the guest": each one failed
// on the code before it.

// newGuestCookie creates a guest through EnsureGuest and returns its
// session and cookie.
func newGuestCookie(t *testing.T, mgr *shadow.Manager) (shadow.Session, *http.Cookie) {
	t.Helper()
	rec := newRecorder()
	s, err := mgr.EnsureGuest(rec, newRequest(t, nil))
	if err != nil {
		t.Fatalf("EnsureGuest: %v", err)
	}
	return s, sessionCookie(t, rec)
}

// serve runs one request with cookies through the Middleware and returns
// the session the handler saw, if any.
func serve(t *testing.T, mgr *shadow.Manager, cookies ...*http.Cookie) (shadow.Session, bool, *httptest.ResponseRecorder) {
	t.Helper()
	var s shadow.Session
	var ok bool
	rec := newRecorder()
	mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok = shadow.SessionFromContext(r.Context())
	})).ServeHTTP(rec, newRequest(t, cookies))
	return s, ok, rec
}

// TestRenewalIsBoundedPerGuest: replaying a cookie whose token expired
// costs one token exchange in all, not one per request, sequentially or
// concurrently (finding 3: 200 requests made 200 exchanges).
func TestRenewalIsBoundedPerGuest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first, cookie := newGuestCookie(t, e.mgr)
	e.clock.Advance(13 * time.Hour) // the token expired an hour ago
	e.fake.ResetRequests()
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if s, ok, _ := serve(t, e.mgr, cookie); !ok || s.GuestID != first.GuestID {
				t.Errorf("replayed cookie: session %+v, %v", s, ok)
			}
		})
	}
	wg.Wait()
	for range 100 {
		serve(t, e.mgr, cookie)
	}
	if n := e.fake.Count(zitadeltest.OpTokenExchange); n != 1 {
		t.Errorf("200 replays of an expired-token cookie made %d token exchanges, want 1", n)
	}
}

// TestRenewalFailureIsNotRetriedPerRequest: while ZITADEL refuses, a
// replayed cookie does not cost an exchange per request.
func TestRenewalFailureIsNotRetriedPerRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithRetry(shadow.RetryOptions{MaxAttempts: 1}))
	_, cookie := newGuestCookie(t, e.mgr)
	e.clock.Advance(13 * time.Hour)
	e.fake.ResetRequests()
	e.fake.SetFault(zitadeltest.OpTokenExchange, zitadeltest.Unavailable())
	for range 20 {
		if _, ok, _ := serve(t, e.mgr, cookie); ok {
			t.Error("an expired token without renewal passed as a session")
		}
	}
	if n := e.fake.Count(zitadeltest.OpTokenExchange); n != 1 {
		t.Errorf("20 requests during an outage made %d token exchanges, want 1", n)
	}
}

// TestRenewalPerClientBound: one client replaying many guests' cookies is
// held to its renewal budget.
func TestRenewalPerClientBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mgr = e.withOptions(t, shadow.WithProvisionLimits(shadow.ProvisionLimits{PerClientPerMinute: -1, GlobalPerMinute: -1,
		RenewalsPerClientPerMinute: 1, RenewalBurst: 2}))
	var cookies []*http.Cookie
	for range 5 {
		_, c := newGuestCookie(t, e.mgr)
		cookies = append(cookies, c)
	}
	e.clock.Advance(13 * time.Hour)
	e.fake.ResetRequests()
	limited := 0
	for _, c := range cookies {
		_, err := e.mgr.EnsureGuest(newRecorder(), newRequest(t, []*http.Cookie{c}))
		var rl *shadow.RateLimitError
		if errors.As(err, &rl) {
			limited++
		}
	}
	if n := e.fake.Count(zitadeltest.OpTokenExchange); n != 2 || limited != 3 {
		t.Errorf("%d exchanges and %d refusals for 5 guests of one client, want 2 and 3", n, limited)
	}
}

// TestCrossSiteUnsafeRequestsCreateNoGuest: a cross-site POST (which does
// not carry the SameSite=Lax cookie) neither creates a guest nor replaces
// the visitor's session (finding 7).
func TestCrossSiteUnsafeRequestsCreateNoGuest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		trust   bool
		headers map[string]string
		refused bool
	}{
		{"SecFetchSiteCrossSite", false, map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"OriginOfAnotherHost", false, map[string]string{"Origin": "https://evil.example"}, true},
		{"SameOrigin", false, map[string]string{"Sec-Fetch-Site": "same-origin"}, false},
		{"NoBrowserHeaders", false, nil, false},
		{"TrustedOrigin", true, map[string]string{"Origin": "https://partner.example"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.trust {
				e.mgr = e.withOptions(t, shadow.WithTrustedOrigins("https://partner.example"))
			}
			_, old := newGuestCookie(t, e.mgr) // the visitor's session, which the request lacks or carries
			e.fake.ResetRequests()
			for _, via := range []string{"EnsureGuest", "GuestRequired"} {
				for _, cookies := range [][]*http.Cookie{nil, {old}} {
					r := newRequest(t, cookies)
					for k, v := range tc.headers {
						r.Header.Set(k, v)
					}
					rec := newRecorder()
					var err error
					if via == "EnsureGuest" {
						_, err = e.mgr.EnsureGuest(rec, r)
					} else {
						e.mgr.GuestRequired(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, r)
						if rec.Code == http.StatusForbidden {
							err = shadow.ErrCrossSite
						}
					}
					if got := errors.Is(err, shadow.ErrCrossSite); got != tc.refused {
						t.Errorf("%s: refused = %v (%v), want %v", via, got, err, tc.refused)
					}
					if tc.refused && len(rec.Result().Cookies()) != 0 {
						t.Errorf("%s: a refused request set cookies: %v", via, rec.Result().Header["Set-Cookie"])
					}
				}
			}
			if n := e.fake.Count(zitadeltest.OpCreateUser); tc.refused && n != 0 || !tc.refused && n != 2 {
				t.Errorf("%d guests created, want %d", n, map[bool]int{true: 0, false: 2}[tc.refused])
			}
		})
	}
}

// TestConcurrentFirstIntentsWithoutCookies: four parallel first saves of
// a single-page app, no cookie at all, create one guest (finding 7).
func TestConcurrentFirstIntentsWithoutCookies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.SetLatency(200 * time.Millisecond) // the four overlap while provisioning runs
	var wg sync.WaitGroup
	ids := make([]string, 4)
	for i := range ids {
		wg.Go(func() {
			r := newRequest(t, nil)
			r.Header.Set("User-Agent", "Mozilla/5.0 test")
			s, err := e.mgr.EnsureGuest(newRecorder(), r)
			if err != nil {
				t.Errorf("EnsureGuest: %v", err)
			}
			ids[i] = s.GuestID
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Errorf("guests %v, want one", ids)
			break
		}
	}
	if n := e.fake.Count(zitadeltest.OpCreateUser); n != 1 {
		t.Errorf("%d guests created, want 1", n)
	}
}

// TestSignedInSessionPassesGuestRequired: an app's own login reuses the
// sealed cookie; GuestRequired lets the user through without a guest.
func TestSignedInSessionPassesGuestRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder()
	if err := e.mgr.WriteSession(rec, shadow.Session{UserID: "298374650912837465", Expiry: e.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	cookie := sessionCookie(t, rec)
	var seen shadow.Session
	e.mgr.GuestRequired(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = shadow.SessionFromContext(r.Context())
	})).ServeHTTP(newRecorder(), newRequest(t, []*http.Cookie{cookie}))
	if !seen.SignedIn() || seen.Subject() != "298374650912837465" || seen.GuestID != "" {
		t.Errorf("session = %+v, want the signed-in user", seen)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("a signed-in request made %d ZITADEL requests", n)
	}
}

// TestIdleTimeout: a session unused for longer than the idle timeout is
// over, one used in time lives on past it.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mgr = e.withOptions(t, shadow.WithIdleTimeout(24*time.Hour))
	first, cookie := newGuestCookie(t, e.mgr)
	for range 3 { // every 20 h, three times: 60 h in all, past the 24 h idle timeout
		e.clock.Advance(20 * time.Hour)
		s, ok, rec := serve(t, e.mgr, cookie)
		if !ok || s.GuestID != first.GuestID {
			t.Fatalf("an active session ended: %+v %v", s, ok)
		}
		cookie = sessionCookie(t, rec)
		if cookie.MaxAge != int((24 * time.Hour).Seconds()) {
			t.Errorf("Max-Age %d, want the idle timeout", cookie.MaxAge)
		}
	}
	e.clock.Advance(25 * time.Hour)
	if _, err := e.mgr.ReadSession(newRequest(t, []*http.Cookie{cookie})); !errors.Is(err, shadow.ErrInvalidSession) {
		t.Errorf("ReadSession after 25 h idle = %v, want ErrInvalidSession", err)
	}
}

// TestActiveGuestIsNeverSwept is docs/architecture.md invariant 7: a
// visitor who comes back every day for 60 days keeps their guest and cart
// although the sweep runs daily for guests older than 30 days (finding 5:
// everything was lost on day 31).
func TestActiveGuestIsNeverSwept(t *testing.T) {
	t.Parallel()
	for name, idleFor := range map[string]time.Duration{
		"IdleFor 7 days": 7 * 24 * time.Hour,
		"IdleFor unset":  0, // the idle timeout, 30 days by default
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testActiveGuestIsNeverSwept(t, idleFor)
		})
	}
}

func testActiveGuestIsNeverSwept(t *testing.T, idleFor time.Duration) {
	e := newEnv(t)
	e.store = e.store.WithClock(e.clock.Now)
	e.mgr = e.withOptions(t, shadow.WithCartStore(e.store))
	g, cookie := newGuestCookie(t, e.mgr)
	addItems(t, e, g.GuestID, shadow.Item{SKU: "mug", Quantity: 1})
	idle, _ := newGuestCookie(t, e.mgr)
	for day := 1; day <= 60; day++ {
		e.clock.Advance(24 * time.Hour)
		s, ok, rec := serve(t, e.mgr, cookie)
		if !ok || s.GuestID != g.GuestID {
			t.Fatalf("day %d: the visitor's session ended: %+v %v", day, s, ok)
		}
		if c := rec.Result().Cookies(); len(c) > 0 {
			cookie = sessionCookie(t, rec)
		}
		if _, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{OlderThan: 30 * 24 * time.Hour, IdleFor: idleFor,
			RequestsPerSecond: -1}); err != nil {
			t.Fatalf("day %d: Sweep: %v", day, err)
		}
		if _, exists := e.fake.User(g.GuestID); !exists {
			t.Fatalf("day %d: the active guest was swept", day)
		}
	}
	if diff := cmp.Diff([]shadow.Item{{SKU: "mug", Quantity: 1}}, cartOf(t, e, g.GuestID)); diff != "" {
		t.Errorf("cart after 60 days (-want +got):\n%s", diff)
	}
	if _, exists := e.fake.User(idle.GuestID); exists {
		t.Error("the idle guest survived 60 days of sweeps")
	}
}

// endGuest ends g one way and returns the cookie of its old session.
type ender func(t *testing.T, e *env, guestID string)

var enders = map[string]ender{
	"Upgrade": func(t *testing.T, e *env, id string) {
		if _, err := e.mgr.Upgrade(t.Context(), id, goodProfile); err != nil {
			t.Fatal(err)
		}
	},
	"MergeInto": func(t *testing.T, e *env, id string) {
		if _, err := e.mgr.MergeInto(t.Context(), id, e.addCustomer(t, "buyer@example.com")); err != nil {
			t.Fatal(err)
		}
	},
	"Sweep": func(t *testing.T, e *env, id string) {
		e.clock.Advance(2 * time.Hour)
		if rep, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{OlderThan: time.Hour, AllowLiveSessions: true,
			RequestsPerSecond: -1}); err != nil || rep.Deleted != 1 {
			t.Fatalf("Sweep = %+v, %v", rep, err)
		}
	},
}

// TestDeadGuestsStayDead is docs/architecture.md invariant 6: after
// Upgrade, MergeInto or Sweep the old cookie is no guest session — not in
// the Middleware, not in ReadSession, not in EnsureGuest, and no token is
// minted for it (finding 1).
func TestDeadGuestsStayDead(t *testing.T) {
	t.Parallel()
	for name, end := range enders {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			g, cookie := newGuestCookie(t, e.mgr)
			end(t, e, g.GuestID)
			e.fake.ResetRequests()

			if s, ok, rec := serve(t, e.mgr, cookie); ok {
				t.Errorf("Middleware passed the old session %+v", s)
			} else if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
				t.Errorf("Middleware did not clear the old cookie: %v", rec.Result().Header["Set-Cookie"])
			}
			_, err := e.mgr.ReadSession(newRequest(t, []*http.Cookie{cookie}))
			var ended *shadow.GuestEndedError
			if !errors.As(err, &ended) || !errors.Is(err, shadow.ErrNoSession) || ended.GuestID != g.GuestID {
				t.Errorf("ReadSession = %v, want a GuestEndedError matching ErrNoSession", err)
			} else if (name == "Upgrade") != (ended.Reason == shadow.EndUpgraded) {
				t.Errorf("reason %q after %s", ended.Reason, name)
			}
			if _, err := e.mgr.Impersonate(t.Context(), g.GuestID); err == nil {
				t.Error("Impersonate minted a token for the ended guest")
			}
			if n := e.fake.Count(zitadeltest.OpTokenExchange); n != 0 {
				t.Errorf("%d token exchanges for an ended guest", n)
			}
			// The next intent gets a fresh guest, also from the
			// recent-session cache's browser.
			s, err := e.mgr.EnsureGuest(newRecorder(), newRequest(t, []*http.Cookie{cookie}))
			if err != nil || s.GuestID == g.GuestID || s.GuestID == "" {
				t.Errorf("EnsureGuest with the old cookie = %+v, %v; want a new guest", s, err)
			}
		})
	}
}

// TestDeadGuestAcrossReplicas: a guest merged or swept by one replica is
// dead on another sharing the store, within DefaultEndedCheckInterval.
func TestDeadGuestAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other := e.withOptions(t)
	g, cookie := newGuestCookie(t, e.mgr)
	if _, ok, _ := serve(t, other, cookie); !ok {
		t.Fatal("the other replica does not accept the live session")
	}
	if _, err := e.mgr.MergeInto(t.Context(), g.GuestID, e.addCustomer(t, "buyer@example.com")); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(shadow.DefaultEndedCheckInterval)
	if _, ok, _ := serve(t, other, cookie); ok {
		t.Error("the other replica still takes the merged guest's session after the check interval")
	}
}

// TestRecentSessionCacheNeverReissuesEndedGuests: the browser whose guest
// was just created and then merged does not get it back from the cache.
func TestRecentSessionCacheNeverReissuesEndedGuests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bid := &http.Cookie{Name: shadow.DefaultCookieName + "-b", Value: "0123456789abcdef0123"}
	s, err := e.mgr.EnsureGuest(newRecorder(), newRequest(t, []*http.Cookie{bid}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.mgr.MergeInto(t.Context(), s.GuestID, e.addCustomer(t, "buyer@example.com")); err != nil {
		t.Fatal(err)
	}
	again, err := e.mgr.EnsureGuest(newRecorder(), newRequest(t, []*http.Cookie{bid}))
	if err != nil || again.GuestID == s.GuestID {
		t.Errorf("EnsureGuest after the merge = %+v, %v; want a new guest", again, err)
	}
}

// TestStaleTagNeverExposesRegisteredUser: with WithLegacyMetadata a failed
// tag removal leaves a registered user tagged; neither that Manager nor one
// without the legacy option upgrades, merges, sweeps or impersonates it
// (finding 2).
func TestStaleTagNeverExposesRegisteredUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	legacy := e.withOptions(t, shadow.WithLegacyMetadata(), shadow.WithRetry(shadow.RetryOptions{MaxAttempts: 1}))
	g, err := legacy.Provision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	e.fake.FailNext(zitadeltest.OpDeleteUserMetadata, zitadeltest.Unavailable())
	if _, err := legacy.Upgrade(t.Context(), g.ID, goodProfile); !errors.Is(err, shadow.ErrTagNotRemoved) {
		t.Fatalf("Upgrade = %v, want ErrTagNotRemoved", err)
	}
	fresh := e.withOptions(t) // the app dropped the legacy option; a new process
	before := e.user(t, g.ID)
	for name, mgr := range map[string]*shadow.Manager{"legacy": legacy, "current": fresh} {
		if _, err := mgr.Impersonate(t.Context(), g.ID); !errors.Is(err, shadow.ErrNotGuest) {
			t.Errorf("%s Impersonate = %v, want ErrNotGuest", name, err)
		}
		if _, err := mgr.Upgrade(t.Context(), g.ID, shadow.Profile{GivenName: "Eve", FamilyName: "X",
			Email: "eve@example.com", Password: "Analytical-Engine1"}); !errors.Is(err, shadow.ErrNotGuest) {
			t.Errorf("%s Upgrade = %v, want ErrNotGuest", name, err)
		}
		if _, err := mgr.MergeInto(t.Context(), g.ID, e.addCustomer(t, name+"@example.com")); !errors.Is(err, shadow.ErrNotGuest) {
			t.Errorf("%s MergeInto = %v, want ErrNotGuest", name, err)
		}
	}
	e.clock.Advance(60 * 24 * time.Hour)
	if _, err := fresh.Sweep(t.Context(), shadow.SweepOptions{OlderThan: 30 * 24 * time.Hour, RequestsPerSecond: -1}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, e.user(t, g.ID)); diff != "" {
		t.Errorf("the registered user changed (-before +after):\n%s", diff)
	}
}

// afterListUsers is a transport that runs hook once, after the first
// ListUsers answer came back and before the caller sees it.
type afterListUsers struct {
	base http.RoundTripper
	once sync.Once
	hook func()
}

func (a *afterListUsers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/ListUsers") {
		a.once.Do(a.hook)
	}
	return resp, err
}

// TestRegistrationDuringSweepIsNotDeleted: a visitor who registers after
// the sweep listed them is judged by a fresh read under the lock, not by
// the listing, in both metadata modes; in legacy mode the tag removal
// fails, so the registered user stays tagged (finding 2).
func TestRegistrationDuringSweepIsNotDeleted(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		t.Run(map[bool]string{false: "Current", true: "Legacy"}[legacy], func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			opts := []shadow.Option{shadow.WithRetry(shadow.RetryOptions{MaxAttempts: 1})}
			if legacy {
				opts = append(opts, shadow.WithLegacyMetadata())
			}
			registrar := e.withOptions(t, opts...) // the replica serving the registration
			g := e.provision(t)
			addItems(t, e, g.ID, shadow.Item{SKU: "mug", Quantity: 1})
			e.clock.Advance(31 * 24 * time.Hour)
			tr := &afterListUsers{base: e.fake.Client().Transport, hook: func() {
				if legacy {
					e.fake.FailNext(zitadeltest.OpDeleteUserMetadata, zitadeltest.Unavailable())
				}
				if _, err := registrar.Upgrade(t.Context(), g.ID, goodProfile); err != nil && !errors.Is(err, shadow.ErrTagNotRemoved) {
					t.Errorf("Upgrade during the sweep: %v", err)
				}
			}}
			sweeper := e.withOptions(t, append(opts, shadow.WithHTTPClient(&http.Client{Transport: tr}))...)
			rep, err := sweeper.Sweep(t.Context(), shadow.SweepOptions{OlderThan: 30 * 24 * time.Hour, RequestsPerSecond: -1})
			if err != nil || rep.Deleted != 0 {
				t.Errorf("Sweep = %+v, %v; want nothing deleted", rep, err)
			}
			if u, ok := e.fake.User(g.ID); !ok || !u.HasPassword {
				t.Fatalf("the visitor who registered during the sweep: %+v, exists %v", u, ok)
			}
			if diff := cmp.Diff([]shadow.Item{{SKU: "mug", Quantity: 1}}, cartOf(t, e, g.ID)); diff != "" {
				t.Errorf("cart (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMergeConvergesAfterAmbiguousDelete: DeleteUser applied, its answer
// lost; in a new process (no memory of the deletion) with a store that
// does not retire owners, MergeSessionInto still moves the items added
// meanwhile (finding 4).
func TestMergeConvergesAfterAmbiguousDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	plain := plainCarts{memstore.New()}
	e.mgr = e.withOptions(t, shadow.WithCartStore(plain), shadow.WithRetry(shadow.RetryOptions{MaxAttempts: 1}))
	s, _ := newGuestCookie(t, e.mgr)
	account := e.addCustomer(t, "buyer@example.com")
	if err := plain.Add(t.Context(), s.GuestID, shadow.Item{SKU: "mug", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	e.fake.FailNext(zitadeltest.OpDeleteUser, zitadeltest.DropAfterCommit())
	if _, err := e.mgr.MergeInto(t.Context(), s.GuestID, account); err == nil {
		t.Fatal("MergeInto succeeded although DeleteUser's answer was lost")
	}
	if err := plain.Add(t.Context(), s.GuestID, shadow.Item{SKU: "pen", Quantity: 1}); err != nil { // a late Add
		t.Fatal(err)
	}
	restarted := e.withOptions(t, shadow.WithCartStore(plain))
	if _, err := restarted.MergeInto(t.Context(), s.GuestID, account); !errors.Is(err, shadow.ErrNotFound) {
		t.Errorf("MergeInto without proof = %v, want ErrNotFound", err)
	}
	res, err := restarted.MergeSessionInto(t.Context(), s, account)
	if err != nil || !res.GuestDeleted {
		t.Fatalf("MergeSessionInto = %+v, %v", res, err)
	}
	got, _ := plain.Get(t.Context(), account)
	if diff := cmp.Diff([]shadow.Item{{SKU: "mug", Quantity: 1}, {SKU: "pen", Quantity: 1}}, got.Items); diff != "" {
		t.Errorf("account's cart (-want +got):\n%s", diff)
	}
	if left, _ := plain.Get(t.Context(), s.GuestID); len(left.Items) != 0 {
		t.Errorf("items stranded under the deleted guest: %v", left.Items)
	}
	forged := s
	forged.Token.AccessToken = "not-a-jwt"
	if _, err := e.withOptions(t, shadow.WithCartStore(plain)).MergeSessionInto(t.Context(), forged, account); !errors.Is(err, shadow.ErrNotFound) {
		t.Errorf("MergeSessionInto with a session that proves nothing = %v, want ErrNotFound", err)
	}
}

// plainCarts hides memstore's optional capabilities: a third-party
// CartStore that neither retires owners nor keeps activity.
type plainCarts struct{ s *memstore.Store }

func (p plainCarts) Get(ctx context.Context, o string) (shadow.Cart, error) { return p.s.Get(ctx, o) }
func (p plainCarts) Add(ctx context.Context, o string, it shadow.Item) error {
	return p.s.Add(ctx, o, it)
}
func (p plainCarts) Merge(ctx context.Context, from, into string, pol shadow.MergePolicy) (shadow.Cart, error) {
	return p.s.Merge(ctx, from, into, pol)
}
func (p plainCarts) Delete(ctx context.Context, o string) error { return p.s.Delete(ctx, o) }
