package shadow_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// oldGuests provisions n guests and moves the clock 48 hours on.
func oldGuests(t *testing.T, e *env, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		ids = append(ids, e.provision(t).ID)
	}
	e.clock.Advance(48 * time.Hour)
	return ids
}

func TestSweepDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := oldGuests(t, e, 5)
	rep, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: 24 * time.Hour, DryRun: true, RequestsPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || rep.Eligible != 5 || rep.Deleted != 0 {
		t.Errorf("dry run report = %+v", rep)
	}
	for _, id := range ids {
		e.user(t, id)
	}
	if n := e.fake.Count(zitadeltest.OpDeleteUser); n != 0 {
		t.Errorf("dry run sent %d deletes", n)
	}
}

func TestSweepMaxDeletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	oldGuests(t, e, 10)
	rep, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: 24 * time.Hour, MaxDeletes: 3, Concurrency: 1, RequestsPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deleted != 3 || !rep.Capped {
		t.Errorf("report = %+v, want 3 deleted and capped", rep)
	}
	rep, err = e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: 24 * time.Hour, RequestsPerSecond: -1})
	if err != nil || rep.Deleted != 7 {
		t.Errorf("second run = %+v, %v; want the other 7 deleted", rep, err)
	}
}

func TestSweepIdleFor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := oldGuests(t, e, 2)
	touchUser(t, e, ids[0]) // active just now: its record changed
	rep, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: 24 * time.Hour, IdleFor: 2 * time.Hour, RequestsPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deleted != 1 || len(rep.Skipped) != 1 || rep.Skipped[0].Reason != shadow.SkipActive || rep.Skipped[0].UserID != ids[0] {
		t.Errorf("report = %+v, want the active guest kept", rep)
	}
	if _, ok := e.fake.User(ids[0]); !ok {
		t.Error("the active guest was deleted")
	}
}

// touchUser changes a guest's record (SetUserMetadata) without removing its tag.
func touchUser(t *testing.T, e *env, id string) {
	t.Helper()
	body := `{"userId":"` + id + `","metadata":[{"key":"LAST_SEEN","value":"bm93"}]}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		e.fake.URL+"/zitadel.user.v2.UserService/SetUserMetadata", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.fake.ServiceAccount().PAT)
	resp, err := e.fake.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SetUserMetadata: HTTP %d", resp.StatusCode)
	}
}

func TestSweepProgressAndConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	oldGuests(t, e, 25)
	var mu sync.Mutex
	var pages []int
	rep, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: 24 * time.Hour, PageSize: 10, Concurrency: 8,
		RequestsPerSecond: -1, Progress: func(r shadow.SweepReport) {
			mu.Lock()
			pages = append(pages, r.Deleted)
			mu.Unlock()
		}})
	if err != nil || rep.Deleted != 25 {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	if len(pages) < 3 || pages[len(pages)-1] != 25 {
		t.Errorf("progress after each page = %v", pages)
	}
}

// memLocker is an in-memory Locker for tests.
type memLocker struct {
	mu   sync.Mutex
	held map[string]bool
}

func (l *memLocker) TryLock(_ context.Context, name string) (func(context.Context) error, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[name] {
		return nil, false, nil
	}
	if l.held == nil {
		l.held = map[string]bool{}
	}
	l.held[name] = true
	return func(context.Context) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.held, name)
		return nil
	}, true, nil
}

func TestSweepLocker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	oldGuests(t, e, 2)
	l := &memLocker{}
	release, ok, _ := l.TryLock(t.Context(), "shadow-sweep:"+e.fake.OrganizationID())
	if !ok {
		t.Fatal("lock")
	}
	if _, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: time.Hour, Locker: l}); !errors.Is(err, shadow.ErrSweepLocked) {
		t.Fatalf("Sweep while locked = %v, want ErrSweepLocked", err)
	}
	if n := len(e.fake.Requests()); n != 2 { // the two CreateUser calls only
		t.Errorf("%d requests while locked", n-2)
	}
	_ = release(t.Context())
	rep, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: time.Hour, Locker: l, RequestsPerSecond: -1})
	if err != nil || rep.Deleted != 2 {
		t.Errorf("Sweep after release = %+v, %v", rep, err)
	}
	if len(l.held) != 0 {
		t.Error("the sweep did not release its lock")
	}
}

// TestSweepCancelledMidway: a cancelled run stops, and every guest is
// either fully deleted or still tagged for the next run.
func TestSweepCancelledMidway(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := oldGuests(t, e, 20)
	for _, id := range ids {
		addItems(t, e, id, shadow.Item{SKU: "mug", Quantity: 1})
	}
	ctx, cancel := context.WithCancel(t.Context())
	deleted := 0
	_, err := e.mgr.Sweep(ctx, shadow.SweepOptions{AllowLiveSessions: true, OlderThan: time.Hour, PageSize: 5, Concurrency: 1, RequestsPerSecond: -1,
		Progress: func(r shadow.SweepReport) {
			if deleted = r.Deleted; deleted >= 5 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Sweep = %v, want context.Canceled", err)
	}
	left := 0
	for _, id := range ids {
		if u, ok := e.fake.User(id); ok {
			left++
			if _, tagged := u.Metadata["GUEST_CREATED_AT"]; !tagged {
				t.Errorf("guest %s left untagged", id)
			}
		}
	}
	if left == 0 || left == 20 {
		t.Errorf("%d guests left after cancelling midway", left)
	}
	rep, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: time.Hour, RequestsPerSecond: -1})
	if err != nil || rep.Deleted != left {
		t.Errorf("next run = %+v, %v; want the %d left", rep, err, left)
	}
}

func TestSweepRatePaced(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	oldGuests(t, e, 3)
	start := time.Now()
	rep, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: time.Hour, RequestsPerSecond: 20})
	if err != nil || rep.Deleted != 3 {
		t.Fatal(rep, err)
	}
	// 1 list + 3 × (read + delete) + 1 final list = 8 requests at 20/s: at least 350 ms.
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("sweep took %v, too fast for 20 requests per second", d)
	}
}

// TestSweepPagesPastLookalikes: users listed for other GUEST_* metadata
// fill whole pages; the sweep pages past them to the guests behind.
func TestSweepPagesPastLookalikes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 5 {
		if _, err := e.fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "L", FamilyName: "L",
			Email: "lookalike" + string(rune('a'+i)) + "@example.com", Metadata: map[string][]byte{"GUEST_NOTE": []byte("x")}}); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Second)
	ids := oldGuests(t, e, 4)
	rep, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: time.Hour, PageSize: 2, RequestsPerSecond: -1})
	if err != nil || rep.Deleted != 4 {
		t.Fatalf("report = %+v, %v; want the 4 guests behind 5 lookalikes deleted", rep, err)
	}
	for _, id := range ids {
		if _, ok := e.fake.User(id); ok {
			t.Errorf("guest %s survived", id)
		}
	}
}

// TestSweepRefusesLiveSessionsByDefault: an OlderThan shorter than the
// session lifetime needs AllowLiveSessions.
func TestSweepRefusesLiveSessionsByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithSessionLifetime(7*24*time.Hour))
	if _, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{OlderThan: 24 * time.Hour}); err == nil {
		t.Error("a sweep of guests with live cookies ran without AllowLiveSessions")
	}
	if _, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{OlderThan: 7 * 24 * time.Hour, RequestsPerSecond: -1}); err != nil {
		t.Errorf("OlderThan equal to the session lifetime: %v", err)
	}
}
