package shadowtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shadowaccounts/shadow"
)

// GuestDataFixture is a [shadow.GuestData] store under test together with
// the app's own paths to write and read it, which the interface leaves to
// the app.
type GuestDataFixture struct {
	// Store is the store under test, empty.
	Store shadow.GuestData
	// Put writes one record called key under owner through the app's
	// ordinary write path; writing an existing key keeps one record. When
	// Store implements shadow.Retirer, Put under a retired owner must fail
	// with an error matching shadow.ErrOwnerRetired.
	Put func(ctx context.Context, owner, key string) error
	// Keys lists the keys of owner's records, in any order.
	Keys func(ctx context.Context, owner string) ([]string, error)
}

// NewGuestData returns a fixture on an empty store for one subtest; it
// may register cleanup with t.
type NewGuestData func(t *testing.T) GuestDataFixture

// TestGuestData runs the contract of shadow.GuestData's documentation,
// and of its optional capabilities shadow.Retirer, shadow.ActivityRecorder
// and shadow.GuestEnder, against stores made by newStore. Cases of a
// capability the store lacks are skipped, saying so.
func TestGuestData(t *testing.T, newStore NewGuestData) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, f GuestDataFixture)
	}{
		{"MoveMovesEverything", testMoveAll},
		{"MoveIsIdempotent", testMoveIdempotent},
		{"MoveSharedKeysKeepsOne", testMoveShared},
		{"MoveNothing", testMoveNothing},
		{"MoveOntoItself", testMoveSelf},
		{"DeleteIsIdempotent", testDeleteGuest},
		{"CancelledContext", testDataCancelled},
		{"ConcurrentMovesOfOneGuest", testConcurrentMoves},
		{"MoveRacingPutLosesNothing", testMoveRacingPut},
		{"Retirer", testRetirer},
		{"RetirerRefusesMoveIntoRetired", testMoveIntoRetired},
		{"ActivityRecorder", testActivity},
		{"GuestEnder", testGuestDataEnder},
		{"GuestEnderRefusesNoWrite", testEndedStillWritable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newStore(t))
		})
	}
}

var keysOpt = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func put(t *testing.T, f GuestDataFixture, owner string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if err := f.Put(t.Context(), owner, k); err != nil {
			t.Fatalf("Put(%q, %q): %v", owner, k, err)
		}
	}
}

func wantKeys(t *testing.T, f GuestDataFixture, owner string, want ...string) {
	t.Helper()
	got, err := f.Keys(t.Context(), owner)
	if err != nil {
		t.Fatalf("Keys(%q): %v", owner, err)
	}
	if want == nil {
		want = []string{}
	}
	if got == nil {
		got = []string{}
	}
	if diff := cmp.Diff(want, got, keysOpt); diff != "" {
		t.Errorf("records of %q (-want +got):\n%s", owner, diff)
	}
}

func move(t *testing.T, f GuestDataFixture, from, into string) shadow.MoveResult {
	t.Helper()
	r, err := f.Store.MoveGuest(t.Context(), from, into)
	if err != nil {
		t.Fatalf("MoveGuest(%q, %q): %v", from, into, err)
	}
	return r
}

func testMoveAll(t *testing.T, f GuestDataFixture) {
	put(t, f, "guest", "a", "b", "c")
	put(t, f, "account", "x")
	put(t, f, "bystander", "a")
	if r := move(t, f, "guest", "account"); r.Records != 3 {
		t.Errorf("MoveGuest reported %d records, want 3", r.Records)
	}
	wantKeys(t, f, "account", "a", "b", "c", "x")
	wantKeys(t, f, "guest")
	wantKeys(t, f, "bystander", "a")
}

func testMoveIdempotent(t *testing.T, f GuestDataFixture) {
	put(t, f, "guest", "a", "b")
	move(t, f, "guest", "account")
	for range 2 {
		if r := move(t, f, "guest", "account"); r.Records != 0 {
			t.Errorf("repeated MoveGuest reported %d records, want 0", r.Records)
		}
	}
	wantKeys(t, f, "account", "a", "b")
	wantKeys(t, f, "guest")
}

func testMoveShared(t *testing.T, f GuestDataFixture) {
	put(t, f, "guest", "shared", "own")
	put(t, f, "account", "shared", "mine")
	move(t, f, "guest", "account")
	wantKeys(t, f, "account", "shared", "own", "mine")
	wantKeys(t, f, "guest")
}

func testMoveNothing(t *testing.T, f GuestDataFixture) {
	put(t, f, "account", "a")
	if r := move(t, f, "nobody", "account"); r.Records != 0 {
		t.Errorf("MoveGuest of an owner without records reported %d, want 0", r.Records)
	}
	wantKeys(t, f, "account", "a")
}

