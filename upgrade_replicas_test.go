package shadow_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// upgraders upgrade a guest in place through mgr, on e's fake: the two
// methods, and an Upgrade whose UpdateUser answer was lost after ZITADEL
// applied it.
var upgraders = map[string]func(t *testing.T, e *env, mgr *shadow.Manager, id string){
	"Upgrade": func(t *testing.T, _ *env, mgr *shadow.Manager, id string) {
		t.Helper()
		if _, err := mgr.Upgrade(t.Context(), id, goodProfile); err != nil {
			t.Fatalf("Upgrade: %v", err)
		}
	},
	"UpgradeWithoutPassword": func(t *testing.T, _ *env, mgr *shadow.Manager, id string) {
		t.Helper()
		if _, err := mgr.UpgradeWithoutPassword(t.Context(), id, shadow.PasswordlessProfile{GivenName: "Ada",
			FamilyName: "Lovelace", Email: "ada@example.com", ReturnCode: true}); err != nil {
			t.Fatalf("UpgradeWithoutPassword: %v", err)
		}
	},
	"UpgradeAnswerLost": func(t *testing.T, e *env, mgr *shadow.Manager, id string) {
		t.Helper()
		e.fake.FailNext(zitadeltest.OpUpdateUser, zitadeltest.DropAfterCommit())
		if _, err := mgr.Upgrade(t.Context(), id, goodProfile); !errors.Is(err, shadow.ErrUnavailable) {
			t.Fatalf("Upgrade with its answer lost = %v, want ErrUnavailable", err)
		}
	},
}

// TestUpgradeSeenByEveryReplica is docs/architecture.md invariant 6 across
// replicas for an upgrade: replica A upgrades the guest, and replica B,
// sharing a store with the GuestEnder capability, treats the old cookie as
// ended (reason upgraded) once DefaultEndedCheckInterval has passed,
// without asking ZITADEL and without minting a token for it.
func TestUpgradeSeenByEveryReplica(t *testing.T) {
	t.Parallel()
	stores := map[string]func() []shadow.Option{
		"memstore carts": func() []shadow.Option { return nil }, // newEnv's shared memstore.Store
		"memstore records": func() []shadow.Option {
			return []shadow.Option{shadow.WithCartStore(plainCarts{s: memstore.New()}),
				shadow.WithGuestData("saved", memstore.NewRecords[int](nil))}
		},
	}
	for storeName, opts := range stores {
		for upName, upgrade := range upgraders {
			t.Run(storeName+"/"+upName, func(t *testing.T) {
				t.Parallel()
				shared := opts()
				e := newEnv(t, shared...)
				a, b := e.mgr, e.withOptions(t, shared...)
				g, cookie := newGuestCookie(t, a)
				if _, ok, _ := serve(t, b, cookie); !ok {
					t.Fatal("replica B does not take the live guest session")
				}
				upgrade(t, e, a, g.GuestID)

				// Within the interval B has not asked the store again: the
				// documented bound, which keeps the warm request cheap.
				e.clock.Advance(shadow.DefaultEndedCheckInterval - time.Millisecond)
				if _, ok, _ := serve(t, b, cookie); !ok {
					t.Fatal("replica B asked the store within DefaultEndedCheckInterval")
				}
				e.clock.Advance(time.Millisecond)
				e.fake.ResetRequests()

				if s, ok, rec := serve(t, b, cookie); ok {
					t.Errorf("replica B's Middleware passed the upgraded guest's session %+v", s)
				} else if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
					t.Errorf("replica B's Middleware did not clear the old cookie: %v", rec.Result().Header["Set-Cookie"])
				}
				_, err := b.ReadSession(newRequest(t, []*http.Cookie{cookie}))
				var ended *shadow.GuestEndedError
				if !errors.As(err, &ended) || ended.GuestID != g.GuestID || ended.Reason != shadow.EndUpgraded {
					t.Errorf("replica B's ReadSession = %v, want a GuestEndedError for %s, reason upgraded", err, g.GuestID)
				}
				if _, err := b.Impersonate(t.Context(), g.GuestID); !errors.Is(err, shadow.ErrNotGuest) {
					t.Errorf("replica B's Impersonate = %v, want ErrNotGuest", err)
				}
				if diff := cmp.Diff(map[string]int{}, e.calls()); diff != "" {
					t.Errorf("replica B called ZITADEL for the ended guest (-want +got):\n%s", diff)
				}
				s, err := b.EnsureGuest(newRecorder(), newRequest(t, []*http.Cookie{cookie}))
				if err != nil || s.GuestID == "" || s.GuestID == g.GuestID {
					t.Errorf("replica B's EnsureGuest with the old cookie = %+v, %v; want a new guest", s, err)
				}
				if n := e.fake.Count(zitadeltest.OpTokenExchange); n != 1 {
					t.Errorf("%d token exchanges on replica B, want 1, for the new guest only", n)
				}
			})
		}
	}
}

