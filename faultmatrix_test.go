package shadow_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// world is the population every fault-matrix case starts from: an old
// guest with a cart and saved items, a registered customer with both, a
// second old guest with both, and the clock 48 h after they were made.
// Saved items live in a second store, which can fail on demand.
type world struct {
	*env
	guest, other, customer string
	customerBefore         zitadeltest.User
	units                  int // cart units in the store at the start
	saved                  *savedItems
	flaky                  *faultyRetirer // saved, as the Manager sees it
	records                int            // saved items at the start
	timeout                time.Duration  // the Manager's HTTP client timeout
}

func newWorld(t *testing.T, timeout time.Duration) *world {
	t.Helper()
	clientWithTimeout := func(e *env) *http.Client {
		return &http.Client{Transport: e.fake.Client().Transport, Timeout: timeout}
	}
	base := newEnv(t)
	e := base
	saved := newSaved()
	flaky := &faultyRetirer{faultyData: &faultyData{GuestData: saved}, Retirer: saved}
	e.mgr = base.withOptions(t, shadow.WithHTTPClient(clientWithTimeout(base)),
		shadow.WithRetry(shadow.RetryOptions{MaxAttempts: 3, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond}),
		shadow.WithGuestData("saved", flaky))
	w := &world{env: e, saved: saved, flaky: flaky, timeout: timeout}
	w.guest, w.other = e.provision(t).ID, e.provision(t).ID
	w.customer = e.addCustomer(t, "customer@example.com")
	addItems(t, e, w.guest, shadow.Item{SKU: "mug", Quantity: 2})
	addItems(t, e, w.other, shadow.Item{SKU: "pen", Quantity: 1})
	addItems(t, e, w.customer, shadow.Item{SKU: "tee", Quantity: 1})
	w.units = 4
	save(t, saved, w.guest, "g1", "g2")
	save(t, saved, w.other, "o1")
	save(t, saved, w.customer, "c1")
	w.records = 4
	e.clock.Advance(48 * time.Hour)
	w.customerBefore = e.user(t, w.customer)
	return w
}

// typed reports whether err is one of the SDK's typed errors.
func typed(err error) bool {
	var ae *shadow.APIError
	var oe *shadow.OAuthError
	return errors.As(err, &ae) || errors.As(err, &oe) || errors.Is(err, shadow.ErrUnavailable) ||
		errors.Is(err, shadow.ErrNotGuest) || errors.Is(err, shadow.ErrNotFound) || errors.Is(err, errStoreDown)
}

// checkInvariants asserts the invariants of docs/architecture.md on the world after a run.
func (w *world) checkInvariants(t *testing.T, swept bool) {
	t.Helper()
	units, records := 0, 0
	for _, u := range w.fake.Users() {
		for _, it := range cartOf(t, w.env, u.ID) {
			units += it.Quantity
		}
		records += len(savedOf(t, w.saved, u.ID))
		_, tagged := u.Metadata[shadow.DefaultTagKey]
		switch {
		case u.Type == zitadeltest.Machine:
		case u.HasPassword && tagged:
			t.Errorf("registered user %s carries the guest tag", u.ID)
		case !u.HasPassword && !tagged:
			t.Errorf("guest %s lost its tag", u.ID)
		}
	}
	for _, id := range []string{w.guest, w.other} {
		if _, ok := w.fake.User(id); !ok && len(cartOf(t, w.env, id)) > 0 {
			t.Errorf("deleted guest %s left a cart behind", id)
		}
		if _, ok := w.fake.User(id); !ok && len(savedOf(t, w.saved, id)) > 0 {
			t.Errorf("deleted guest %s left saved items behind", id)
		}
	}
	if !swept && units != w.units {
		t.Errorf("%d cart units with existing users, want %d: items lost", units, w.units)
	}
	if !swept && records != w.records {
		t.Errorf("%d saved items with existing users, want %d: items lost", records, w.records)
	}
	if !slices.Contains(savedOf(t, w.saved, w.customer), "c1") {
		t.Error("the registered customer lost a saved item")
	}
	after, ok := w.fake.User(w.customer)
	if !ok {
		t.Fatal("the registered customer was deleted")
	}
	if diff := cmp.Diff(w.customerBefore, after); diff != "" {
		t.Errorf("the registered customer changed (-before +after):\n%s", diff)
	}
}

