// Package shadowtest holds conformance suites that any implementation of
// shadow's interfaces can run from its own tests:
//
//	func TestConformance(t *testing.T) {
//		shadowtest.TestCartStore(t, func(t *testing.T) shadow.CartStore { return mystore.New(...) })
//	}
//
// TestGuestData does the same for any [shadow.GuestData] store, given the
// app's own write and read paths in a [GuestDataFixture].
//
// The factory is called once per subtest, so every case starts from an
// empty store. Optional capabilities are probed through interfaces and
// their cases skipped, with the reason, when a store lacks them.
package shadowtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shadowaccounts/shadow"
)

// NewCartStore returns an empty store for one subtest; it may register
// cleanup with t.
type NewCartStore func(t *testing.T) shadow.CartStore

// TestCartStore runs the CartStore contract of shadow.CartStore's
// documentation against stores made by newStore.
func TestCartStore(t *testing.T, newStore NewCartStore) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, s shadow.CartStore)
	}{
		{"EmptyCart", testEmptyCart},
		{"AddGetRoundTrip", testAddGet},
		{"AddRejectsInvalidItems", testAddInvalid},
		{"ConcurrentAddsLoseNothing", testConcurrentAdds},
		{"MergeSumsAndDeletesSource", testMergeSums},
		{"MergeIsIdempotent", testMergeIdempotent},
		{"MergeIntoMissingCart", testMergeIntoMissing},
		{"MergeFromMissingCart", testMergeFromMissing},
		{"MergePolicies", testMergePolicies},
		{"MergeRacingAddLosesNothing", testMergeRacingAdd},
		{"ConcurrentMergesOfOneGuest", testConcurrentMerges},
		{"CrossingMergesFinish", testCrossingMerges},
		{"DeleteIsIdempotent", testDelete},
		{"ReturnsCopies", testCopies},
		{"CancelledContext", testCancelled},
		{"UnicodeSKUs", testUnicode},
		{"LargeCart", testLargeCart},
		{"DeleteIdle", testDeleteIdle},
		{"CartRetirer", testCartRetirer},
		{"CartRetirerRacingAdd", testCartRetirerRacingAdd},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newStore(t))
		})
	}
}

// IdleCartDeleter is the optional capability of stores that delete carts
// nobody has written to for a while (pgstore has it). TestCartStore checks
// it when the store implements it and skips the case, saying so, when not.
type IdleCartDeleter interface {
	// DeleteIdle deletes the carts not written for at least olderThan
	// (> 0) and returns how many it deleted.
	DeleteIdle(ctx context.Context, olderThan time.Duration) (int64, error)
}

// itemsOpt compares item lists ignoring order: stores need not keep it.
var itemsOpt = cmpopts.SortSlices(func(a, b shadow.Item) bool { return a.SKU < b.SKU })

func mustAdd(t *testing.T, s shadow.CartStore, owner string, items ...shadow.Item) {
	t.Helper()
	for _, it := range items {
		if err := s.Add(t.Context(), owner, it); err != nil {
			t.Fatalf("Add(%q, %+v): %v", owner, it, err)
		}
	}
}

func wantCart(t *testing.T, s shadow.CartStore, owner string, want []shadow.Item) {
	t.Helper()
	got, err := s.Get(t.Context(), owner)
	if err != nil {
		t.Fatalf("Get(%q): %v", owner, err)
	}
	if got.Owner != owner {
		t.Errorf("Get(%q).Owner = %q", owner, got.Owner)
	}
	if diff := cmp.Diff(want, got.Items, itemsOpt, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("cart of %q (-want +got):\n%s", owner, diff)
	}
}

func testEmptyCart(t *testing.T, s shadow.CartStore) {
	c, err := s.Get(t.Context(), "nobody")
	if err != nil {
		t.Fatalf("Get of an unknown owner: %v, want an empty cart", err)
	}
	if len(c.Items) != 0 {
		t.Errorf("Get of an unknown owner = %+v, want no items", c.Items)
	}
}

func testAddGet(t *testing.T, s shadow.CartStore) {
	mustAdd(t, s, "u1", shadow.Item{SKU: "apple", Quantity: 2}, shadow.Item{SKU: "pear", Quantity: 1},
		shadow.Item{SKU: "apple", Quantity: 3})
	wantCart(t, s, "u1", []shadow.Item{{SKU: "apple", Quantity: 5}, {SKU: "pear", Quantity: 1}})
	wantCart(t, s, "u2", nil)
}

