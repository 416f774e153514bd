package pgstore_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/pgstore"
	"github.com/shadowaccounts/shadow/shadowtest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	shadowtest.TestCartStore(t, func(t *testing.T) shadow.CartStore {
		s, _ := newStore(t)
		return s
	})
}

func TestGuestEnderConformance(t *testing.T) {
	t.Parallel()
	shadowtest.TestGuestEnder(t, func(t *testing.T) shadow.GuestEnder {
		s, _ := newStore(t)
		return s
	})
}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	// pgxpool.New connects lazily: these cases need no server.
	pool, err := pgxpool.New(t.Context(), "postgres://nobody@127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, c := range []struct {
		name    string
		pool    *pgxpool.Pool
		opts    []pgstore.Option
		wantErr []string // substrings of the error; none means success
	}{
		{"defaults", pool, nil, nil},
		{"odd but quotable names", pool, []pgstore.Option{pgstore.WithSchema(`my "shop"`), pgstore.WithTable("Carts; DROP TABLE x")}, nil},
		{"longest table", pool, []pgstore.Option{pgstore.WithTable(strings.Repeat("t", 48))}, nil},
		{"nil pool", nil, nil, []string{"nil pool"}},
		{"empty table", pool, []pgstore.Option{pgstore.WithTable("")}, []string{"WithTable"}},
		{"long table", pool, []pgstore.Option{pgstore.WithTable(strings.Repeat("t", 49))}, []string{"WithTable"}},
		{"NUL in table", pool, []pgstore.Option{pgstore.WithTable("a\x00b")}, []string{"WithTable"}},
		{"long schema", pool, []pgstore.Option{pgstore.WithSchema(strings.Repeat("s", 64))}, []string{"WithSchema"}},
		{"all at once", nil, []pgstore.Option{pgstore.WithTable(""), pgstore.WithSchema("\x00")}, []string{"nil pool", "WithTable", "WithSchema"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := pgstore.New(c.pool, c.opts...)
			if len(c.wantErr) == 0 {
				if err != nil || s == nil {
					t.Fatalf("New = %v, %v; want a store", s, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want an error mentioning %q", c.wantErr)
			}
			for _, want := range c.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("New error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	table := uniqueName("shadow_migrate")
	t.Cleanup(func() { dropAfter(t, pool, "DROP TABLE IF EXISTS "+pgx.Identifier{table}.Sanitize()) })
	// Without the advisory lock, concurrent CREATE TABLE IF NOT EXISTS
	// fails now and then on pg_type's unique index.
	const replicas = 8
	var wg sync.WaitGroup
	errs := make(chan error, replicas)
	for range replicas {
		wg.Go(func() {
			s, err := pgstore.New(pool, pgstore.WithTable(table))
			if err == nil {
				err = s.Migrate(t.Context())
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
	}
	s, err := pgstore.New(pool, pgstore.WithTable(table))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(t.Context(), "u", shadow.Item{SKU: "a", Quantity: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	wantItems(t, s, "u", []shadow.Item{{SKU: "a", Quantity: 2}})
}

func TestMigrateCancelled(t *testing.T) {
	t.Parallel()
	s, err := pgstore.New(testPool(t), pgstore.WithTable(uniqueName("never_created")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Migrate(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Migrate with a cancelled ctx = %v, want context.Canceled", err)
	}
}

func TestWithSchema(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	schema := uniqueName("Shadow Schema") // needs quoting
	exec(t, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	t.Cleanup(func() { dropAfter(t, pool, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })
	s, err := pgstore.New(pool, pgstore.WithSchema(schema), pgstore.WithTable("carts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(t.Context(), "u", shadow.Item{SKU: "a", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	var n int
	err = pool.QueryRow(t.Context(), `SELECT count(*) FROM `+pgx.Identifier{schema, "carts"}.Sanitize()).Scan(&n)
	if err != nil || n != 1 {
		t.Errorf("rows in %s.carts = %d, %v; want 1", schema, n, err)
	}
}

// TestOrder checks what the suite leaves open: lines come in the order
// their SKUs were first added, and a merge keeps shadow.MergeItems' order.
func TestOrder(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	add(t, s, "user", "b", "d", "b")
	add(t, s, "guest", "c", "a", "b", "e")
	target, guest := getItems(t, s, "user"), getItems(t, s, "guest")
	if diff := cmp.Diff([]shadow.Item{{SKU: "b", Quantity: 2}, {SKU: "d", Quantity: 1}}, target); diff != "" {
		t.Errorf("user's cart (-want +got):\n%s", diff)
	}
	moved, err := s.Merge(t.Context(), "guest", "user", shadow.SumQuantities)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(guest, moved.Items); diff != "" {
		t.Errorf("Merge returned (-want +got):\n%s", diff)
	}
	want := shadow.MergeItems(target, guest, shadow.SumQuantities) // b, d, c, a, e
	wantItems(t, s, "user", want)
	add(t, s, "user", "f", "c")
	wantItems(t, s, "user", append(want[:2:2], shadow.Item{SKU: "c", Quantity: 2}, want[3], want[4], shadow.Item{SKU: "f", Quantity: 1}))
}

func TestAddRejectsWhatTextCannotHold(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	for _, sku := range []string{"nul\x00byte", "bad\xffutf8"} {
		if err := s.Add(t.Context(), "u", shadow.Item{SKU: sku, Quantity: 1}); !errors.Is(err, shadow.ErrInvalidItem) {
			t.Errorf("Add(SKU %q) = %v, want ErrInvalidItem", sku, err)
		}
	}
	wantItems(t, s, "u", nil)
}

func TestAddOverflowChangesNothing(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	big := shadow.Item{SKU: "a", Quantity: math.MaxInt64}
	if err := s.Add(t.Context(), "u", big); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(t.Context(), "u", shadow.Item{SKU: "a", Quantity: 1}); err == nil {
		t.Error("Add overflowing bigint succeeded, want an error")
	}
	wantItems(t, s, "u", []shadow.Item{big})
}

// TestWaitingWriteHonoursCtx blocks writes on the owner's advisory lock,
// held by another session, and checks they give up with ctx's error and
// change nothing.
func TestWaitingWriteHonoursCtx(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		op   func(ctx context.Context, s *pgstore.Store) error
	}{
		{"Add", func(ctx context.Context, s *pgstore.Store) error {
			return s.Add(ctx, "u", shadow.Item{SKU: "a", Quantity: 1})
		}},
		{"Delete", func(ctx context.Context, s *pgstore.Store) error { return s.Delete(ctx, "u") }},
		{"MergeFrom", func(ctx context.Context, s *pgstore.Store) error {
			_, err := s.Merge(ctx, "u", "other", nil)
			return err
		}},
		{"MergeInto", func(ctx context.Context, s *pgstore.Store) error {
			_, err := s.Merge(ctx, "other", "u", nil)
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t)
			add(t, s, "u", "a")
			add(t, s, "other", "b")
			unlock := holdAdvisoryLock(t, s.OwnerKey("u"))
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			if err := c.op(ctx, s); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s while the owner is locked = %v, want context.DeadlineExceeded", c.name, err)
			}
			wantItems(t, s, "u", []shadow.Item{{SKU: "a", Quantity: 1}})
			wantItems(t, s, "other", []shadow.Item{{SKU: "b", Quantity: 1}})
			unlock()
			if err := c.op(t.Context(), s); err != nil {
				t.Errorf("%s after the lock is gone: %v", c.name, err)
			}
		})
	}
}

func add(t *testing.T, s *pgstore.Store, owner string, skus ...string) {
	t.Helper()
	for _, sku := range skus {
		if err := s.Add(t.Context(), owner, shadow.Item{SKU: sku, Quantity: 1}); err != nil {
			t.Fatalf("Add(%q, %q): %v", owner, sku, err)
		}
	}
}

func getItems(t *testing.T, s *pgstore.Store, owner string) []shadow.Item {
	t.Helper()
	c, err := s.Get(t.Context(), owner)
	if err != nil {
		t.Fatalf("Get(%q): %v", owner, err)
	}
	if c.Owner != owner {
		t.Errorf("Get(%q).Owner = %q", owner, c.Owner)
	}
	return c.Items
}

// wantItems checks owner's lines, in order.
func wantItems(t *testing.T, s *pgstore.Store, owner string, want []shadow.Item) {
	t.Helper()
	got := getItems(t, s, owner)
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cart of %q (-want +got):\n%s", owner, diff)
	}
}