// TestFaultMatrix injects each fault into each ZITADEL call of each
// lifecycle method, once (the retry or the caller recovers) and for good
// (the method gives up): the method succeeds or returns a typed error,
// and the invariants hold either way.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	// The client timeout: short enough that the "timeout" fault (twice as
	// long) makes a client give up, long enough that a healthy request
	// (a token exchange signs two RSA JWTs, slow under -race on a loaded
	// machine) never does. Cases without the "timeout" fault get a longer
	// one still.
	const timeout, relaxed = 1500 * time.Millisecond, 10 * time.Second
	faults := map[string]zitadeltest.Fault{
		"503":             zitadeltest.Unavailable(),
		"429":             zitadeltest.RateLimited(0),
		"timeout":         zitadeltest.Latency(2 * timeout),
		"drop":            zitadeltest.DropConnection(),
		"dropAfterCommit": zitadeltest.DropAfterCommit(),
	}
	methods := []struct {
		name  string
		ops   []zitadeltest.Operation
		run   func(t *testing.T, w *world) error
		swept bool
	}{
		{"Provision", []zitadeltest.Operation{zitadeltest.OpCreateUser},
			func(t *testing.T, w *world) error { _, err := w.mgr.Provision(t.Context()); return err }, false},
		{"Impersonate", []zitadeltest.Operation{zitadeltest.OpTokenExchange},
			func(t *testing.T, w *world) error { _, err := w.mgr.Impersonate(t.Context(), w.guest); return err }, false},
		{"EnsureGuest", []zitadeltest.Operation{zitadeltest.OpCreateUser, zitadeltest.OpTokenExchange},
			func(t *testing.T, w *world) error {
				_, err := w.mgr.EnsureGuest(newRecorder(), newRequest(t, nil))
				return err
			}, false},
		{"Upgrade", []zitadeltest.Operation{zitadeltest.OpListUserMetadata, zitadeltest.OpUpdateUser},
			func(t *testing.T, w *world) error {
				_, err := w.mgr.Upgrade(t.Context(), w.guest, goodProfile)
				return err
			}, false},
		{"MergeInto", []zitadeltest.Operation{zitadeltest.OpListUserMetadata, zitadeltest.OpGetUserByID, zitadeltest.OpDeleteUser},
			func(t *testing.T, w *world) error {
				_, err := w.mgr.MergeInto(t.Context(), w.guest, w.customer)
				return err
			}, false},
		{"Renewal", []zitadeltest.Operation{zitadeltest.OpTokenExchange, zitadeltest.OpGetUserByID},
			func(t *testing.T, w *world) error {
				// A cookie whose token expired, replayed five times: the
				// guest stays the same, and the replays cost no exchange
				// beyond the first request's (whether it worked or not).
				// Renewals are counted by the Manager's events: the fake logs
				// a delayed request only when it ends, after the retry.
				var renewals atomic.Int32
				mgr := w.withOptions(t, shadow.WithHTTPClient(&http.Client{Transport: w.fake.Client().Transport, Timeout: w.timeout}),
					shadow.WithObserver(func(e shadow.Event) {
						if e.Kind == shadow.EventRenewed {
							renewals.Add(1)
						}
					}))
				c := w.cookieOf(t, w.guest, w.clock.Now().Add(-time.Hour))
				s, err := mgr.EnsureGuest(newRecorder(), newRequest(t, []*http.Cookie{c}))
				if err == nil && s.GuestID != w.guest {
					t.Errorf("renewal gave guest %s, want %s", s.GuestID, w.guest)
				}
				for range 5 {
					if s, err := mgr.EnsureGuest(newRecorder(), newRequest(t, []*http.Cookie{c})); err == nil && s.GuestID != w.guest {
						t.Errorf("a replay gave guest %s, want %s", s.GuestID, w.guest)
					}
				}
				if n := renewals.Load(); n != 1 {
					t.Errorf("a request and 5 replays of its cookie made %d renewals, want 1", n)
				}
				return err
			}, false},
		{"UpgradeThenReplay", []zitadeltest.Operation{zitadeltest.OpGetUserByID, zitadeltest.OpListUserMetadata, zitadeltest.OpUpdateUser},
			func(t *testing.T, w *world) error {
				c := w.cookieOf(t, w.guest, w.clock.Now().Add(12*time.Hour))
				_, err := w.mgr.Upgrade(t.Context(), w.guest, goodProfile)
				if u, ok := w.fake.User(w.guest); ok && u.HasPassword {
					w.fake.ClearFaults()
					if s, _, _ := serve(t, w.mgr, c); s.GuestID == w.guest {
						t.Error("the upgraded guest's old cookie is a guest session again")
					}
					if s, err := w.mgr.EnsureGuest(newRecorder(), newRequest(t, []*http.Cookie{c})); err == nil && s.GuestID == w.guest {
						t.Error("EnsureGuest handed out the upgraded guest's old session")
					}
				}
				return err
			}, false},
		{"Sweep", []zitadeltest.Operation{zitadeltest.OpListUsers, zitadeltest.OpListUserMetadata, zitadeltest.OpDeleteUser},
			func(t *testing.T, w *world) error {
				rep, err := w.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: 24 * time.Hour, RequestsPerSecond: -1})
				for _, f := range rep.Failed {
					if !typed(f.Err) {
						t.Errorf("sweep failure of %s untyped: %v", f.GuestID, f.Err)
					}
				}
				return err
			}, true},
	}
	for _, m := range methods {
		for _, op := range m.ops {
			for fname, fault := range faults {
				for _, persistent := range []bool{false, true} {
					mode := "once"
					if persistent {
						mode = "always"
					}
					t.Run(fmt.Sprintf("%s/%v/%s/%s", m.name, op, fname, mode), func(t *testing.T) {
						t.Parallel()
						limit := relaxed
						if fname == "timeout" {
							limit = timeout
						}
						w := newWorld(t, limit)
						if persistent {
							w.fake.SetFault(op, fault)
						} else {
							w.fake.FailNext(op, fault)
						}
						err := m.run(t, w)
						w.fake.ClearFaults()
						if err != nil && !typed(err) {
							t.Errorf("%s returned an untyped error: %v", m.name, err)
						}
						if !persistent && err != nil && op != zitadeltest.OpUpdateUser {
							t.Errorf("%s did not recover from one %s on a retried call: %v", m.name, fname, err)
						}
						w.checkInvariants(t, m.swept)
					})
				}
			}
		}
	}
}