func testAddInvalid(t *testing.T, s shadow.CartStore) {
	for _, it := range []shadow.Item{{SKU: "", Quantity: 1}, {SKU: "a", Quantity: 0}, {SKU: "a", Quantity: -3}} {
		if err := s.Add(t.Context(), "u1", it); !errors.Is(err, shadow.ErrInvalidItem) {
			t.Errorf("Add(%+v) = %v, want ErrInvalidItem", it, err)
		}
	}
	wantCart(t, s, "u1", nil)
}

func testConcurrentAdds(t *testing.T, s shadow.CartStore) {
	const workers, each = 100, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				sku := []string{"a", "b"}[w%2]
				if err := s.Add(t.Context(), "u1", shadow.Item{SKU: sku, Quantity: 1}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Add: %v", err)
	}
	wantCart(t, s, "u1", []shadow.Item{{SKU: "a", Quantity: workers / 2 * each}, {SKU: "b", Quantity: workers / 2 * each}})
}

func testMergeSums(t *testing.T, s shadow.CartStore) {
	mustAdd(t, s, "guest", shadow.Item{SKU: "a", Quantity: 2}, shadow.Item{SKU: "b", Quantity: 1})
	mustAdd(t, s, "user", shadow.Item{SKU: "a", Quantity: 3}, shadow.Item{SKU: "c", Quantity: 4})
	moved, err := s.Merge(t.Context(), "guest", "user", shadow.SumQuantities)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	if diff := cmp.Diff([]shadow.Item{{SKU: "a", Quantity: 2}, {SKU: "b", Quantity: 1}}, moved.Items, itemsOpt); diff != "" {
		t.Errorf("Merge returned (-want +got):\n%s", diff)
	}
	wantCart(t, s, "user", []shadow.Item{{SKU: "a", Quantity: 5}, {SKU: "b", Quantity: 1}, {SKU: "c", Quantity: 4}})
	wantCart(t, s, "guest", nil)
}

func testMergeIdempotent(t *testing.T, s shadow.CartStore) {
	mustAdd(t, s, "guest", shadow.Item{SKU: "a", Quantity: 2})
	mustAdd(t, s, "user", shadow.Item{SKU: "a", Quantity: 1})
	for i := range 3 {
		moved, err := s.Merge(t.Context(), "guest", "user", shadow.SumQuantities)
		if err != nil {
			t.Fatalf("Merge #%d: %v", i+1, err)
		}
		if i > 0 && len(moved.Items) != 0 {
			t.Errorf("Merge #%d moved %+v, want nothing", i+1, moved.Items)
		}
	}
	wantCart(t, s, "user", []shadow.Item{{SKU: "a", Quantity: 3}})
}

func testMergeIntoMissing(t *testing.T, s shadow.CartStore) {
	mustAdd(t, s, "guest", shadow.Item{SKU: "a", Quantity: 2})
	if _, err := s.Merge(t.Context(), "guest", "user", shadow.SumQuantities); err != nil {
		t.Fatalf("Merge: %v", err)
	}
	wantCart(t, s, "user", []shadow.Item{{SKU: "a", Quantity: 2}})
	wantCart(t, s, "guest", nil)
}

func testMergeFromMissing(t *testing.T, s shadow.CartStore) {
	mustAdd(t, s, "user", shadow.Item{SKU: "a", Quantity: 2})
	moved, err := s.Merge(t.Context(), "guest", "user", shadow.SumQuantities)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	if len(moved.Items) != 0 {
		t.Errorf("Merge from a missing cart moved %+v", moved.Items)
	}
	wantCart(t, s, "user", []shadow.Item{{SKU: "a", Quantity: 2}})
}

