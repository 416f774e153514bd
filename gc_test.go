package shadow_test

import (
	"errors"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

func TestSweepDeletesOnlyOldGuests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var old []string
	for range 5 {
		g := e.provision(t)
		addItems(t, e, g.ID, shadow.Item{SKU: "mug", Quantity: 1})
		old = append(old, g.ID)
	}
	demo, err := e.fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Guest", FamilyName: "User",
		Email: "guest_1@temp.local", Metadata: map[string][]byte{"GUEST_26_11_01": []byte("created")}})
	if err != nil {
		t.Fatal(err)
	}
	customer := e.addCustomer(t, "customer@example.com")
	lookalike, err := e.fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Not", FamilyName: "Guest",
		Email: "note@example.com", Metadata: map[string][]byte{"GUEST_NOTE": []byte("vip")}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(31 * 24 * time.Hour)
	young := e.provision(t)
	addItems(t, e, customer, shadow.Item{SKU: "tee", Quantity: 1})
	before := map[string]zitadeltest.User{}
	for _, id := range []string{customer, lookalike, young.ID} {
		before[id] = e.user(t, id)
	}

	rep, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{OlderThan: 30 * 24 * time.Hour, RequestsPerSecond: -1})
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if rep.Deleted != 6 || len(rep.Failed) != 0 {
		t.Errorf("report = %+v, want 6 deleted, none failed", rep)
	}
	for _, id := range append(old, demo) {
		if _, ok := e.fake.User(id); ok {
			t.Errorf("old guest %s survived", id)
		}
		if len(cartOf(t, e, id)) != 0 {
			t.Errorf("cart of swept guest %s survived", id)
		}
	}
	for id, u := range before {
		if got, ok := e.fake.User(id); !ok || !got.ChangedAt.Equal(u.ChangedAt) {
			t.Errorf("user %s was deleted or modified by the sweep", id)
		}
	}
	if len(cartOf(t, e, customer)) != 1 {
		t.Error("customer's cart touched")
	}
}

func TestSweepPagesThroughManyGuests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for range 250 {
		e.provision(t)
	}
	e.clock.Advance(48 * time.Hour)
	keep := e.provision(t)
	e.fake.ResetRequests()
	rep, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: 24 * time.Hour, PageSize: 100, RequestsPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deleted != 250 || rep.Scanned != 250 {
		t.Errorf("report = %+v, want 250 scanned and deleted", rep)
	}
	if _, ok := e.fake.User(keep.ID); !ok {
		t.Error("young guest deleted")
	}
	if n := e.fake.Count(zitadeltest.OpListUsers); n > 5 {
		t.Errorf("%d ListUsers pages for 250 guests in pages of 100", n)
	}
	if n := e.fake.Count(zitadeltest.OpDeleteUser); n != 250 {
		t.Errorf("%d DeleteUser calls, want 250", n)
	}
}

// TestSweepReportsFailuresAndGoesOn: a guest whose delete fails is
// reported, the others are still deleted, and a second run finishes.
func TestSweepReportsFailuresAndGoesOn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithRetry(shadow.RetryOptions{MaxAttempts: 1}))
	for range 3 {
		e.provision(t)
	}
	e.clock.Advance(48 * time.Hour)
	e.fake.FailNext(zitadeltest.OpDeleteUser, zitadeltest.Unavailable())
	rep, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: 24 * time.Hour, RequestsPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deleted != 2 || len(rep.Failed) != 1 {
		t.Fatalf("report = %+v, want 2 deleted and 1 failed", rep)
	}
	var ae *shadow.APIError
	if !errors.As(rep.Failed[0].Err, &ae) || ae.HTTPStatus != 503 {
		t.Errorf("failure = %v, want the 503", rep.Failed[0].Err)
	}
	rep, err = e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: 24 * time.Hour, RequestsPerSecond: -1})
	if err != nil || rep.Deleted != 1 {
		t.Errorf("second sweep = %+v, %v; want the failed guest deleted", rep, err)
	}
}

func TestSweepOptionsValidated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, o := range []shadow.SweepOptions{{}, {OlderThan: -time.Hour}, {OlderThan: 31 * 24 * time.Hour, PageSize: 5000},
		{OlderThan: 24 * time.Hour}} { // the last: shorter than the 30-day session lifetime
		if _, err := e.mgr.Sweep(t.Context(), o); err == nil {
			t.Errorf("Sweep(%+v) succeeded", o)
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d requests for invalid options", n)
	}
}