// failingEnder is a store whose GuestEnder record always fails.
type failingEnder struct {
	*memstore.Records[int]
}

var errEnderDown = errors.New("store down")

func (failingEnder) EndGuest(context.Context, string, shadow.EndReason, time.Time) error {
	return errEnderDown
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestUpgradeStandsWhenTheStoreFails: a store that cannot record the end
// fails no upgrade. The failure is logged, the upgrading replica ends the
// old session at once, and the other stores still get the record.
func TestUpgradeStandsWhenTheStoreFails(t *testing.T) {
	t.Parallel()
	for name, upgrade := range upgraders {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			e := newEnv(t, shadow.WithGuestData("saved", failingEnder{memstore.NewRecords[int](nil)}),
				shadow.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			g, cookie := newGuestCookie(t, e.mgr)
			upgrade(t, e, e.mgr, g.GuestID)
			if u := e.user(t, g.GuestID); u.Username != "ada@example.com" || len(u.Metadata) != 0 {
				t.Errorf("user after the upgrade = %+v, want it upgraded", u)
			}
			if got := logs.String(); !strings.Contains(got, g.GuestID) || !strings.Contains(got, errEnderDown.Error()) ||
				!strings.Contains(got, "saved") {
				t.Errorf("log = %q, want the guest and the store's failure", got)
			}
			if _, ok, _ := serve(t, e.mgr, cookie); ok {
				t.Error("the upgrading replica still takes the old session")
			}
			if reason, ok, err := e.store.GuestEnded(t.Context(), g.GuestID); err != nil || !ok || reason != shadow.EndUpgraded {
				t.Errorf("the cart store's record = %q, %v, %v; want upgraded although another store failed", reason, ok, err)
			}
		})
	}
}

// TestPruneRetiredPrunesEndedGuests: one PruneRetired call forgets the
// ended-guest records with the retirements, with the same retention.
func TestPruneRetiredPrunesEndedGuests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithIdleTimeout(time.Hour), shadow.WithSessionLifetime(time.Hour))
	e.store.WithClock(e.clock.Now)
	upgraded, merged := e.provision(t), e.provision(t)
	if _, err := e.mgr.Upgrade(t.Context(), upgraded.ID, goodProfile); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mgr.MergeInto(t.Context(), merged.ID, e.addCustomer(t, "buyer@example.com")); err != nil {
		t.Fatal(err)
	}
	if n, err := e.mgr.PruneRetired(t.Context(), time.Hour); err != nil || n != 0 {
		t.Errorf("PruneRetired right away = %d, %v; want 0", n, err)
	}
	e.clock.Advance(time.Hour + time.Second)
	if n, err := e.mgr.PruneRetired(t.Context(), time.Hour); err != nil || n != 2 {
		t.Errorf("PruneRetired after an hour = %d, %v; want the upgrade's record and the merge's retirement", n, err)
	}
	if _, ok, err := e.store.GuestEnded(t.Context(), upgraded.ID); err != nil || ok {
		t.Errorf("GuestEnded after pruning = %v, %v; want false", ok, err)
	}
}