func testMergePolicies(t *testing.T, s shadow.CartStore) {
	double := func(_ string, target, guest int) int { return 2 * (target + guest) }
	drop := func(string, int, int) int { return 0 }
	for i, c := range []struct {
		policy shadow.MergePolicy
		want   []shadow.Item
	}{
		{shadow.SumQuantities, []shadow.Item{{SKU: "a", Quantity: 5}, {SKU: "b", Quantity: 1}, {SKU: "c", Quantity: 7}}},
		{shadow.MaxQuantity, []shadow.Item{{SKU: "a", Quantity: 3}, {SKU: "b", Quantity: 1}, {SKU: "c", Quantity: 7}}},
		{shadow.KeepTarget, []shadow.Item{{SKU: "a", Quantity: 3}, {SKU: "b", Quantity: 1}, {SKU: "c", Quantity: 7}}},
		{double, []shadow.Item{{SKU: "a", Quantity: 10}, {SKU: "b", Quantity: 1}, {SKU: "c", Quantity: 7}}},
		{drop, []shadow.Item{{SKU: "b", Quantity: 1}, {SKU: "c", Quantity: 7}}},
	} {
		guest, user := fmt.Sprintf("guest%d", i), fmt.Sprintf("user%d", i)
		mustAdd(t, s, guest, shadow.Item{SKU: "a", Quantity: 2}, shadow.Item{SKU: "b", Quantity: 1})
		mustAdd(t, s, user, shadow.Item{SKU: "a", Quantity: 3}, shadow.Item{SKU: "c", Quantity: 7})
		if _, err := s.Merge(t.Context(), guest, user, c.policy); err != nil {
			t.Fatalf("Merge with policy %d: %v", i, err)
		}
		wantCart(t, s, user, c.want)
	}
}

// testMergeRacingAdd adds to the guest's cart while it is merged: every
// unit must end up in one of the two carts.
func testMergeRacingAdd(t *testing.T, s shadow.CartStore) {
	const adds = 200
	mustAdd(t, s, "guest", shadow.Item{SKU: "a", Quantity: 1})
	var wg sync.WaitGroup
	wg.Add(2)
	var addErr, mergeErr error
	go func() {
		defer wg.Done()
		for range adds {
			if err := s.Add(t.Context(), "guest", shadow.Item{SKU: "a", Quantity: 1}); err != nil {
				addErr = err
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 20 {
			if _, err := s.Merge(t.Context(), "guest", "user", shadow.SumQuantities); err != nil {
				mergeErr = err
				return
			}
		}
	}()
	wg.Wait()
	if addErr != nil || mergeErr != nil {
		t.Fatalf("Add: %v; Merge: %v", addErr, mergeErr)
	}
	total := 0
	for _, owner := range []string{"guest", "user"} {
		c, err := s.Get(t.Context(), owner)
		if err != nil {
			t.Fatal(err)
		}
		total += c.Quantity("a")
	}
	if total != adds+1 {
		t.Errorf("after racing Add and Merge: %d units in all, want %d", total, adds+1)
	}
}

func testConcurrentMerges(t *testing.T, s shadow.CartStore) {
	mustAdd(t, s, "guest", shadow.Item{SKU: "a", Quantity: 4}, shadow.Item{SKU: "b", Quantity: 1})
	mustAdd(t, s, "user", shadow.Item{SKU: "a", Quantity: 1})
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Merge(t.Context(), "guest", "user", shadow.SumQuantities); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Merge: %v", err)
	}
	wantCart(t, s, "user", []shadow.Item{{SKU: "a", Quantity: 5}, {SKU: "b", Quantity: 1}})
	wantCart(t, s, "guest", nil)
}

// testCrossingMerges merges a into b and b into a at once, many times: a
// store that locks in argument order deadlocks here.
func testCrossingMerges(t *testing.T, s shadow.CartStore) {
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, into := "x", "y"
			if i%2 == 1 {
				from, into = into, from
			}
			if err := s.Add(t.Context(), from, shadow.Item{SKU: "a", Quantity: 1}); err != nil {
				errs <- err
				return
			}
			if _, err := s.Merge(t.Context(), from, into, shadow.SumQuantities); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("crossing merges: %v", err)
	}
	total := 0
	for _, owner := range []string{"x", "y"} {
		c, err := s.Get(t.Context(), owner)
		if err != nil {
			t.Fatal(err)
		}
		total += c.Quantity("a")
	}
	if total != 50 {
		t.Errorf("after crossing merges: %d units, want 50", total)
	}
}

