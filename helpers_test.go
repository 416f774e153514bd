package shadow_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// testClock is a settable clock shared by the fake and the Manager.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// env is one fake ZITADEL with a Manager and a store wired to it.
type env struct {
	fake  *zitadeltest.Server
	mgr   *shadow.Manager
	store *memstore.Store
	clock *testClock
}

func testSessionKey(t testing.TB) shadow.SessionKey {
	t.Helper()
	k, err := shadow.NewSessionKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newEnv starts a fake and a Manager on a shared clock; extra options
// override the defaults.
func newEnv(t *testing.T, opts ...shadow.Option) *env {
	t.Helper()
	clk := newTestClock()
	e := &env{fake: zitadeltest.Start(t, zitadeltest.WithClock(clk.Now)), store: memstore.New(), clock: clk}
	e.mgr = e.withOptions(t, opts...)
	return e
}

// withOptions returns a Manager on e's fake, store and clock, with fast
// retries and no egress pacing; opts override those defaults.
func (e *env) withOptions(t *testing.T, opts ...shadow.Option) *shadow.Manager {
	t.Helper()
	base := []shadow.Option{
		shadow.WithOrganization(e.fake.OrganizationID()),
		shadow.WithClientID(e.fake.ClientID()),
		shadow.WithCredentials(shadow.PAT(e.fake.ServiceAccount().PAT)),
		shadow.WithCartStore(e.store),
		shadow.WithSessionKeys(testSessionKey(t)),
		shadow.WithHTTPClient(e.fake.Client()),
		shadow.WithClock(e.clock.Now),
		shadow.WithRetry(shadow.RetryOptions{MinWait: time.Millisecond, MaxWait: 10 * time.Millisecond}),
		// Unpaced, and a 429 holds requests back for moments only; the
		// budget's own tests set it.
		shadow.WithEgressBudget(shadow.EgressBudget{RequestsPerSecond: -1, BreakerWait: 5 * time.Millisecond}),
	}
	mgr, err := shadow.New(e.fake.Issuer(), append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return mgr
}

// user returns the fake's copy of a user, failing the test if absent.
func (e *env) user(t *testing.T, id string) zitadeltest.User {
	t.Helper()
	u, ok := e.fake.User(id)
	if !ok {
		t.Fatalf("user %s not in the fake", id)
	}
	return u
}

// addCustomer creates a registered (untagged) human user.
func (e *env) addCustomer(t *testing.T, email string) string {
	t.Helper()
	id, err := e.fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Reg", FamilyName: "User", Email: email,
		EmailVerified: true, Password: "Secr3t!Passw0rd"})
	if err != nil {
		t.Fatalf("AddHumanUser: %v", err)
	}
	return id
}

// provision creates a guest through the SDK.
func (e *env) provision(t *testing.T) shadow.Guest {
	t.Helper()
	g, err := e.mgr.Provision(t.Context())
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	return g
}

// calls counts the requests the fake saw since the last reset, by operation.
func (e *env) calls() map[string]int {
	out := map[string]int{}
	for _, r := range e.fake.Requests() {
		out[r.Op.String()]++
	}
	return out
}

// jwtClaims decodes a JWT's payload without verifying it.
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return m
}
