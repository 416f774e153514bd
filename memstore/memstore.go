// Package memstore is an in-memory [shadow.CartStore] for tests, examples
// and single-process apps. Carts live as long as the process; use pgstore
// (or your own store, checked with shadowtest) when replicas share carts.
package memstore

import (
	"context"
	"slices"
	"sync"

	"github.com/shadowaccounts/shadow"
)

// Store is an in-memory CartStore. The zero value is not usable; call New.
// It is safe for concurrent use: one mutex guards every cart, so Add and
// Merge are atomic with respect to each other.
type Store struct {
	mu    sync.Mutex
	carts map[string][]shadow.Item
}

var _ shadow.CartStore = (*Store)(nil)

// New returns an empty Store.
func New() *Store { return &Store{carts: make(map[string][]shadow.Item)} }

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
// shadow.ErrInvalidItem for an empty SKU or a quantity below 1.
func (s *Store) Add(ctx context.Context, owner string, item shadow.Item) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := shadow.ValidateItem(item); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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
	moved := s.carts[from]
	if len(moved) == 0 || from == into {
		return shadow.Cart{Owner: from}, nil
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