func testDelete(t *testing.T, s shadow.CartStore) {
	mustAdd(t, s, "u1", shadow.Item{SKU: "a", Quantity: 1})
	mustAdd(t, s, "u2", shadow.Item{SKU: "a", Quantity: 1})
	for i := range 2 {
		if err := s.Delete(t.Context(), "u1"); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if err := s.Delete(t.Context(), "never-existed"); err != nil {
		t.Errorf("Delete of an absent cart: %v", err)
	}
	wantCart(t, s, "u1", nil)
	wantCart(t, s, "u2", []shadow.Item{{SKU: "a", Quantity: 1}})
}

func testCopies(t *testing.T, s shadow.CartStore) {
	mustAdd(t, s, "u1", shadow.Item{SKU: "a", Quantity: 1})
	c, err := s.Get(t.Context(), "u1")
	if err != nil {
		t.Fatal(err)
	}
	c.Items[0].Quantity = 99
	c.Items = append(c.Items, shadow.Item{SKU: "injected", Quantity: 1})
	wantCart(t, s, "u1", []shadow.Item{{SKU: "a", Quantity: 1}})

	mustAdd(t, s, "g", shadow.Item{SKU: "b", Quantity: 1})
	moved, err := s.Merge(t.Context(), "g", "u1", shadow.SumQuantities)
	if err != nil {
		t.Fatal(err)
	}
	if len(moved.Items) > 0 {
		moved.Items[0].Quantity = 99
	}
	wantCart(t, s, "u1", []shadow.Item{{SKU: "a", Quantity: 1}, {SKU: "b", Quantity: 1}})
}

func testCancelled(t *testing.T, s shadow.CartStore) {
	mustAdd(t, s, "u1", shadow.Item{SKU: "a", Quantity: 1})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Get(ctx, "u1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled ctx = %v, want context.Canceled", err)
	}
	if err := s.Add(ctx, "u1", shadow.Item{SKU: "a", Quantity: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("Add with a cancelled ctx = %v, want context.Canceled", err)
	}
	if _, err := s.Merge(ctx, "u1", "u2", shadow.SumQuantities); !errors.Is(err, context.Canceled) {
		t.Errorf("Merge with a cancelled ctx = %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, "u1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with a cancelled ctx = %v, want context.Canceled", err)
	}
	wantCart(t, s, "u1", []shadow.Item{{SKU: "a", Quantity: 1}})
}

func testUnicode(t *testing.T, s shadow.CartStore) {
	skus := []string{"café-crème", "日本茶", "🍎", "a'b\"c;--", "Ελληνικά", "ﬁ ligature"}
	var want []shadow.Item
	for i, sku := range skus {
		mustAdd(t, s, "ünïcode-owner", shadow.Item{SKU: sku, Quantity: i + 1})
		want = append(want, shadow.Item{SKU: sku, Quantity: i + 1})
	}
	wantCart(t, s, "ünïcode-owner", want)
}

func testLargeCart(t *testing.T, s shadow.CartStore) {
	var want []shadow.Item
	for i := range 500 {
		it := shadow.Item{SKU: fmt.Sprintf("sku-%04d", i), Quantity: i%7 + 1}
		mustAdd(t, s, "big", it)
		want = append(want, it)
	}
	wantCart(t, s, "big", want)
	if _, err := s.Merge(t.Context(), "big", "other", shadow.SumQuantities); err != nil {
		t.Fatal(err)
	}
	wantCart(t, s, "other", want)
}

func testDeleteIdle(t *testing.T, s shadow.CartStore) {
	d, ok := s.(IdleCartDeleter)
	if !ok {
		t.Skipf("%T does not implement shadowtest.IdleCartDeleter (optional)", s)
	}
	mustAdd(t, s, "idle1", shadow.Item{SKU: "a", Quantity: 1})
	mustAdd(t, s, "idle2", shadow.Item{SKU: "a", Quantity: 1})
	if n, err := d.DeleteIdle(t.Context(), time.Hour); err != nil || n != 0 {
		t.Fatalf("DeleteIdle(1h) right after writing = %d, %v; want 0", n, err)
	}
	// Idle for 250 ms: the carts written 500 ms ago are, the one written
	// just before DeleteIdle is not, even on a loaded machine.
	time.Sleep(500 * time.Millisecond)
	mustAdd(t, s, "busy", shadow.Item{SKU: "a", Quantity: 1})
	n, err := d.DeleteIdle(t.Context(), 250*time.Millisecond)
	if err != nil || n != 2 {
		t.Fatalf("DeleteIdle(250ms) = %d, %v; want the 2 idle carts", n, err)
	}
	wantCart(t, s, "idle1", nil)
	wantCart(t, s, "busy", []shadow.Item{{SKU: "a", Quantity: 1}})
}

func testCartRetirer(t *testing.T, s shadow.CartStore) {
	r, ok := s.(shadow.CartRetirer)
	if !ok {
		t.Skipf("%T does not implement shadow.CartRetirer (optional)", s)
	}
	ctx := t.Context()
	mustAdd(t, s, "guest", shadow.Item{SKU: "a", Quantity: 2})
	mustAdd(t, s, "user", shadow.Item{SKU: "a", Quantity: 1})
	moved, err := r.MergeGuest(ctx, "guest", "user", shadow.SumQuantities)
	if err != nil {
		t.Fatalf("MergeGuest: %v", err)
	}
	if diff := cmp.Diff([]shadow.Item{{SKU: "a", Quantity: 2}}, moved.Items); diff != "" {
		t.Errorf("MergeGuest moved (-want +got):\n%s", diff)
	}
	wantCart(t, s, "user", []shadow.Item{{SKU: "a", Quantity: 3}})
	if err := r.DeleteGuest(ctx, "swept"); err != nil {
		t.Fatalf("DeleteGuest: %v", err)
	}
	for _, owner := range []string{"guest", "swept"} {
		if err := s.Add(ctx, owner, shadow.Item{SKU: "b", Quantity: 1}); !errors.Is(err, shadow.ErrOwnerRetired) {
			t.Errorf("Add under retired %q = %v, want shadow.ErrOwnerRetired", owner, err)
		}
		if ok, err := r.Retired(ctx, owner); err != nil || !ok {
			t.Errorf("Retired(%q) = %v, %v; want true", owner, ok, err)
		}
		wantCart(t, s, owner, nil)
	}
	if again, err := r.MergeGuest(ctx, "guest", "user", shadow.SumQuantities); err != nil || len(again.Items) != 0 {
		t.Errorf("repeated MergeGuest = %v, %v; want nothing moved, no error", again.Items, err)
	}
	// Plain Merge and Delete retire nobody: an app empties carts with them.
	mustAdd(t, s, "user", shadow.Item{SKU: "c", Quantity: 1})
	if err := s.Delete(ctx, "user"); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, "user", shadow.Item{SKU: "c", Quantity: 1})
	if _, err := s.Merge(ctx, "user", "user2", shadow.SumQuantities); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, "user", shadow.Item{SKU: "d", Quantity: 1})
	if n, err := r.PruneRetired(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
		t.Errorf("PruneRetired(in an hour) = %d, %v; want the 2 retirements", n, err)
	}
	mustAdd(t, s, "guest", shadow.Item{SKU: "e", Quantity: 1})
}