func testMoveSelf(t *testing.T, f GuestDataFixture) {
	put(t, f, "guest", "a", "b")
	move(t, f, "guest", "guest")
	wantKeys(t, f, "guest", "a", "b")
}

func testDeleteGuest(t *testing.T, f GuestDataFixture) {
	put(t, f, "guest", "a", "b")
	put(t, f, "other", "a")
	for i := range 2 {
		if err := f.Store.DeleteGuest(t.Context(), "guest"); err != nil {
			t.Fatalf("DeleteGuest #%d: %v", i+1, err)
		}
	}
	if err := f.Store.DeleteGuest(t.Context(), "never-seen"); err != nil {
		t.Errorf("DeleteGuest of an owner without records: %v", err)
	}
	wantKeys(t, f, "guest")
	wantKeys(t, f, "other", "a")
}

func testDataCancelled(t *testing.T, f GuestDataFixture) {
	put(t, f, "guest", "a")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.Store.MoveGuest(ctx, "guest", "account"); !errors.Is(err, context.Canceled) {
		t.Errorf("MoveGuest with a cancelled ctx = %v, want context.Canceled", err)
	}
	if err := f.Store.DeleteGuest(ctx, "guest"); !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteGuest with a cancelled ctx = %v, want context.Canceled", err)
	}
	wantKeys(t, f, "guest", "a")
	wantKeys(t, f, "account")
	put(t, f, "guest", "b") // nothing was retired either
}

