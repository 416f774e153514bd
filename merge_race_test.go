package shadow_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shadowaccounts/shadow"
)

// hookStore runs afterMerge once, right after the first Merge, to let a
// test act between MergeInto's steps.
type hookStore struct {
	shadow.CartStore
	once       sync.Once
	afterMerge func()
}

func (h *hookStore) Merge(ctx context.Context, from, into string, p shadow.MergePolicy) (shadow.Cart, error) {
	c, err := h.CartStore.Merge(ctx, from, into, p)
	h.once.Do(h.afterMerge)
	return c, err
}

// TestMergeIntoKeepsItemsAddedMeanwhile: an item added to the guest's cart
// after the cart moved but before the guest was deleted still reaches the
// user.
func TestMergeIntoKeepsItemsAddedMeanwhile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.provision(t)
	user := e.addCustomer(t, "buyer@example.com")
	addItems(t, e, g.ID, shadow.Item{SKU: "mug", Quantity: 1})
	hs := &hookStore{CartStore: e.store}
	hs.afterMerge = func() { addItems(t, e, g.ID, shadow.Item{SKU: "tee", Quantity: 1}) }
	mgr := e.withStore(t, hs)
	res, err := mgr.MergeInto(t.Context(), g.ID, user)
	if err != nil {
		t.Fatal(err)
	}
	c := cartOf(t, e, user)
	if len(c) != 2 || len(res.Merged.Items) != 2 || len(cartOf(t, e, g.ID)) != 0 {
		t.Errorf("user cart %v, merged %v, guest cart %v; want the late tee moved too", c, res.Merged.Items, cartOf(t, e, g.ID))
	}
}

// TestConcurrentMergesOfOneGuest: two MergeInto calls for the same guest
// move every item exactly once; at most one reports the guest gone.
func TestConcurrentMergesOfOneGuest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.provision(t)
	user := e.addCustomer(t, "buyer@example.com")
	addItems(t, e, g.ID, shadow.Item{SKU: "mug", Quantity: 3})
	addItems(t, e, user, shadow.Item{SKU: "mug", Quantity: 1})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.mgr.MergeInto(t.Context(), g.ID, user)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, shadow.ErrNotFound), errors.Is(err, shadow.ErrNotGuest), errors.Is(err, shadow.ErrGuestBusy):
		default:
			t.Errorf("MergeInto: %v", err)
		}
	}
	if ok == 0 {
		t.Error("neither MergeInto succeeded")
	}
	if c := cartOf(t, e, user); len(c) != 1 || c[0].Quantity != 4 {
		t.Errorf("user cart = %v, want 4 mugs", c)
	}
}

// TestMergeIntoRacingAdds: units added to the guest's cart while MergeInto
// runs either land before the merge and reach the user, or fail with
// ErrOwnerRetired (the store retired the guest with the merge); none is
// left under the deleted guest.
func TestMergeIntoRacingAdds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.provision(t)
	user := e.addCustomer(t, "buyer@example.com")
	addItems(t, e, g.ID, shadow.Item{SKU: "mug", Quantity: 1})
	var added, refused atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			err := e.store.Add(t.Context(), g.ID, shadow.Item{SKU: "mug", Quantity: 1})
			switch {
			case err == nil:
				added.Add(1)
			case errors.Is(err, shadow.ErrOwnerRetired):
				refused.Add(1)
			default:
				t.Error(err)
				return
			}
		}
	}()
	if _, err := e.mgr.MergeInto(t.Context(), g.ID, user); err != nil {
		t.Fatal(err)
	}
	for refused.Load() == 0 { // an Add after the merge is refused
		select {
		case <-done:
			t.Fatal("the adding goroutine stopped")
		default:
			runtime.Gosched()
		}
	}
	close(stop)
	<-done
	if c := cartOf(t, e, g.ID); len(c) != 0 {
		t.Errorf("guest's cart after the merge = %v, want none: late Adds must fail, not strand", c)
	}
	if got, want := cartOf(t, e, user)[0].Quantity, 1+int(added.Load()); got != want {
		t.Errorf("user has %d units, want the %d added to the guest", got, want)
	}
}

// withStore returns a Manager on the same fake with another store.
func (e *env) withStore(t *testing.T, s shadow.CartStore) *shadow.Manager {
	t.Helper()
	return e.withOptions(t, shadow.WithCartStore(s))
}
