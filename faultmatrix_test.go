package shadow_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// world is the population every fault-matrix case starts from: an old
// guest with a cart, a registered customer with a cart, a second old guest
// with a cart, and the clock 48 h after they were made.
type world struct {
	*env
	guest, other, customer string
	customerBefore         zitadeltest.User
	units                  int // cart units in the store at the start
}

func newWorld(t *testing.T, timeout time.Duration) *world {
	t.Helper()
	clientWithTimeout := func(e *env) *http.Client {
		return &http.Client{Transport: e.fake.Client().Transport, Timeout: timeout}
	}
	base := newEnv(t)
	e := base
	e.mgr = base.withOptions(t, shadow.WithHTTPClient(clientWithTimeout(base)),
		shadow.WithRetry(shadow.RetryOptions{MaxAttempts: 3, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond}))
	w := &world{env: e}
	w.guest, w.other = e.provision(t).ID, e.provision(t).ID
	w.customer = e.addCustomer(t, "customer@example.com")
	addItems(t, e, w.guest, shadow.Item{SKU: "mug", Quantity: 2})
	addItems(t, e, w.other, shadow.Item{SKU: "pen", Quantity: 1})
	addItems(t, e, w.customer, shadow.Item{SKU: "tee", Quantity: 1})
	w.units = 4
	e.clock.Advance(48 * time.Hour)
	w.customerBefore = e.user(t, w.customer)
	return w
}

// typed reports whether err is one of the SDK's typed errors.
func typed(err error) bool {
	var ae *shadow.APIError
	var oe *shadow.OAuthError
	return errors.As(err, &ae) || errors.As(err, &oe) || errors.Is(err, shadow.ErrUnavailable) ||
		errors.Is(err, shadow.ErrNotGuest) || errors.Is(err, shadow.ErrNotFound)
}

// checkInvariants asserts the invariants of docs/architecture.md on the world after a run.
func (w *world) checkInvariants(t *testing.T, swept bool) {
	t.Helper()
	units := 0
	for _, u := range w.fake.Users() {
		for _, it := range cartOf(t, w.env, u.ID) {
			units += it.Quantity
		}
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
	}
	if !swept && units != w.units {
		t.Errorf("%d cart units with existing users, want %d: items lost", units, w.units)
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
	const timeout = 1500 * time.Millisecond // room for a loaded 2-core machine running every subtest at once
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
		{"MergeInto", []zitadeltest.Operation{zitadeltest.OpListUserMetadata, zitadeltest.OpDeleteUser},
			func(t *testing.T, w *world) error {
				_, err := w.mgr.MergeInto(t.Context(), w.guest, w.customer)
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
						w := newWorld(t, timeout)
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