func testConcurrentMoves(t *testing.T, f GuestDataFixture) {
	keys := make([]string, 30)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%02d", i)
	}
	put(t, f, "guest", keys...)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		errs  []error
	)
	for range 8 {
		wg.Go(func() {
			r, err := f.Store.MoveGuest(t.Context(), "guest", "account")
			mu.Lock()
			defer mu.Unlock()
			total += r.Records
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent MoveGuest: %v", err)
	}
	if total != len(keys) {
		t.Errorf("concurrent moves reported %d records in all, want %d (each record moves once)", total, len(keys))
	}
	wantKeys(t, f, "account", keys...)
	wantKeys(t, f, "guest")
}

// testMoveRacingPut writes under the guest while it is moved, as a request
// racing MergeInto does. Every write that succeeded must end up with the
// account after the merge's final move (a second move for stores without
// shadow.Retirer, as MergeInto makes); with shadow.Retirer a write may
// instead fail, only with shadow.ErrOwnerRetired.
func testMoveRacingPut(t *testing.T, f GuestDataFixture) {
	_, retires := f.Store.(shadow.Retirer)
	const writes = 100
	put(t, f, "guest", "first")
	var (
		wg      sync.WaitGroup
		written = []string{"first"}
		putErr  error
		moveErr error
	)
	wg.Go(func() {
		for i := range writes {
			k := fmt.Sprintf("w%03d", i)
			err := f.Put(t.Context(), "guest", k)
			switch {
			case err == nil:
				written = append(written, k)
			case retires && errors.Is(err, shadow.ErrOwnerRetired):
			default:
				putErr = fmt.Errorf("Put(%q): %w", k, err)
				return
			}
		}
	})
	wg.Go(func() {
		time.Sleep(time.Millisecond)
		_, moveErr = f.Store.MoveGuest(t.Context(), "guest", "account")
	})
	wg.Wait()
	if putErr != nil || moveErr != nil {
		t.Fatalf("racing Put: %v; MoveGuest: %v", putErr, moveErr)
	}
	if !retires {
		move(t, f, "guest", "account")
	}
	got, err := f.Keys(t.Context(), "account")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range written {
		if !slices.Contains(got, k) {
			t.Errorf("record %q written under the guest is not with the account after the move", k)
		}
	}
	if retires {
		wantKeys(t, f, "guest")
	}
}

func testRetirer(t *testing.T, f GuestDataFixture) {
	r, ok := f.Store.(shadow.Retirer)
	if !ok {
		t.Skipf("%T does not implement shadow.Retirer (optional)", f.Store)
	}
	ctx := t.Context()
	put(t, f, "merged", "a")
	put(t, f, "swept", "a")
	for _, owner := range []string{"merged", "swept", "account"} {
		if ok, err := r.Retired(ctx, owner); err != nil || ok {
			t.Fatalf("Retired(%q) before any move = %v, %v; want false", owner, ok, err)
		}
	}
	move(t, f, "merged", "account")
	if err := f.Store.DeleteGuest(ctx, "swept"); err != nil {
		t.Fatal(err)
	}
	move(t, f, "never-wrote", "account") // an owner without records is retired too
	for _, owner := range []string{"merged", "swept", "never-wrote"} {
		if ok, err := r.Retired(ctx, owner); err != nil || !ok {
			t.Errorf("Retired(%q) after its move or delete = %v, %v; want true", owner, ok, err)
		}
		if err := f.Put(ctx, owner, "late"); !errors.Is(err, shadow.ErrOwnerRetired) {
			t.Errorf("Put under retired %q = %v, want shadow.ErrOwnerRetired", owner, err)
		}
		wantKeys(t, f, owner)
	}
	if ok, err := r.Retired(ctx, "account"); err != nil || ok {
		t.Errorf("Retired(account) = %v, %v; the account received data and must stay writable", ok, err)
	}
	put(t, f, "account", "b")

	if n, err := r.PruneRetired(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("PruneRetired(an hour ago) = %d, %v; want 0: every retirement is newer", n, err)
	}
	if n, err := r.PruneRetired(ctx, time.Now().Add(time.Hour)); err != nil || n != 3 {
		t.Errorf("PruneRetired(in an hour) = %d, %v; want the 3 retirements", n, err)
	}
	if ok, err := r.Retired(ctx, "merged"); err != nil || ok {
		t.Errorf("Retired(merged) after pruning = %v, %v; want false", ok, err)
	}
	put(t, f, "merged", "again")
}

func testMoveIntoRetired(t *testing.T, f GuestDataFixture) {
	if _, ok := f.Store.(shadow.Retirer); !ok {
		t.Skipf("%T does not implement shadow.Retirer (optional)", f.Store)
	}
	if err := f.Store.DeleteGuest(t.Context(), "gone"); err != nil {
		t.Fatal(err)
	}
	put(t, f, "guest", "a")
	if _, err := f.Store.MoveGuest(t.Context(), "guest", "gone"); !errors.Is(err, shadow.ErrOwnerRetired) {
		t.Errorf("MoveGuest into a retired owner = %v, want shadow.ErrOwnerRetired", err)
	}
	wantKeys(t, f, "guest", "a")
	wantKeys(t, f, "gone")
}

func testActivity(t *testing.T, f GuestDataFixture) {
	a, ok := f.Store.(shadow.ActivityRecorder)
	if !ok {
		t.Skipf("%T does not implement shadow.ActivityRecorder (optional)", f.Store)
	}
	ctx := t.Context()
	if at, err := a.LastActivity(ctx, "guest"); err != nil || !at.IsZero() {
		t.Fatalf("LastActivity without any = %v, %v; want the zero time", at, err)
	}
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{base, base.Add(time.Hour), base.Add(time.Minute)} {
		if err := a.RecordActivity(ctx, "guest", at); err != nil {
			t.Fatalf("RecordActivity(%v): %v", at, err)
		}
	}
	if err := a.RecordActivity(ctx, "other", base.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	at, err := a.LastActivity(ctx, "guest")
	if err != nil || !at.Equal(base.Add(time.Hour)) {
		t.Errorf("LastActivity = %v, %v; want the latest recorded, %v", at, err, base.Add(time.Hour))
	}
	if err := f.Store.DeleteGuest(ctx, "guest"); err != nil {
		t.Fatal(err)
	}
	if at, err := a.LastActivity(ctx, "guest"); err != nil || !at.IsZero() {
		t.Errorf("LastActivity after DeleteGuest = %v, %v; want the zero time", at, err)
	}
	if at, err := a.LastActivity(ctx, "other"); err != nil || !at.Equal(base.Add(48*time.Hour)) {
		t.Errorf("LastActivity of another owner = %v, %v; want %v", at, err, base.Add(48*time.Hour))
	}
}

func testGuestDataEnder(t *testing.T, f GuestDataFixture) {
	e, ok := f.Store.(shadow.GuestEnder)
	if !ok {
		t.Skipf("%T does not implement shadow.GuestEnder (optional)", f.Store)
	}
	testEnder(t, e)
}

// testEndedStillWritable: an upgraded guest keeps its id and its data, so
// recording its end must not refuse the account's writes, moves or
// deletes.
func testEndedStillWritable(t *testing.T, f GuestDataFixture) {
	e, ok := f.Store.(shadow.GuestEnder)
	if !ok {
		t.Skipf("%T does not implement shadow.GuestEnder (optional)", f.Store)
	}
	ctx := t.Context()
	put(t, f, "upgraded", "before")
	if err := e.EndGuest(ctx, "upgraded", shadow.EndUpgraded, time.Now()); err != nil {
		t.Fatal(err)
	}
	put(t, f, "upgraded", "after")
	wantKeys(t, f, "upgraded", "before", "after")
	put(t, f, "guest", "g")
	move(t, f, "guest", "upgraded")
	wantKeys(t, f, "upgraded", "before", "after", "g")
	if r, ok := f.Store.(shadow.Retirer); ok {
		if gone, err := r.Retired(ctx, "upgraded"); err != nil || gone {
			t.Errorf("Retired(upgraded) = %v, %v; EndGuest must retire nothing", gone, err)
		}
	}
}

// NewGuestEnder returns an empty store with the shadow.GuestEnder
// capability for one subtest; it may register cleanup with t.
type NewGuestEnder func(t *testing.T) shadow.GuestEnder

// TestGuestEnder runs the contract of shadow.GuestEnder's documentation
// against stores made by newEnder: for cart stores and other stores that
// TestGuestData does not reach. TestGuestData runs it too when its store
// has the capability.
func TestGuestEnder(t *testing.T, newEnder NewGuestEnder) {
	t.Helper()
	testEnder(t, newEnder(t))
}

func testEnder(t *testing.T, e shadow.GuestEnder) {
	ctx := t.Context()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ended := func(guest string, wantReason shadow.EndReason, wantOK bool) {
		t.Helper()
		reason, ok, err := e.GuestEnded(ctx, guest)
		if err != nil || reason != wantReason || ok != wantOK {
			t.Errorf("GuestEnded(%q) = %q, %v, %v; want %q, %v, nil", guest, reason, ok, err, wantReason, wantOK)
		}
	}
	ended("unknown", "", false)

	for _, c := range []struct {
		guest   string
		reasons []shadow.EndReason // recorded in this order, a minute apart
		want    shadow.EndReason
	}{
		{"upgraded", []shadow.EndReason{shadow.EndUpgraded}, shadow.EndUpgraded},
		{"repeat", []shadow.EndReason{shadow.EndUpgraded, shadow.EndUpgraded}, shadow.EndUpgraded},
		{"first-kept", []shadow.EndReason{shadow.EndUpgraded, shadow.EndMerged, shadow.EndDeleted}, shadow.EndUpgraded},
		{"deleted-replaced", []shadow.EndReason{shadow.EndDeleted, shadow.EndMerged, shadow.EndUpgraded}, shadow.EndMerged},
		{"deleted", []shadow.EndReason{shadow.EndDeleted, shadow.EndDeleted}, shadow.EndDeleted},
	} {
		for i, r := range c.reasons {
			if err := e.EndGuest(ctx, c.guest, r, base.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Fatalf("EndGuest(%q, %q): %v", c.guest, r, err)
			}
		}
		ended(c.guest, c.want, true)
	}
	ended("unknown", "", false)

	for _, bad := range []struct{ guest, reason string }{{"", "upgraded"}, {"empty-reason", ""}} {
		if err := e.EndGuest(ctx, bad.guest, shadow.EndReason(bad.reason), base); err == nil {
			t.Errorf("EndGuest(%q, %q) = nil, want an error", bad.guest, bad.reason)
		}
	}
	ended("empty-reason", "", false)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := e.EndGuest(cancelled, "cancelled", shadow.EndUpgraded, base); !errors.Is(err, context.Canceled) {
		t.Errorf("EndGuest with a cancelled context = %v, want context.Canceled", err)
	}
	if _, _, err := e.GuestEnded(cancelled, "upgraded"); !errors.Is(err, context.Canceled) {
		t.Errorf("GuestEnded with a cancelled context = %v, want context.Canceled", err)
	}
	ended("cancelled", "", false)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- e.EndGuest(ctx, "concurrent", shadow.EndUpgraded, base) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent EndGuest: %v", err)
		}
	}
	ended("concurrent", shadow.EndUpgraded, true)

	// Records: upgraded, repeat, first-kept and concurrent at base;
	// deleted-replaced at base+1m (the merge replaced the deletion);
	// deleted at base.
	if n, err := e.PruneEnded(ctx, base); err != nil || n != 0 {
		t.Errorf("PruneEnded(base) = %d, %v; want 0: no record is older", n, err)
	}
	if n, err := e.PruneEnded(ctx, base.Add(time.Second)); err != nil || n != 5 {
		t.Errorf("PruneEnded(base+1s) = %d, %v; want the 5 records made at base", n, err)
	}
	ended("upgraded", "", false)
	ended("deleted-replaced", shadow.EndMerged, true)
	if n, err := e.PruneEnded(ctx, base.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("PruneEnded(base+1h) = %d, %v; want the last record", n, err)
	}
	ended("deleted-replaced", "", false)
	if err := e.EndGuest(ctx, "upgraded", shadow.EndMerged, base); err != nil {
		t.Fatal(err)
	}
	ended("upgraded", shadow.EndMerged, true) // pruned, so recorded afresh
}
