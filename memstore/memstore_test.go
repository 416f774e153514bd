package memstore_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/shadowtest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	shadowtest.TestCartStore(t, func(*testing.T) shadow.CartStore { return memstore.New() })
}

func TestGuestEnderConformance(t *testing.T) {
	t.Parallel()
	shadowtest.TestGuestEnder(t, func(*testing.T) shadow.GuestEnder { return memstore.New() })
}

func TestRecordsConformance(t *testing.T) {
	t.Parallel()
	shadowtest.TestGuestData(t, func(*testing.T) shadowtest.GuestDataFixture {
		r := memstore.NewRecords[int](nil)
		return shadowtest.GuestDataFixture{
			Store: r,
			Put:   func(ctx context.Context, owner, key string) error { return r.Put(ctx, owner, key, 1) },
			Keys: func(ctx context.Context, owner string) ([]string, error) {
				m, err := r.List(ctx, owner)
				return slices.Collect(maps.Keys(m)), err
			},
		}
	})
}

func TestRecordsCombine(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		combine func(string, int, int) int
		want    map[string]int
	}{
		{"NilKeepsAccount", nil, map[string]int{"shared": 10, "guest": 2, "account": 3}},
		{"Sum", func(_ string, a, g int) int { return a + g }, map[string]int{"shared": 11, "guest": 2, "account": 3}},
		{"KeepGuest", func(_ string, _, g int) int { return g }, map[string]int{"shared": 1, "guest": 2, "account": 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			r := memstore.NewRecords(c.combine)
			for _, p := range []struct {
				owner, key string
				v          int
			}{{"g", "shared", 1}, {"g", "guest", 2}, {"a", "shared", 10}, {"a", "account", 3}} {
				if err := r.Put(ctx, p.owner, p.key, p.v); err != nil {
					t.Fatal(err)
				}
			}
			res, err := r.MoveGuest(ctx, "g", "a")
			if err != nil || res.Records != 2 {
				t.Fatalf("MoveGuest = %+v, %v; want 2 records", res, err)
			}
			got, err := r.List(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("account's records (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecordsRejectEmptyKeys(t *testing.T) {
	t.Parallel()
	r := memstore.NewRecords[string](nil)
	for _, c := range [][2]string{{"", "k"}, {"o", ""}} {
		if err := r.Put(t.Context(), c[0], c[1], "v"); !errors.Is(err, memstore.ErrEmptyKey) {
			t.Errorf("Put(%q, %q) = %v, want ErrEmptyKey", c[0], c[1], err)
		}
	}
}
