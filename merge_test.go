package shadow_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

func addItems(t *testing.T, e *env, owner string, items ...shadow.Item) {
	t.Helper()
	for _, it := range items {
		if err := e.store.Add(t.Context(), owner, it); err != nil {
			t.Fatal(err)
		}
	}
}

func cartOf(t *testing.T, e *env, owner string) []shadow.Item {
	t.Helper()
	c, err := e.store.Get(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	return c.Items
}

func TestMergeIntoMovesCartAndDeletesGuest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.provision(t)
	user := e.addCustomer(t, "buyer@example.com")
	addItems(t, e, g.ID, shadow.Item{SKU: "mug", Quantity: 2}, shadow.Item{SKU: "tee", Quantity: 1})
	addItems(t, e, user, shadow.Item{SKU: "mug", Quantity: 1})
	e.fake.ResetRequests()

	res, err := e.mgr.MergeInto(t.Context(), g.ID, user)
	if err != nil {
		t.Fatalf("MergeInto: %v", err)
	}
	if diff := cmp.Diff(map[string]int{"ListUserMetadata": 2, "GetUserByID": 2, "DeleteUser": 1}, e.calls()); diff != "" {
		t.Errorf("round trips (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]shadow.Item{{SKU: "mug", Quantity: 3}, {SKU: "tee", Quantity: 1}}, cartOf(t, e, user)); diff != "" {
		t.Errorf("user's cart (-want +got):\n%s", diff)
	}
	if len(cartOf(t, e, g.ID)) != 0 {
		t.Error("guest cart still there")
	}
	if !res.GuestDeleted || len(res.Merged.Items) != 2 {
		t.Errorf("MergeResult = %+v", res)
	}
	if _, ok := e.fake.User(g.ID); ok {
		t.Error("guest still in ZITADEL")
	}
	if _, ok := e.fake.User(user); !ok {
		t.Error("the user was deleted")
	}
}

func TestMergeIntoPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithMergePolicy(shadow.MaxQuantity))
	g := e.provision(t)
	user := e.addCustomer(t, "buyer@example.com")
	addItems(t, e, g.ID, shadow.Item{SKU: "mug", Quantity: 2})
	addItems(t, e, user, shadow.Item{SKU: "mug", Quantity: 5})
	if _, err := e.mgr.MergeInto(t.Context(), g.ID, user); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]shadow.Item{{SKU: "mug", Quantity: 5}}, cartOf(t, e, user)); diff != "" {
		t.Errorf("cart (-want +got):\n%s", diff)
	}
}

// TestMergeIntoRefusesRegisteredUsers checks invariant 1: a "guest" id
// that names a registered user changes nothing, in ZITADEL or the store.
func TestMergeIntoRefusesRegisteredUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	victim := e.addCustomer(t, "victim@example.com")
	attacker := e.addCustomer(t, "attacker@example.com")
	addItems(t, e, victim, shadow.Item{SKU: "ring", Quantity: 1})
	before := e.fake.Users()

	_, err := e.mgr.MergeInto(t.Context(), victim, attacker)
	if !errors.Is(err, shadow.ErrNotGuest) {
		t.Fatalf("MergeInto(registered) = %v, want ErrNotGuest", err)
	}
	if diff := cmp.Diff(before, e.fake.Users()); diff != "" {
		t.Errorf("users changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff([]shadow.Item{{SKU: "ring", Quantity: 1}}, cartOf(t, e, victim)); diff != "" {
		t.Errorf("victim's cart changed (-want +got):\n%s", diff)
	}
	if len(cartOf(t, e, attacker)) != 0 {
		t.Error("items moved to the attacker")
	}
	if n := e.fake.Count(zitadeltest.OpDeleteUser); n != 0 {
		t.Errorf("DeleteUser sent %d times", n)
	}
}

// TestMergeIntoConvergesAfterDeleteFailure: when DeleteUser fails, the
// cart is already with the user and the guest keeps its tag; running
// MergeInto again finishes the job without doubling the cart.
func TestMergeIntoConvergesAfterDeleteFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithRetry(shadow.RetryOptions{MaxAttempts: 1}))
	g := e.provision(t)
	user := e.addCustomer(t, "buyer@example.com")
	addItems(t, e, g.ID, shadow.Item{SKU: "mug", Quantity: 2})
	e.fake.FailNext(zitadeltest.OpDeleteUser, zitadeltest.Unavailable())

	if _, err := e.mgr.MergeInto(t.Context(), g.ID, user); err == nil {
		t.Fatal("MergeInto succeeded although DeleteUser failed")
	}
	if u := e.user(t, g.ID); string(u.Metadata["GUEST_CREATED_AT"]) == "" {
		t.Error("guest lost its tag")
	}
	res, err := e.mgr.MergeInto(t.Context(), g.ID, user)
	if err != nil || !res.GuestDeleted || len(res.Merged.Items) != 0 {
		t.Fatalf("second MergeInto = %+v, %v", res, err)
	}
	if diff := cmp.Diff([]shadow.Item{{SKU: "mug", Quantity: 2}}, cartOf(t, e, user)); diff != "" {
		t.Errorf("cart (-want +got):\n%s", diff)
	}
	// A repeat after the merge completed: nothing was left, so ErrNotFound.
	if _, err := e.mgr.MergeInto(t.Context(), g.ID, user); !errors.Is(err, shadow.ErrNotFound) {
		t.Errorf("MergeInto of a guest deleted by an earlier merge = %v, want ErrNotFound", err)
	}
	if _, err := e.mgr.MergeInto(t.Context(), "0123456789abcdef0123456789abcdef", user); !errors.Is(err, shadow.ErrNotFound) {
		t.Errorf("MergeInto of an id that never existed = %v, want ErrNotFound", err)
	}
}

func TestMergeIntoBadArguments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range [][2]string{{"", "u"}, {"g", ""}, {"same", "same"}} {
		if _, err := e.mgr.MergeInto(t.Context(), c[0], c[1]); err == nil {
			t.Errorf("MergeInto(%q, %q) succeeded", c[0], c[1])
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d requests for bad arguments", n)
	}
}
