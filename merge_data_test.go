package shadow_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// TestMergeIntoVerifiesTarget: a target that does not exist or is itself
// a guest changes nothing: no data moves, nobody is deleted or retired.
func TestMergeIntoVerifiesTarget(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		target func(t *testing.T, e *env) string
		want   error
	}{
		{"Missing", func(*testing.T, *env) string { return "an-id-that-does-not-exist" }, shadow.ErrNotFound},
		{"Guest", func(t *testing.T, e *env) string { return e.provision(t).ID }, shadow.ErrTargetIsGuest},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			saved := newSaved()
			e := newEnv(t, shadow.WithGuestData("saved", saved))
			target := c.target(t, e)
			g := e.provision(t)
			addItems(t, e, g.ID, shadow.Item{SKU: "mug", Quantity: 2})
			save(t, saved, g.ID, "w1")
			e.fake.ResetRequests()
			res, err := e.mgr.MergeInto(t.Context(), g.ID, target)
			if !errors.Is(err, c.want) {
				t.Fatalf("MergeInto = %v, want %v", err, c.want)
			}
			if res.GuestDeleted || len(res.Stores) != 0 {
				t.Errorf("MergeResult = %+v, want nothing done", res)
			}
			if _, ok := e.fake.User(g.ID); !ok {
				t.Error("guest deleted")
			}
			if n := e.fake.Count(zitadeltest.OpDeleteUser); n != 0 {
				t.Errorf("DeleteUser sent %d times", n)
			}
			if diff := cmp.Diff([]shadow.Item{{SKU: "mug", Quantity: 2}}, cartOf(t, e, g.ID)); diff != "" {
				t.Errorf("guest's cart (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"w1"}, savedOf(t, saved, g.ID)); diff != "" {
				t.Errorf("guest's saved items (-want +got):\n%s", diff)
			}
			save(t, saved, g.ID, "w2") // not retired
			addItems(t, e, g.ID, shadow.Item{SKU: "pen", Quantity: 1})
		})
	}
}

