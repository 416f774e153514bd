package shadow_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// eventually polls cond until it holds, failing after 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// poolEnv is an env whose Manager keeps size guests ready; the pool is
// closed when the test ends.
func poolEnv(t *testing.T, size int, opts ...shadow.Option) *env {
	t.Helper()
	e := newEnv(t)
	e.mgr = e.withOptions(t, append([]shadow.Option{shadow.WithGuestPool(shadow.PoolOptions{Size: size}),
		shadow.WithProvisionLimits(shadow.ProvisionLimits{PerClientPerMinute: -1, GlobalPerMinute: -1})}, opts...)...)
	t.Cleanup(func() { _ = e.mgr.Close(context.WithoutCancel(t.Context())) })
	eventually(t, "the pool fills", func() bool { return e.mgr.PoolStats().Ready == size })
	return e
}

// tagged counts the fake's users that carry the guest tag.
func tagged(e *env) int {
	n := 0
	for _, u := range e.fake.Users() {
		if _, ok := u.Metadata[shadow.DefaultTagKey]; ok {
			n++
		}
	}
	return n
}

// A first intent served from the pool sends nothing to ZITADEL; its
// session works like any other, and the pool refills behind it.
func TestPoolFirstIntentSendsNothing(t *testing.T) {
	t.Parallel()
	e := poolEnv(t, 3)
	ready := map[string]bool{}
	for _, u := range e.fake.Users() {
		ready[u.ID] = true
	}
	rec := newRecorder()
	s, err := e.mgr.EnsureGuest(rec, newRequest(t, nil))
	if err != nil {
		t.Fatalf("EnsureGuest: %v", err)
	}
	if !ready[s.GuestID] {
		t.Errorf("guest %s was made on the request path, not taken from the pool", s.GuestID)
	}
	u := e.user(t, s.GuestID)
	if _, ok := u.Metadata[shadow.DefaultTagKey]; !ok {
		t.Errorf("pooled guest %s has no guest tag: %v", s.GuestID, u.Metadata)
	}
	opened, err := e.mgr.ReadSession(newRequest(t, rec.Result().Cookies()))
	if err != nil || opened.GuestID != s.GuestID {
		t.Errorf("ReadSession = %+v, %v; want guest %s", opened, err, s.GuestID)
	}
	if !s.Expiry.After(e.clock.Now().Add(shadow.DefaultSessionLifetime - time.Hour)) {
		t.Errorf("session expires %v, want about a session lifetime from now", s.Expiry)
	}
	eventually(t, "the pool refills", func() bool { return e.mgr.PoolStats().Ready == 3 })
	if n := tagged(e); n != 4 {
		t.Errorf("%d tagged users, want 4 (one handed out, three ready)", n)
	}
}

// While ZITADEL fails, first intents are served from the pool until it is
// empty; then they fail as without a pool, and the pool recovers with
// ZITADEL.
func TestPoolAbsorbsAnOutage(t *testing.T) {
	t.Parallel()
	for name, fault := range map[string]zitadeltest.Fault{
		"503":       zitadeltest.Unavailable(),
		"429 storm": zitadeltest.RateLimited(0),
		"drop":      zitadeltest.DropConnection(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const size = 3
			e := poolEnv(t, size)
			for _, op := range []zitadeltest.Operation{zitadeltest.OpCreateUser, zitadeltest.OpTokenExchange} {
				e.fake.SetFault(op, fault)
			}
			h := e.mgr.GuestRequired(okHandler)
			for i := range size {
				rec := newRecorder()
				h.ServeHTTP(rec, newRequest(t, nil))
				if rec.Code != http.StatusNoContent {
					t.Fatalf("intent %d during the outage: %d, want 204 from the pool", i, rec.Code)
				}
			}
			rec := newRecorder()
			h.ServeHTTP(rec, newRequest(t, nil))
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("intent %d with the pool empty: %d, want 503", size, rec.Code)
			}
			e.fake.ClearFaults()
			eventually(t, "the pool refills after the outage", func() bool { return e.mgr.PoolStats().Ready == size })
		})
	}
}

