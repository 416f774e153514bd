package pgstore_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/pgstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// replicaClock is a settable clock shared by the fake and the replicas.
type replicaClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *replicaClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *replicaClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// newReplica returns a Manager on fake and clk whose cart store is a
// Store of its own on the shared schema and table, as another process
// would have.
func newReplica(t *testing.T, fake *zitadeltest.Server, clk *replicaClock, schema, table string) (*shadow.Manager, *pgstore.Store) {
	t.Helper()
	store, err := pgstore.New(testPool(t), pgstore.WithSchema(schema), pgstore.WithTable(table))
	if err != nil {
		t.Fatal(err)
	}
	key, err := shadow.NewSessionKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := shadow.New(fake.Issuer(),
		shadow.WithOrganization(fake.OrganizationID()),
		shadow.WithClientID(fake.ClientID()),
		shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)),
		shadow.WithCartStore(store),
		shadow.WithSessionKeys(key),
		shadow.WithHTTPClient(fake.Client()),
		shadow.WithClock(clk.Now),
	)
	if err != nil {
		t.Fatal(err)
	}
	return mgr, store
}

func replicaRequest(t *testing.T, c *http.Cookie) *http.Request {
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "https://shop.example/cart", nil)
	if c != nil {
		r.AddCookie(c)
	}
	return r
}

// passes reports whether mgr's Middleware hands the handler a session.
func passes(t *testing.T, mgr *shadow.Manager, c *http.Cookie) bool {
	ok := false
	mgr.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, ok = shadow.SessionFromContext(r.Context())
	})).ServeHTTP(httptest.NewRecorder(), replicaRequest(t, c))
	return ok
}

// TestUpgradeSeenByEveryReplica: replica A upgrades a guest; replica B,
// another Store on the same database, treats the old cookie as ended
// (reason upgraded) once shadow.DefaultEndedCheckInterval has passed,
// without asking ZITADEL and without minting a token for it.
func TestUpgradeSeenByEveryReplica(t *testing.T) {
	t.Parallel()
	_, quoted := newStore(t) // migrated on a schema of its own
	parts := strings.Split(quoted, ".")
	schema, table := strings.Trim(parts[0], `"`), strings.Trim(parts[1], `"`)
	clk := &replicaClock{now: time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)}
	fake := zitadeltest.Start(t, zitadeltest.WithClock(clk.Now))
	a, _ := newReplica(t, fake, clk, schema, table)
	b, bStore := newReplica(t, fake, clk, schema, table)

	rec := httptest.NewRecorder()
	g, err := a.EnsureGuest(rec, replicaRequest(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == shadow.DefaultCookieName {
			cookie = c
		}
	}
	if !passes(t, b, cookie) {
		t.Fatal("replica B does not take the live guest session")
	}
	if _, err := a.Upgrade(t.Context(), g.GuestID, shadow.Profile{GivenName: "Ada", FamilyName: "Lovelace",
		Email: "ada@example.com", Password: "Analytical-Engine1"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(shadow.DefaultEndedCheckInterval)
	fake.ResetRequests()

	if passes(t, b, cookie) {
		t.Error("replica B's Middleware passed the upgraded guest's session")
	}
	_, err = b.ReadSession(replicaRequest(t, cookie))
	var ended *shadow.GuestEndedError
	if !errors.As(err, &ended) || ended.GuestID != g.GuestID || ended.Reason != shadow.EndUpgraded {
		t.Errorf("replica B's ReadSession = %v, want a GuestEndedError for %s, reason upgraded", err, g.GuestID)
	}
	if _, err := b.Impersonate(t.Context(), g.GuestID); !errors.Is(err, shadow.ErrNotGuest) {
		t.Errorf("replica B's Impersonate = %v, want ErrNotGuest", err)
	}
	if reqs := fake.Requests(); len(reqs) != 0 {
		t.Errorf("replica B sent %d ZITADEL requests for the ended guest, want none", len(reqs))
	}
	s, err := b.EnsureGuest(httptest.NewRecorder(), replicaRequest(t, cookie))
	if err != nil || s.GuestID == "" || s.GuestID == g.GuestID {
		t.Errorf("replica B's EnsureGuest with the old cookie = %+v, %v; want a new guest", s, err)
	}
	if n := fake.Count(zitadeltest.OpTokenExchange); n != 1 {
		t.Errorf("%d token exchanges on replica B, want 1, for the new guest only", n)
	}
	// The upgraded account keeps its cart: the record refuses no write.
	if err := bStore.Add(t.Context(), g.GuestID, shadow.Item{SKU: "kept", Quantity: 1}); err != nil {
		t.Errorf("Add under the upgraded account: %v", err)
	}
}
