package shadow_test

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
)

// TestResultsAndEventsCarryIdentity: Upgrade and MergeInto report the
// guest and the surviving account, in their results and their events,
// whether they succeed or not.
func TestResultsAndEventsCarryIdentity(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []shadow.Event
	e := newEnv(t, shadow.WithObserver(func(ev shadow.Event) {
		if ev.Kind == shadow.EventUpgraded || ev.Kind == shadow.EventMerged {
			mu.Lock()
			got = append(got, shadow.Event{Kind: ev.Kind, GuestID: ev.GuestID, UserID: ev.UserID})
			mu.Unlock()
		}
	}))
	upgraded, merged := e.provision(t), e.provision(t)
	account := e.addCustomer(t, "account@example.com")

	up, err := e.mgr.Upgrade(t.Context(), upgraded.ID, goodProfile)
	if err != nil {
		t.Fatal(err)
	}
	if up.GuestID != upgraded.ID || up.AccountID != upgraded.ID {
		t.Errorf("UpgradeResult ids = %q, %q; want the guest's id twice (in place)", up.GuestID, up.AccountID)
	}
	mr, err := e.mgr.MergeInto(t.Context(), merged.ID, account)
	if err != nil {
		t.Fatal(err)
	}
	if mr.GuestID != merged.ID || mr.AccountID != account {
		t.Errorf("MergeResult ids = %q, %q; want %q, %q", mr.GuestID, mr.AccountID, merged.ID, account)
	}
	// A refused MergeInto still says which ids it was about.
	again, err := e.mgr.MergeInto(t.Context(), upgraded.ID, account)
	if err == nil || again.GuestID != upgraded.ID || again.AccountID != account {
		t.Errorf("refused MergeInto = %+v, %v; want an error and the ids", again, err)
	}
	want := []shadow.Event{
		{Kind: shadow.EventUpgraded, GuestID: upgraded.ID, UserID: upgraded.ID},
		{Kind: shadow.EventMerged, GuestID: merged.ID, UserID: account},
		{Kind: shadow.EventMerged, GuestID: upgraded.ID, UserID: account},
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
