package shadow_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
)

// errStoreDown is the failure faultyData injects.
var errStoreDown = errors.New("store down")

// faultyData wraps a GuestData store, hiding its optional capabilities,
// and fails its calls on demand.
type faultyData struct {
	shadow.GuestData
	mu                   sync.Mutex
	failMove, failDelete int // calls left to fail; -1: every call
	moves, deletes       int // calls seen
	// afterMove, when set, runs after each successful MoveGuest: a write
	// racing the merge.
	afterMove func(ctx context.Context, guestID string)
}

func (f *faultyData) take(n *int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case *n < 0:
		return true
	case *n > 0:
		*n--
		return true
	}
	return false
}

func (f *faultyData) MoveGuest(ctx context.Context, guestID, accountID string) (shadow.MoveResult, error) {
	f.mu.Lock()
	f.moves++
	f.mu.Unlock()
	if f.take(&f.failMove) {
		return shadow.MoveResult{}, errStoreDown
	}
	r, err := f.GuestData.MoveGuest(ctx, guestID, accountID)
	if err == nil && f.afterMove != nil {
		f.afterMove(ctx, guestID)
	}
	return r, err
}

func (f *faultyData) DeleteGuest(ctx context.Context, guestID string) error {
	f.mu.Lock()
	f.deletes++
	f.mu.Unlock()
	if f.take(&f.failDelete) {
		return errStoreDown
	}
	return f.GuestData.DeleteGuest(ctx, guestID)
}

// failing sets how many calls fail; -1 fails every call.
func (f *faultyData) failing(moves, deletes int) {
	f.mu.Lock()
	f.failMove, f.failDelete = moves, deletes
	f.mu.Unlock()
}

// faultyRetirer is faultyData that keeps the Retirer capability.
type faultyRetirer struct {
	*faultyData
	shadow.Retirer
}

// savedItems is the non-cart data of the tests: saved items by id.
type savedItems = memstore.Records[int]

func newSaved() *savedItems { return memstore.NewRecords[int](nil) }

func save(t *testing.T, s *savedItems, owner string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if err := s.Put(t.Context(), owner, k, 1); err != nil {
			t.Fatalf("Put(%s, %s): %v", owner, k, err)
		}
	}
}

func savedOf(t *testing.T, s *savedItems, owner string) []string {
	t.Helper()
	m, err := s.List(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(m))
}
