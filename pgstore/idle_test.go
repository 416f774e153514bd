package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
)

func TestDeleteIdle(t *testing.T) {
	t.Parallel()
	s, table := newStore(t)
	age := func(owner string, skus ...string) {
		exec(t, `UPDATE `+table+` SET updated_at = now() - interval '2 hours' WHERE owner = $1 AND sku = ANY($2)`, owner, skus)
	}
	add(t, s, "idle", "a", "b")
	age("idle", "a", "b")
	add(t, s, "mixed", "a", "b")
	age("mixed", "a") // one line written recently keeps the whole cart
	add(t, s, "fresh", "a")
	add(t, s, "revived", "a")
	age("revived", "a")
	add(t, s, "revived", "a") // the Add refreshes it
	const many = 250          // more than one batch
	for i := range many {
		owner := fmt.Sprintf("old-%03d", i)
		add(t, s, owner, "x")
		age(owner, "x")
	}

	n, err := s.DeleteIdle(t.Context(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n != many+1 {
		t.Errorf("DeleteIdle deleted %d carts, want %d", n, many+1)
	}
	for owner, want := range map[string][]shadow.Item{
		"idle":    nil,
		"old-000": nil,
		"old-249": nil,
		"mixed":   {{SKU: "a", Quantity: 1}, {SKU: "b", Quantity: 1}},
		"fresh":   {{SKU: "a", Quantity: 1}},
		"revived": {{SKU: "a", Quantity: 2}},
	} {
		wantItems(t, s, owner, want)
	}
	if n, err := s.DeleteIdle(t.Context(), time.Hour); n != 0 || err != nil {
		t.Errorf("DeleteIdle again = %d, %v; want 0, nil", n, err)
	}
}

func TestDeleteIdleSkipsCartsBeingWritten(t *testing.T) {
	t.Parallel()
	s, table := newStore(t)
	add(t, s, "busy", "a")
	exec(t, `UPDATE `+table+` SET updated_at = now() - interval '2 hours'`)
	unlock := holdAdvisoryLock(t, s.OwnerKey("busy"))
	if n, err := s.DeleteIdle(t.Context(), time.Hour); n != 0 || err != nil {
		t.Errorf("DeleteIdle while the cart is locked = %d, %v; want 0, nil", n, err)
	}
	wantItems(t, s, "busy", []shadow.Item{{SKU: "a", Quantity: 1}})
	unlock()
	if n, err := s.DeleteIdle(t.Context(), time.Hour); n != 1 || err != nil {
		t.Errorf("DeleteIdle after the lock is gone = %d, %v; want 1, nil", n, err)
	}
}

func TestDeleteIdleArguments(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	add(t, s, "u", "a")
	for _, d := range []time.Duration{0, -time.Hour} {
		if _, err := s.DeleteIdle(t.Context(), d); err == nil {
			t.Errorf("DeleteIdle(%v) succeeded, want an error", d)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.DeleteIdle(ctx, time.Nanosecond); !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteIdle with a cancelled ctx = %v, want context.Canceled", err)
	}
	wantItems(t, s, "u", []shadow.Item{{SKU: "a", Quantity: 1}})
}
