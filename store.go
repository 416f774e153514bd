package shadow

import (
	"context"
	"errors"
	"fmt"
)

// Item is one cart line: a product SKU and how many of it.
type Item struct {
	SKU      string // the app's product identifier; any non-empty UTF-8 string
	Quantity int    // at least 1 in a stored cart
}

// Cart is the cart of one owner, a ZITADEL user id (guest or registered).
// Items hold one entry per SKU, in the order the SKUs were first added.
type Cart struct {
	Owner string
	Items []Item
}

// Quantity returns the quantity of sku in the cart, 0 when absent.
func (c Cart) Quantity(sku string) int {
	for _, it := range c.Items {
		if it.SKU == sku {
			return it.Quantity
		}
	}
	return 0
}

// CartStore keeps carts. Implementations must be safe for concurrent use,
// honour ctx (returning ctx.Err() when it is done before the work) and keep
// these contracts, which shadowtest.TestCartStore checks:
//
//   - Get returns an empty Cart (not an error) for an owner without items,
//     and a copy the caller may modify.
//   - Add adds item.Quantity to the owner's line for item.SKU, creating it
//     if needed, atomically with respect to concurrent Adds and Merges.
//   - Merge moves every line of from into into, combining lines present in
//     both with policy, and deletes from's cart, all in one atomic step.
//     It returns what it moved (from's cart as it was). Merging an absent
//     or empty cart changes nothing and returns an empty Cart, which makes
//     a repeated Merge harmless (idempotent).
//   - Delete removes the owner's cart; deleting an absent cart is no error.
type CartStore interface {
	Get(ctx context.Context, owner string) (Cart, error)
	Add(ctx context.Context, owner string, item Item) error
	Merge(ctx context.Context, from, into string, policy MergePolicy) (Cart, error)
	Delete(ctx context.Context, owner string) error
}

// MergePolicy decides the quantity of a SKU present in both carts of a
// merge: target is the quantity in the cart merged into, guest the one in
// the cart merged from. A result below 1 drops the line.
type MergePolicy func(sku string, target, guest int) int

// SumQuantities adds the two quantities; it is the default policy.
func SumQuantities(_ string, target, guest int) int { return target + guest }

// MaxQuantity keeps the larger quantity.
func MaxQuantity(_ string, target, guest int) int { return max(target, guest) }

// KeepTarget keeps the target's quantity and ignores the guest's line.
func KeepTarget(_ string, target, _ int) int { return target }

// ErrInvalidItem is returned by Add for an empty SKU or a quantity below 1.
var ErrInvalidItem = errors.New("shadow: invalid cart item")

// ValidateItem checks an item before it is added; stores call it so that
// every implementation rejects the same input.
func ValidateItem(it Item) error {
	if it.SKU == "" {
		return fmt.Errorf("%w: empty SKU", ErrInvalidItem)
	}
	if it.Quantity < 1 {
		return fmt.Errorf("%w: quantity %d for SKU %q, want at least 1", ErrInvalidItem, it.Quantity, it.SKU)
	}
	return nil
}

// MergeItems is the reference merge of two carts' lines under policy: the
// target's lines in order, combined where the guest has the same SKU, then
// the guest's other lines in order. Stores may use it to compute a merge.
func MergeItems(target, guest []Item, policy MergePolicy) []Item {
	if policy == nil {
		policy = SumQuantities
	}
	inGuest := make(map[string]int, len(guest))
	for _, it := range guest {
		inGuest[it.SKU] += it.Quantity
	}
	out := make([]Item, 0, len(target)+len(guest))
	seen := make(map[string]bool, len(target))
	for _, it := range target {
		seen[it.SKU] = true
		if q, ok := inGuest[it.SKU]; ok {
			it.Quantity = policy(it.SKU, it.Quantity, q)
		}
		if it.Quantity > 0 {
			out = append(out, it)
		}
	}
	for _, it := range guest {
		if !seen[it.SKU] {
			seen[it.SKU] = true
			out = append(out, Item{SKU: it.SKU, Quantity: inGuest[it.SKU]})
		}
	}
	return out
}
