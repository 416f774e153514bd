// Package memstore keeps data guests own in memory, for tests, examples
// and single-process apps: [Store] is a [shadow.CartStore] and [Records] a
// [shadow.GuestData] store of any keyed records (saved items, drafts,
// preferences). Both retire the guests they move or delete
// ([shadow.Retirer]), keep owners' last activity
// ([shadow.ActivityRecorder]) and record upgraded guests
// ([shadow.GuestEnder]). Data lives as long as the process; use
// pgstore (or your own store, checked with shadowtest) when replicas share
// it.
package memstore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/shadowaccounts/shadow"
)

// Store is an in-memory CartStore. The zero value is not usable; call New.
// It is safe for concurrent use: one mutex guards every cart, so Add and
// Merge are atomic with respect to each other.
type Store struct {
	mu     sync.Mutex
	carts  map[string][]shadow.Item
	owners owners
	now    func() time.Time
}

var (
	_ shadow.CartStore        = (*Store)(nil)
	_ shadow.CartRetirer      = (*Store)(nil)
	_ shadow.ActivityRecorder = (*Store)(nil)
	_ shadow.GuestEnder       = (*Store)(nil)
)

// New returns an empty Store.
func New() *Store {
	return &Store{carts: make(map[string][]shadow.Item), owners: newOwners(), now: time.Now}
}

// WithClock sets the clock that dates retirements (default time.Now), for
// tests of PruneRetired; it returns s.
func (s *Store) WithClock(now func() time.Time) *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
	return s
}

// Get returns a copy of owner's cart; an owner without items gets an empty
// cart. It returns ctx.Err() if ctx is done.
func (s *Store) Get(ctx context.Context, owner string) (shadow.Cart, error) {
	if err := ctx.Err(); err != nil {
		return shadow.Cart{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return shadow.Cart{Owner: owner, Items: slices.Clone(s.carts[owner])}, nil
}

// Add adds item.Quantity of item.SKU to owner's cart. It returns
// shadow.ErrInvalidItem for an empty SKU or a quantity below 1, and an
// error matching shadow.ErrOwnerRetired for an owner that MergeGuest or
// DeleteGuest retired.
func (s *Store) Add(ctx context.Context, owner string, item shadow.Item) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := shadow.ValidateItem(item); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.owners.refuse(owner); err != nil {
		return err
	}
	items := s.carts[owner]
	for i := range items {
		if items[i].SKU == item.SKU {
			items[i].Quantity += item.Quantity
			return nil
		}
	}
	s.carts[owner] = append(items, item)
	return nil
}

// Merge moves from's cart into into's under policy and deletes from's cart
// in one step under the store's lock. It returns from's cart as it was;
// an absent cart gives an empty Cart and changes nothing.
func (s *Store) Merge(ctx context.Context, from, into string, policy shadow.MergePolicy) (shadow.Cart, error) {
	if err := ctx.Err(); err != nil {
		return shadow.Cart{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.merge(from, into, policy)
}

func (s *Store) merge(from, into string, policy shadow.MergePolicy) (shadow.Cart, error) {
	moved := s.carts[from]
	if len(moved) == 0 || from == into {
		return shadow.Cart{Owner: from}, nil
	}
	if err := s.owners.refuse(into); err != nil {
		return shadow.Cart{}, err
	}
	merged := shadow.MergeItems(s.carts[into], moved, policy)
	if len(merged) == 0 {
		delete(s.carts, into)
	} else {
		s.carts[into] = merged
	}
	delete(s.carts, from)
	return shadow.Cart{Owner: from, Items: slices.Clone(moved)}, nil
}

// MergeGuest is Merge that also retires guestID in the same step: Add
// under guestID fails from then on.
func (s *Store) MergeGuest(ctx context.Context, guestID, accountID string, policy shadow.MergePolicy) (shadow.Cart, error) {
	if err := ctx.Err(); err != nil {
		return shadow.Cart{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if guestID == accountID {
		return shadow.Cart{Owner: guestID}, nil
	}
	moved, err := s.merge(guestID, accountID, policy)
	if err == nil {
		s.owners.retire(guestID, s.now())
	}
	return moved, err
}

// Delete removes owner's cart; an absent cart is no error.
func (s *Store) Delete(ctx context.Context, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.carts, owner)
	return nil
}

// DeleteGuest is Delete that also retires guestID in the same step.
func (s *Store) DeleteGuest(ctx context.Context, guestID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.carts, guestID)
	s.owners.retire(guestID, s.now())
	return nil
}

// Retired reports whether MergeGuest or DeleteGuest retired owner and
// PruneRetired has not forgotten it since.
func (s *Store) Retired(ctx context.Context, owner string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.owners.retired[owner]
	return ok, nil
}

// PruneRetired forgets the retirements made before before (by the Store's
// clock) and returns how many.
func (s *Store) PruneRetired(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owners.prune(before), nil
}

// RecordActivity notes owner's activity at at; it fails with
// shadow.ErrOwnerRetired for a retired owner.
func (s *Store) RecordActivity(ctx context.Context, owner string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owners.record(owner, at)
}

// LastActivity returns owner's last recorded activity, the zero time when
// none is.
func (s *Store) LastActivity(ctx context.Context, owner string) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owners.activity[owner], nil
}
