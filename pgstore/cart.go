package pgstore

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/shadowaccounts/shadow"
)

// Get returns owner's cart, its lines in the order their SKUs were first
// added to it (lines a merge brings in come after the lines already
// there). An owner without items gets an empty Cart, not an error. The
// cart is read in one statement, so it never shows half of a Merge.
func (s *Store) Get(ctx context.Context, owner string) (shadow.Cart, error) {
	if err := ctx.Err(); err != nil {
		return shadow.Cart{}, err
	}
	rows, _ := s.pool.Query(ctx, s.q.get, owner) // CollectRows reports the error
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (shadow.Item, error) {
		var it shadow.Item
		err := row.Scan(&it.SKU, &it.Quantity)
		return it, err
	})
	if err != nil {
		return shadow.Cart{}, fail(ctx, "get cart", err)
	}
	return shadow.Cart{Owner: owner, Items: items}, nil
}

// Add adds item.Quantity of item.SKU to owner's cart in one upsert
// (INSERT … ON CONFLICT DO UPDATE), sent in the same round trip as the
// owner's advisory lock, which keeps it atomic with respect to Merge (see
// the package documentation). It returns an error matching
// [shadow.ErrInvalidItem] for an item [shadow.ValidateItem] rejects, and
// for a SKU that PostgreSQL text cannot hold (invalid UTF-8 or a NUL byte).
// A quantity whose sum overflows 64 bits is an error and changes nothing.
// Under an owner that MergeGuest or DeleteGuest retired it fails with an
// error matching [shadow.ErrOwnerRetired].
func (s *Store) Add(ctx context.Context, owner string, item shadow.Item) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateItem(item); err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(lockSQL, s.ownerKey(owner))
	b.Queue(s.q.add, owner, item.SKU, item.Quantity)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return failWrite(ctx, "add item", err)
	}
	return nil
}

func validateItem(it shadow.Item) error {
	if err := shadow.ValidateItem(it); err != nil {
		return err
	}
	if !utf8.ValidString(it.SKU) || strings.IndexByte(it.SKU, 0) >= 0 {
		return fmt.Errorf("%w: SKU %q: PostgreSQL text needs valid UTF-8 without NUL bytes", shadow.ErrInvalidItem, it.SKU)
	}
	return nil
}

// Delete removes owner's cart; deleting an absent cart is no error. Like
// Add, it holds the owner's advisory lock, so it never removes half of a
// concurrent Merge's result.
func (s *Store) Delete(ctx context.Context, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(lockSQL, s.ownerKey(owner))
	b.Queue(s.q.deleteCart, owner)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fail(ctx, "delete cart", err)
	}
	return nil
}