// TestStoreFaultMatrix fails the saved-items store's MoveGuest or
// DeleteGuest in MergeInto and Sweep, once (a repeated call must finish
// the job) and for good (the guest must survive with its data or without
// it, never data without a guest): the invariants hold either way.
func TestStoreFaultMatrix(t *testing.T) {
	t.Parallel()
	methods := []struct {
		name  string
		uses  string // the store call the method makes
		run   func(t *testing.T, w *world) error
		done  func(w *world) bool
		swept bool
	}{
		{"MergeInto", "MoveGuest", func(t *testing.T, w *world) error {
			_, err := w.mgr.MergeInto(t.Context(), w.guest, w.customer)
			return err
		}, func(w *world) bool { _, ok := w.fake.User(w.guest); return !ok }, false},
		{"Sweep", "DeleteGuest", func(t *testing.T, w *world) error {
			rep, err := w.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: 24 * time.Hour, RequestsPerSecond: -1})
			for _, f := range rep.Failed {
				if !errors.Is(f.Err, errStoreDown) {
					t.Errorf("sweep failure of %s: %v, want the store's error", f.GuestID, f.Err)
				}
			}
			return err
		}, func(w *world) bool {
			_, ok1 := w.fake.User(w.guest)
			_, ok2 := w.fake.User(w.other)
			return !ok1 && !ok2
		}, true},
	}
	for _, m := range methods {
		for _, times := range []int{1, -1} {
			mode := map[int]string{1: "once", -1: "always"}[times]
			t.Run(fmt.Sprintf("%s/%s/%s", m.name, m.uses, mode), func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, 5*time.Second)
				if m.uses == "MoveGuest" {
					w.flaky.failing(times, 0)
				} else {
					w.flaky.failing(0, times)
				}
				err := m.run(t, w)
				if err != nil && !typed(err) {
					t.Errorf("%s returned an untyped error: %v", m.name, err)
				}
				w.checkInvariants(t, m.swept)
				if times < 0 {
					if m.done(w) {
						t.Errorf("%s finished although the store's %s always failed", m.name, m.uses)
					}
					return
				}
				if err := m.run(t, w); err != nil || !m.done(w) {
					t.Errorf("%s after one store fault: done %v, %v; want it finished", m.name, m.done(w), err)
				}
				w.checkInvariants(t, m.swept)
			})
		}
	}
}

// cookieOf seals a session cookie for guestID whose token expires at
// tokenExpiry, as the cookie helpers would have written it earlier.
func (w *world) cookieOf(t *testing.T, guestID string, tokenExpiry time.Time) *http.Cookie {
	t.Helper()
	rec := newRecorder()
	s := shadow.Session{GuestID: guestID, Token: shadow.Token{AccessToken: "old", TokenType: "Bearer", Expiry: tokenExpiry},
		Expiry: w.clock.Now().Add(24 * time.Hour)}
	if err := w.mgr.WriteSession(rec, s); err != nil {
		t.Fatal(err)
	}
	return sessionCookie(t, rec)
}