// testCartRetirerRacingAdd adds under a guest while MergeGuest runs: every
// Add either lands before the merge (and moves) or fails with
// shadow.ErrOwnerRetired; none is left under the guest.
func testCartRetirerRacingAdd(t *testing.T, s shadow.CartStore) {
	r, ok := s.(shadow.CartRetirer)
	if !ok {
		t.Skipf("%T does not implement shadow.CartRetirer (optional)", s)
	}
	mustAdd(t, s, "guest", shadow.Item{SKU: "a", Quantity: 1})
	var wg sync.WaitGroup
	added := 1
	var addErr, mergeErr error
	wg.Go(func() {
		for range 200 {
			err := s.Add(t.Context(), "guest", shadow.Item{SKU: "a", Quantity: 1})
			switch {
			case err == nil:
				added++
			case errors.Is(err, shadow.ErrOwnerRetired):
				return
			default:
				addErr = err
				return
			}
		}
	})
	wg.Go(func() {
		time.Sleep(time.Millisecond)
		_, mergeErr = r.MergeGuest(t.Context(), "guest", "user", shadow.SumQuantities)
	})
	wg.Wait()
	if addErr != nil || mergeErr != nil {
		t.Fatalf("Add: %v; MergeGuest: %v", addErr, mergeErr)
	}
	wantCart(t, s, "guest", nil)
	c, err := s.Get(t.Context(), "user")
	if err != nil {
		t.Fatal(err)
	}
	if c.Quantity("a") != added {
		t.Errorf("user has %d units after racing Adds and MergeGuest, want the %d added", c.Quantity("a"), added)
	}
}
