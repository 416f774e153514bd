package shadow

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeData is a GuestData store with both optional capabilities, for the
// Manager's own helpers (memstore cannot be imported here).
type fakeData struct {
	mu       sync.Mutex
	retired  map[string]bool
	activity map[string]time.Time
	fail     error
}

func newFakeData() *fakeData {
	return &fakeData{retired: map[string]bool{}, activity: map[string]time.Time{}}
}

func (f *fakeData) MoveGuest(context.Context, string, string) (MoveResult, error) {
	return MoveResult{}, nil
}
func (f *fakeData) DeleteGuest(context.Context, string) error { return nil }

func (f *fakeData) Retired(_ context.Context, owner string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.retired[owner], f.fail
}

func (f *fakeData) PruneRetired(context.Context, time.Time) (int, error) { return 0, f.fail }

func (f *fakeData) RecordActivity(_ context.Context, owner string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if at.After(f.activity[owner]) {
		f.activity[owner] = at
	}
	return nil
}

func (f *fakeData) LastActivity(_ context.Context, owner string) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.activity[owner], f.fail
}

// plainData has no optional capability.
type plainData struct{}

func (plainData) MoveGuest(context.Context, string, string) (MoveResult, error) {
	return MoveResult{}, nil
}
func (plainData) DeleteGuest(context.Context, string) error { return nil }

func newDataManager(t *testing.T, opts ...Option) *Manager {
	t.Helper()
	m, err := New("https://id.example.com", append([]Option{WithOrganization("o"), WithClientID("c"),
		WithCredentials(PAT("p"))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestManagerActivityAndRetirementHelpers: activity goes to every store
// that keeps it and the latest wins; a guest retired in any store is
// retired; stores without the capabilities are passed over.
func TestManagerActivityAndRetirementHelpers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a, b := newFakeData(), newFakeData()
	m := newDataManager(t, WithGuestData("plain", plainData{}), WithGuestData("a", a), WithGuestData("b", b))
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	kept, err := m.recordActivity(ctx, "g", base)
	if err != nil || !kept {
		t.Fatalf("recordActivity = %v, %v; want kept", kept, err)
	}
	if err := b.RecordActivity(ctx, "g", base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if last, err := m.lastActivity(ctx, "g"); err != nil || !last.Equal(base.Add(time.Hour)) {
		t.Errorf("lastActivity = %v, %v; want the latest of the stores", last, err)
	}
	if last, err := m.lastActivity(ctx, "other"); err != nil || !last.IsZero() {
		t.Errorf("lastActivity without any = %v, %v; want zero", last, err)
	}
	if ok, err := m.retired(ctx, "g"); err != nil || ok {
		t.Errorf("retired before = %v, %v", ok, err)
	}
	b.retired["g"] = true
	if ok, err := m.retired(ctx, "g"); err != nil || !ok {
		t.Errorf("retired in one store = %v, %v; want true", ok, err)
	}
	a.fail = errors.New("down")
	if _, err := m.retired(ctx, "x"); !errors.Is(err, a.fail) {
		t.Errorf("retired with a failing store = %v, want its error", err)
	}
	if _, err := m.recordActivity(ctx, "g", base); !errors.Is(err, a.fail) {
		t.Errorf("recordActivity with a failing store = %v, want its error", err)
	}

	none := newDataManager(t, WithGuestData("plain", plainData{}))
	if kept, err := none.recordActivity(ctx, "g", base); err != nil || kept {
		t.Errorf("recordActivity without a capable store = %v, %v; want not kept", kept, err)
	}
}