// TestMergeIntoMovesEveryStore: the cart and every WithGuestData store
// move, the result says so per store, carries the ids, and the guest is
// retired in the stores that can.
func TestMergeIntoMovesEveryStore(t *testing.T) {
	t.Parallel()
	saved, drafts := newSaved(), newSaved()
	var events []shadow.Event
	var mu sync.Mutex
	e := newEnv(t, shadow.WithGuestData("saved", saved), shadow.WithGuestData("drafts", drafts),
		shadow.WithObserver(func(ev shadow.Event) { mu.Lock(); events = append(events, ev); mu.Unlock() }))
	g := e.provision(t)
	user := e.addCustomer(t, "buyer@example.com")
	addItems(t, e, g.ID, shadow.Item{SKU: "mug", Quantity: 2}, shadow.Item{SKU: "tee", Quantity: 1})
	save(t, saved, g.ID, "w1", "w2", "w3")
	save(t, saved, user, "w1", "w9")
	e.fake.ResetRequests()

	res, err := e.mgr.MergeInto(t.Context(), g.ID, user)
	if err != nil {
		t.Fatalf("MergeInto: %v", err)
	}
	want := []shadow.StoreMove{{Store: shadow.CartStoreName, Moved: true, Records: 2},
		{Store: "saved", Moved: true, Records: 3}, {Store: "drafts", Moved: true}}
	if diff := cmp.Diff(want, res.Stores); diff != "" {
		t.Errorf("MergeResult.Stores (-want +got):\n%s", diff)
	}
	if res.GuestID != g.ID || res.AccountID != user || !res.GuestDeleted {
		t.Errorf("MergeResult = %+v, want guest %s, account %s, deleted", res, g.ID, user)
	}
	if diff := cmp.Diff([]string{"w1", "w2", "w3", "w9"}, savedOf(t, saved, user)); diff != "" {
		t.Errorf("account's saved items (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"ListUserMetadata": 2, "GetUserByID": 2, "DeleteUser": 1}, e.calls()); diff != "" {
		t.Errorf("ZITADEL calls (-want +got):\n%s", diff)
	}
	if err := saved.Put(t.Context(), g.ID, "late", 1); !errors.Is(err, shadow.ErrOwnerRetired) {
		t.Errorf("Put under the merged guest = %v, want ErrOwnerRetired", err)
	}
	if err := e.store.Add(t.Context(), g.ID, shadow.Item{SKU: "late", Quantity: 1}); !errors.Is(err, shadow.ErrOwnerRetired) {
		t.Errorf("Add under the merged guest = %v, want ErrOwnerRetired", err)
	}
	mu.Lock()
	defer mu.Unlock()
	var merged *shadow.Event
	for i := range events {
		if events[i].Kind == shadow.EventMerged {
			merged = &events[i]
		}
	}
	if merged == nil || merged.GuestID != g.ID || merged.UserID != user {
		t.Errorf("EventMerged = %+v, want guest %s and account %s", merged, g.ID, user)
	}
}

// TestMergeIntoStoreFailsMidMerge: a store that fails stops the merge
// with each store all or nothing and the guest alive; a repeated call
// finishes the job.
func TestMergeIntoStoreFailsMidMerge(t *testing.T) {
	t.Parallel()
	saved, drafts := newSaved(), newSaved()
	flaky := &faultyRetirer{faultyData: &faultyData{GuestData: saved}, Retirer: saved}
	e := newEnv(t, shadow.WithGuestData("saved", flaky), shadow.WithGuestData("drafts", drafts))
	g := e.provision(t)
	user := e.addCustomer(t, "buyer@example.com")
	addItems(t, e, g.ID, shadow.Item{SKU: "mug", Quantity: 2})
	save(t, saved, g.ID, "w1")
	save(t, drafts, g.ID, "d1")
	flaky.failing(1, 0)

	res, err := e.mgr.MergeInto(t.Context(), g.ID, user)
	if !errors.Is(err, errStoreDown) {
		t.Fatalf("MergeInto = %v, want the store's error", err)
	}
	want := []shadow.StoreMove{{Store: shadow.CartStoreName, Moved: true, Records: 1}, {Store: "saved"}}
	if diff := cmp.Diff(want, res.Stores); diff != "" {
		t.Errorf("MergeResult.Stores (-want +got):\n%s", diff)
	}
	if _, ok := e.fake.User(g.ID); !ok || res.GuestDeleted {
		t.Fatal("guest deleted although a store failed")
	}
	if diff := cmp.Diff([]string{"w1"}, savedOf(t, saved, g.ID)); diff != "" {
		t.Errorf("failed store's data (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"d1"}, savedOf(t, drafts, g.ID)); diff != "" {
		t.Errorf("later store's data (-want +got):\n%s", diff)
	}

	res, err = e.mgr.MergeInto(t.Context(), g.ID, user)
	if err != nil || !res.GuestDeleted {
		t.Fatalf("repeated MergeInto = %+v, %v", res, err)
	}
	want = []shadow.StoreMove{{Store: shadow.CartStoreName, Moved: true}, {Store: "saved", Moved: true, Records: 1},
		{Store: "drafts", Moved: true, Records: 1}}
	if diff := cmp.Diff(want, res.Stores); diff != "" {
		t.Errorf("repeated MergeResult.Stores (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]shadow.Item{{SKU: "mug", Quantity: 2}}, cartOf(t, e, user)); diff != "" {
		t.Errorf("account's cart (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"d1"}, savedOf(t, drafts, user)); diff != "" {
		t.Errorf("account's drafts (-want +got):\n%s", diff)
	}
}

// TestMergeIntoMovesLateWritesOfPlainStores: in a store without the
// Retirer capability, a write landing under the guest after its move is
// moved by the second pass after DeleteUser.
func TestMergeIntoMovesLateWritesOfPlainStores(t *testing.T) {
	t.Parallel()
	saved := newSaved()
	plain := &faultyData{GuestData: saved} // hides Retirer: saved would refuse the late write
	e := newEnv(t, shadow.WithGuestData("saved", plain))
	g := e.provision(t)
	user := e.addCustomer(t, "buyer@example.com")
	save(t, saved, g.ID, "early")
	var once sync.Once
	plain.afterMove = func(ctx context.Context, guestID string) {
		once.Do(func() {
			// The store retired the guest; a plain store would not have.
			if _, err := saved.PruneRetired(ctx, e.clock.Now().AddDate(100, 0, 0)); err != nil {
				t.Error(err)
			}
			if err := saved.Put(ctx, guestID, "late", 1); err != nil {
				t.Error(err)
			}
		})
	}
	res, err := e.mgr.MergeInto(t.Context(), g.ID, user)
	if err != nil {
		t.Fatalf("MergeInto: %v", err)
	}
	if diff := cmp.Diff([]string{"early", "late"}, savedOf(t, saved, user)); diff != "" {
		t.Errorf("account's saved items (-want +got):\n%s", diff)
	}
	if len(savedOf(t, saved, g.ID)) != 0 {
		t.Error("late write left under the deleted guest")
	}
	if diff := cmp.Diff([]shadow.StoreMove{{Store: shadow.CartStoreName, Moved: true}, {Store: "saved", Moved: true, Records: 2}}, res.Stores); diff != "" {
		t.Errorf("MergeResult.Stores (-want +got):\n%s", diff)
	}
	if plain.moves != 2 {
		t.Errorf("MoveGuest called %d times, want 2 (before and after DeleteUser)", plain.moves)
	}
}

// TestMergeIntoWithoutStores: an app with no store at all merges (deletes)
// the guest.
func TestMergeIntoWithoutStores(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mgr := e.withOptions(t, shadow.WithCartStore(nil))
	g, err := mgr.Provision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	user := e.addCustomer(t, "buyer@example.com")
	res, err := mgr.MergeInto(t.Context(), g.ID, user)
	if err != nil || !res.GuestDeleted || len(res.Stores) != 0 {
		t.Fatalf("MergeInto = %+v, %v; want the guest deleted and no store", res, err)
	}
}

func TestWithGuestDataRejectsBadStores(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		name string
		opts []shadow.Option
	}{
		{"Nil", []shadow.Option{shadow.WithGuestData("x", nil)}},
		{"EmptyName", []shadow.Option{shadow.WithGuestData("", newSaved())}},
		{"TakenByCarts", []shadow.Option{shadow.WithGuestData(shadow.CartStoreName, newSaved())}},
		{"Twice", []shadow.Option{shadow.WithGuestData("a", newSaved()), shadow.WithGuestData("a", newSaved())}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			opts := append([]shadow.Option{shadow.WithOrganization("o"), shadow.WithClientID("c"),
				shadow.WithCredentials(shadow.PAT("p")), shadow.WithCartStore(e.store)}, c.opts...)
			if _, err := shadow.New(e.fake.Issuer(), opts...); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

// TestPruneRetired forgets retirements older than the given age, and
// refuses an age shorter than the session lifetime.
func TestPruneRetired(t *testing.T) {
	t.Parallel()
	saved := newSaved()
	e := newEnv(t, shadow.WithGuestData("saved", saved))
	saved.WithClock(e.clock.Now)
	e.store.WithClock(e.clock.Now)
	g := e.provision(t)
	user := e.addCustomer(t, "buyer@example.com")
	if _, err := e.mgr.MergeInto(t.Context(), g.ID, user); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mgr.PruneRetired(t.Context(), shadow.DefaultIdleTimeout-1); err == nil {
		t.Error("PruneRetired accepted an age shorter than the idle timeout")
	}
	if n, err := e.mgr.PruneRetired(t.Context(), shadow.DefaultIdleTimeout); err != nil || n != 0 {
		t.Errorf("PruneRetired right after the merge = %d, %v; want 0", n, err)
	}
	e.clock.Advance(shadow.DefaultIdleTimeout + time.Hour)
	if n, err := e.mgr.PruneRetired(t.Context(), shadow.DefaultIdleTimeout); err != nil || n != 2 {
		t.Errorf("PruneRetired after the session lifetime = %d, %v; want 2 (cart store and saved)", n, err)
	}
	save(t, saved, g.ID, "again")
}
