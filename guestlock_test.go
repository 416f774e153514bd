package shadow_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// TestDoubleSubmittedUpgrade: two Upgrades of one guest at once register
// it once; the other gets ErrGuestBusy or ErrNotGuest and changes nothing.
func TestDoubleSubmittedUpgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.SetLatency(20 * time.Millisecond) // keep the first one in flight
	g := e.provision(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	emails := []string{"first@example.com", "second@example.com"}
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := goodProfile
			p.Email = emails[i]
			_, errs[i] = e.mgr.Upgrade(t.Context(), g.ID, p)
		}()
	}
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			if u := e.user(t, g.ID); u.Username != emails[i] {
				t.Errorf("username %q, want the winner's %q", u.Username, emails[i])
			}
		case errors.Is(err, shadow.ErrGuestBusy), errors.Is(err, shadow.ErrNotGuest):
		default:
			t.Errorf("Upgrade: %v", err)
		}
	}
	if winners != 1 {
		t.Errorf("%d upgrades succeeded, want exactly 1", winners)
	}
}

// TestUpgradeRacingMergeInto: the user who registers is never deleted by
// a MergeInto of the same guest running at the same time.
func TestUpgradeRacingMergeInto(t *testing.T) {
	t.Parallel()
	for range 5 {
		e := newEnv(t)
		g := e.provision(t)
		other := e.addCustomer(t, "other@example.com")
		var wg sync.WaitGroup
		var upErr, mergeErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, upErr = e.mgr.Upgrade(t.Context(), g.ID, goodProfile) }()
		go func() { defer wg.Done(); _, mergeErr = e.mgr.MergeInto(t.Context(), g.ID, other) }()
		wg.Wait()
		_, exists := e.fake.User(g.ID)
		if upErr == nil && !exists {
			t.Fatalf("the upgraded user was deleted (merge: %v)", mergeErr)
		}
		if upErr == nil && mergeErr == nil {
			t.Fatal("both the upgrade and the merge of one guest succeeded")
		}
	}
}

// TestGuestLockerAcrossReplicas: two Managers sharing a Locker (two
// replicas) do not work on one guest at once.
func TestGuestLockerAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := &memLocker{}
	a, b := e.withOptions(t, shadow.WithGuestLocker(l)), e.withOptions(t, shadow.WithGuestLocker(l))
	g := e.provision(t)
	release, ok, _ := l.TryLock(t.Context(), "shadow-guest:"+g.ID) // replica a is busy with it
	if !ok {
		t.Fatal("lock")
	}
	if _, err := b.Upgrade(t.Context(), g.ID, goodProfile); !errors.Is(err, shadow.ErrGuestBusy) {
		t.Errorf("Upgrade while another replica holds the guest = %v, want ErrGuestBusy", err)
	}
	_ = release(t.Context())
	if _, err := a.Upgrade(t.Context(), g.ID, goodProfile); err != nil {
		t.Errorf("Upgrade after release: %v", err)
	}
	if len(l.held) != 0 {
		t.Error("the guest lock was not released")
	}
}

// TestDemoUpgradedUserStaysUntouched: a user the official demo upgraded
// but whose daily tag removal failed (password, verified e-mail, tag
// still there) is not a guest to Upgrade, MergeInto or Sweep.
func TestDemoUpgradedUserStaysUntouched(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, err := e.fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Demo", FamilyName: "Upgraded", Email: "demo@example.com",
		EmailVerified: true, Password: "Demo-Upgraded1", Metadata: map[string][]byte{"GUEST_26_10_01": []byte("created")}})
	if err != nil {
		t.Fatal(err)
	}
	before := e.user(t, id)
	other := e.addCustomer(t, "other@example.com")
	if _, err := e.mgr.Upgrade(t.Context(), id, goodProfile); !errors.Is(err, shadow.ErrNotGuest) {
		t.Errorf("Upgrade = %v, want ErrNotGuest", err)
	}
	if _, err := e.mgr.MergeInto(t.Context(), id, other); !errors.Is(err, shadow.ErrNotGuest) {
		t.Errorf("MergeInto = %v, want ErrNotGuest", err)
	}
	e.clock.Advance(365 * 24 * time.Hour)
	if _, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{OlderThan: 31 * 24 * time.Hour, RequestsPerSecond: -1}); err != nil {
		t.Fatal(err)
	}
	after, ok := e.fake.User(id)
	if !ok || after.Username != before.Username || !after.ChangedAt.Equal(before.ChangedAt) {
		t.Errorf("the registered user was changed or deleted: %+v", after)
	}
}