// Per-client provisioning limits apply to pooled guests too.
func TestPoolKeepsProvisionLimits(t *testing.T) {
	t.Parallel()
	e := poolEnv(t, 3, shadow.WithProvisionLimits(shadow.ProvisionLimits{PerClientPerMinute: 1, PerClientBurst: 1}))
	if _, err := e.mgr.EnsureGuest(newRecorder(), newRequest(t, nil)); err != nil {
		t.Fatalf("first guest: %v", err)
	}
	var rl *shadow.RateLimitError
	if _, err := e.mgr.EnsureGuest(newRecorder(), newRequest(t, nil)); !errors.As(err, &rl) {
		t.Errorf("second guest of one client = %v, want *RateLimitError", err)
	}
}

// Guests that waited longer than MaxAge are deleted and replaced, never
// handed out.
func TestPoolRetiresAgedGuests(t *testing.T) {
	t.Parallel()
	e := poolEnv(t, 2, shadow.WithGuestPool(shadow.PoolOptions{Size: 2, MaxAge: time.Hour}))
	var old []string
	for _, u := range e.fake.Users() {
		if _, ok := u.Metadata[shadow.DefaultTagKey]; ok {
			old = append(old, u.ID)
		}
	}
	e.clock.Advance(2 * time.Hour)
	s, err := e.mgr.EnsureGuest(newRecorder(), newRequest(t, nil))
	if err != nil {
		t.Fatalf("EnsureGuest: %v", err)
	}
	for _, id := range old {
		if s.GuestID == id {
			t.Errorf("handed out guest %s, pooled two hours ago", id)
		}
	}
	eventually(t, "aged guests deleted", func() bool {
		for _, id := range old {
			if _, ok := e.fake.User(id); ok {
				return false
			}
		}
		return true
	})
	eventually(t, "the pool refills", func() bool { return e.mgr.PoolStats().Ready == 2 })
}

func TestPoolOptionsValidated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		name string
		opts []shadow.Option
		want string
	}{
		{"size", []shadow.Option{shadow.WithGuestPool(shadow.PoolOptions{Size: 0})}, "Size 0"},
		{"negative", []shadow.Option{shadow.WithGuestPool(shadow.PoolOptions{Size: 1, MaxAge: -1})}, "negative"},
		{"client id", []shadow.Option{shadow.WithGuestPool(shadow.PoolOptions{Size: 1}), shadow.WithClientID("")}, "WithClientID"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := shadow.New(e.fake.Issuer(), append([]shadow.Option{shadow.WithOrganization(e.fake.OrganizationID()),
				shadow.WithClientID(e.fake.ClientID()), shadow.WithCredentials(shadow.PAT(e.fake.ServiceAccount().PAT)),
				shadow.WithCartStore(e.store), shadow.WithSessionKeys(testSessionKey(t))}, c.opts...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New = %v, want an error about %s", err, c.want)
			}
		})
	}
}

// Close stops the pool's goroutines, deletes the ready guests, and may be
// called again; EnsureGuest still works afterwards. Not parallel: it
// counts the pool goroutines of the whole process.
func TestPoolCloseLeavesNothing(t *testing.T) {
	e := poolEnv(t, 3)
	if err := e.mgr.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.mgr.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n := tagged(e); n != 0 {
		t.Errorf("%d tagged users after Close, want 0", n)
	}
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "shadow.(*guestPool)") {
		t.Errorf("pool goroutines survive Close:\n%s", stacks)
	}
	if _, err := e.mgr.EnsureGuest(newRecorder(), newRequest(t, nil)); err != nil {
		t.Errorf("EnsureGuest after Close: %v", err)
	}
	if s := e.mgr.PoolStats(); s.Ready != 0 || s.Refills != 0 {
		t.Errorf("PoolStats after Close = %+v", s)
	}
}

// The pool fills while ZITADEL's projection lags, and what it hands out
// works.
func TestPoolUnderProjectionLag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.SetProjectionLag(24 * time.Hour)
	e.mgr = e.withOptions(t, shadow.WithGuestPool(shadow.PoolOptions{Size: 2}))
	t.Cleanup(func() { _ = e.mgr.Close(context.WithoutCancel(t.Context())) })
	eventually(t, "the pool fills", func() bool { return e.mgr.PoolStats().Ready == 2 })
	s, err := e.mgr.EnsureGuest(newRecorder(), newRequest(t, nil))
	if err != nil {
		t.Fatalf("EnsureGuest: %v", err)
	}
	v, err := e.mgr.Verifier()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := v.Verify(t.Context(), s.Token.AccessToken); err != nil || c.Subject != s.GuestID || !c.Guest {
		t.Errorf("pooled token: %+v, %v", c, err)
	}
}
