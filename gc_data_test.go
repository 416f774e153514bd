package shadow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
)

var sweepMonth = shadow.SweepOptions{OlderThan: 30 * 24 * time.Hour, RequestsPerSecond: -1}

// TestSweepDeletesEveryStore: a swept guest's data goes from the cart
// store and every WithGuestData store, and the guest is retired in each.
func TestSweepDeletesEveryStore(t *testing.T) {
	t.Parallel()
	saved := newSaved()
	e := newEnv(t, shadow.WithGuestData("saved", saved))
	g := e.provision(t)
	addItems(t, e, g.ID, shadow.Item{SKU: "mug", Quantity: 1})
	save(t, saved, g.ID, "w1", "w2")
	customer := e.addCustomer(t, "customer@example.com")
	save(t, saved, customer, "c1")
	e.clock.Advance(31 * 24 * time.Hour)

	rep, err := e.mgr.Sweep(t.Context(), sweepMonth)
	if err != nil || rep.Deleted != 1 {
		t.Fatalf("Sweep = %+v, %v; want the guest deleted", rep, err)
	}
	if len(savedOf(t, saved, g.ID)) != 0 || len(cartOf(t, e, g.ID)) != 0 {
		t.Error("swept guest's data survived")
	}
	if diff := cmp.Diff([]string{"c1"}, savedOf(t, saved, customer)); diff != "" {
		t.Errorf("customer's saved items (-want +got):\n%s", diff)
	}
	if err := saved.Put(t.Context(), g.ID, "late", 1); !errors.Is(err, shadow.ErrOwnerRetired) {
		t.Errorf("Put under the swept guest = %v, want ErrOwnerRetired", err)
	}
}

// TestSweepStoreFailureLeavesNoOrphan: when a store fails to delete, the
// guest stays in ZITADEL, tagged (no data is left for a user that no longer
// exists), the failure names the store, and the next run finishes.
func TestSweepStoreFailureLeavesNoOrphan(t *testing.T) {
	t.Parallel()
	saved := newSaved()
	flaky := &faultyData{GuestData: saved}
	e := newEnv(t, shadow.WithGuestData("saved", flaky))
	g := e.provision(t)
	save(t, saved, g.ID, "w1")
	e.clock.Advance(31 * 24 * time.Hour)
	flaky.failing(0, 1)

	rep, err := e.mgr.Sweep(t.Context(), sweepMonth)
	if err != nil || rep.Deleted != 0 || len(rep.Failed) != 1 || !errors.Is(rep.Failed[0].Err, errStoreDown) {
		t.Fatalf("Sweep = %+v, %v; want one failure with the store's error", rep, err)
	}
	if _, ok := e.fake.User(g.ID); !ok {
		t.Fatal("guest deleted although its data was not")
	}
	rep, err = e.mgr.Sweep(t.Context(), sweepMonth)
	if err != nil || rep.Deleted != 1 {
		t.Fatalf("second Sweep = %+v, %v; want the guest deleted", rep, err)
	}
	if len(savedOf(t, saved, g.ID)) != 0 {
		t.Error("data of the swept guest survived")
	}
}

// TestSweepVeto: the app's veto keeps a guest with its reason, a failing
// veto keeps it with the error, and only an empty answer deletes.
func TestSweepVeto(t *testing.T) {
	t.Parallel()
	errVeto := errors.New("orders service down")
	for _, c := range []struct {
		name       string
		veto       func(context.Context, string) (string, error)
		wantReason shadow.SkipReason
		wantDetail string
		wantErr    error
	}{
		{"Reason", func(context.Context, string) (string, error) { return "open order #12", nil }, shadow.SkipVetoed, "open order #12", nil},
		{"Error", func(context.Context, string) (string, error) { return "", errVeto }, shadow.SkipVetoFailed, "", errVeto},
		{"ErrorWithReason", func(context.Context, string) (string, error) { return "maybe", errVeto }, shadow.SkipVetoFailed, "", errVeto},
		{"NoObjection", func(context.Context, string) (string, error) { return "", nil }, "", "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			saved := newSaved()
			e := newEnv(t, shadow.WithGuestData("saved", saved))
			g := e.provision(t)
			save(t, saved, g.ID, "w1")
			e.clock.Advance(31 * 24 * time.Hour)
			var asked []string
			opts := sweepMonth
			opts.Veto = func(ctx context.Context, id string) (string, error) {
				asked = append(asked, id) // Concurrency 1: no race
				return c.veto(ctx, id)
			}
			opts.Concurrency = 1
			rep, err := e.mgr.Sweep(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{g.ID}, asked); diff != "" {
				t.Errorf("veto asked about (-want +got):\n%s", diff)
			}
			if c.wantReason == "" {
				if rep.Deleted != 1 {
					t.Errorf("report = %+v, want the guest deleted", rep)
				}
				return
			}
			if rep.Deleted != 0 || rep.Eligible != 0 || len(rep.Skipped) != 1 {
				t.Fatalf("report = %+v, want one skip and nothing deleted", rep)
			}
			s := rep.Skipped[0]
			if s.UserID != g.ID || s.Reason != c.wantReason || s.Detail != c.wantDetail || !errors.Is(s.Err, c.wantErr) {
				t.Errorf("skip = %+v, want %s %q %v", s, c.wantReason, c.wantDetail, c.wantErr)
			}
			if _, ok := e.fake.User(g.ID); !ok {
				t.Error("vetoed guest deleted")
			}
			save(t, saved, g.ID, "w2") // neither deleted nor retired
			if diff := cmp.Diff([]string{"w1", "w2"}, savedOf(t, saved, g.ID)); diff != "" {
				t.Errorf("vetoed guest's data (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSweepIdleForReadsStoreActivity: with IdleFor, a guest whose last
// activity in a store is recent is kept, though ZITADEL saw no change.
func TestSweepIdleForReadsStoreActivity(t *testing.T) {
	t.Parallel()
	saved := newSaved()
	e := newEnv(t, shadow.WithGuestData("saved", saved))
	active, idle, never := e.provision(t), e.provision(t), e.provision(t)
	e.clock.Advance(31 * 24 * time.Hour)
	now := e.clock.Now()
	if err := saved.RecordActivity(t.Context(), active.ID, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.store.RecordActivity(t.Context(), idle.ID, now.Add(-8*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	opts := sweepMonth
	opts.IdleFor = 7 * 24 * time.Hour
	rep, err := e.mgr.Sweep(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]shadow.SweepSkip{{UserID: active.ID, Reason: shadow.SkipActive}}, rep.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if rep.Deleted != 2 {
		t.Errorf("deleted %d, want the idle guest and the one never active", rep.Deleted)
	}
	for id, want := range map[string]bool{active.ID: true, idle.ID: false, never.ID: false} {
		if _, ok := e.fake.User(id); ok != want {
			t.Errorf("guest %s exists = %v, want %v", id, ok, want)
		}
	}
}
