package shadow_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
)

// TestPartialMergeKeepsTheSession: a MergeInto that stops part-way (the
// cart store moved and retired the guest, a later store failed) leaves a
// guest that still exists in ZITADEL and still owns data in the failed
// store. Its session must survive the stores' shared end check, so that a
// repeated merge through it finishes the job (invariant 3); before, the
// retirement alone ended the session and the data waited for the sweep to
// delete it.
func TestPartialMergeKeepsTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	saved := newSaved()
	flaky := &faultyRetirer{faultyData: &faultyData{GuestData: saved}, Retirer: saved}
	e.mgr = e.withOptions(t, shadow.WithGuestData("saved", flaky))
	g, cookie := newGuestCookie(t, e.mgr)
	addItems(t, e, g.GuestID, shadow.Item{SKU: "mug", Quantity: 1})
	save(t, saved, g.GuestID, "draft-1", "draft-2")
	customer := e.addCustomer(t, "partial@example.com")

	flaky.failing(1, 0)
	if _, err := e.mgr.MergeInto(t.Context(), g.GuestID, customer); !errors.Is(err, errStoreDown) {
		t.Fatalf("MergeInto = %v, want the store's error", err)
	}
	e.clock.Advance(shadow.DefaultEndedCheckInterval + time.Second)
	s, ok, _ := serve(t, e.mgr, cookie)
	if !ok || s.GuestID != g.GuestID {
		t.Fatalf("after a partial merge the session is %+v, %v; want the guest's", s, ok)
	}

	if _, err := e.mgr.MergeSessionInto(t.Context(), s, customer); err != nil {
		t.Fatalf("MergeSessionInto: %v", err)
	}
	if diff := cmp.Diff([]string{"draft-1", "draft-2"}, savedOf(t, saved, customer)); diff != "" {
		t.Errorf("the customer's saved items (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]shadow.Item{{SKU: "mug", Quantity: 1}}, cartOf(t, e, customer)); diff != "" {
		t.Errorf("the customer's cart (-want +got):\n%s", diff)
	}
	if _, ok, _ := serve(t, e.mgr, cookie); ok {
		t.Error("the merged guest's session is still a session")
	}
}

// TestMergedGuestEndsOnOtherReplicas: a guest merged on one replica is
// ended on another once the shared check runs: retired in the stores and
// gone from ZITADEL.
func TestMergedGuestEndsOnOtherReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other := e.withOptions(t) // a second replica: same stores, its own memory
	g, cookie := newGuestCookie(t, e.mgr)
	if _, err := e.mgr.MergeInto(t.Context(), g.GuestID, e.addCustomer(t, "replica@example.com")); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(shadow.DefaultEndedCheckInterval + time.Second)
	_, err := other.ReadSession(newRequest(t, []*http.Cookie{cookie}))
	var ended *shadow.GuestEndedError
	if !errors.As(err, &ended) || ended.GuestID != g.GuestID {
		t.Errorf("ReadSession on the other replica = %v, want a GuestEndedError for %s", err, g.GuestID)
	}
}
