package memstore

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/shadowaccounts/shadow"
)

// Records is an in-memory [shadow.GuestData] store of keyed records per
// owner: an app's saved items, drafts or preferences, each a V under a key
// unique per owner. Create it with [NewRecords]; the zero value is not
// usable. It is safe for concurrent use: one mutex guards every owner, so
// each method is atomic with respect to the others.
//
// It retires the guests it moves or deletes ([shadow.Retirer]): Put under
// a retired owner fails with shadow.ErrOwnerRetired. It keeps owners' last
// activity ([shadow.ActivityRecorder]) and records upgraded guests
// ([shadow.GuestEnder]).
type Records[V any] struct {
	mu      sync.Mutex
	data    map[string]map[string]V
	owners  owners
	combine func(key string, account, guest V) V
	now     func() time.Time
}

var (
	_ shadow.GuestData        = (*Records[int])(nil)
	_ shadow.Retirer          = (*Records[int])(nil)
	_ shadow.ActivityRecorder = (*Records[int])(nil)
	_ shadow.GuestEnder       = (*Records[int])(nil)
)

// NewRecords returns an empty Records. combine decides a key both owners
// have when MoveGuest moves a guest's records to an account: it gets the
// account's and the guest's values and returns the one kept. nil keeps the
// account's.
func NewRecords[V any](combine func(key string, account, guest V) V) *Records[V] {
	if combine == nil {
		combine = func(_ string, account, _ V) V { return account }
	}
	return &Records[V]{data: map[string]map[string]V{}, owners: newOwners(), combine: combine, now: time.Now}
}

// WithClock sets the clock that dates retirements (default time.Now); it
// returns r.
func (r *Records[V]) WithClock(now func() time.Time) *Records[V] {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = now
	return r
}

// ErrEmptyKey is returned by Put for an empty key or owner.
var ErrEmptyKey = errors.New("memstore: empty owner or key")

// Put sets owner's record key to v. It fails with an error matching
// shadow.ErrOwnerRetired when owner was retired, and ErrEmptyKey for an
// empty owner or key.
func (r *Records[V]) Put(ctx context.Context, owner, key string, v V) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if owner == "" || key == "" {
		return ErrEmptyKey
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.owners.refuse(owner); err != nil {
		return err
	}
	m := r.data[owner]
	if m == nil {
		m = map[string]V{}
		r.data[owner] = m
	}
	m[key] = v
	return nil
}

// Get returns owner's record key and whether it exists.
func (r *Records[V]) Get(ctx context.Context, owner, key string) (V, bool, error) {
	var zero V
	if err := ctx.Err(); err != nil {
		return zero, false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.data[owner][key]
	return v, ok, nil
}

// List returns a copy of owner's records by key; empty, not nil, for an
// owner without any.
func (r *Records[V]) List(ctx context.Context, owner string) (map[string]V, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := maps.Clone(r.data[owner])
	if out == nil {
		out = map[string]V{}
	}
	return out, nil
}

// Remove deletes owner's record key; an absent record is no error.
func (r *Records[V]) Remove(ctx context.Context, owner, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.data[owner], key)
	if len(r.data[owner]) == 0 {
		delete(r.data, owner)
	}
	return nil
}

// MoveGuest makes every record of guestID accountID's, combining keys
// both have with the combine function, and retires guestID, in one step.
// A repeat moves nothing; moving onto itself changes nothing. It fails
// with shadow.ErrOwnerRetired when accountID is retired, moving nothing.
func (r *Records[V]) MoveGuest(ctx context.Context, guestID, accountID string) (shadow.MoveResult, error) {
	if err := ctx.Err(); err != nil {
		return shadow.MoveResult{}, err
	}
	if guestID == accountID {
		return shadow.MoveResult{}, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	moved := r.data[guestID]
	if len(moved) > 0 {
		if err := r.owners.refuse(accountID); err != nil {
			return shadow.MoveResult{}, err
		}
		into := r.data[accountID]
		if into == nil {
			into = make(map[string]V, len(moved))
			r.data[accountID] = into
		}
		for k, v := range moved {
			if have, ok := into[k]; ok {
				v = r.combine(k, have, v)
			}
			into[k] = v
		}
		delete(r.data, guestID)
	}
	r.owners.retire(guestID, r.now())
	return shadow.MoveResult{Records: len(moved)}, nil
}

// DeleteGuest deletes every record of guestID and retires it, in one step.
func (r *Records[V]) DeleteGuest(ctx context.Context, guestID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.data, guestID)
	r.owners.retire(guestID, r.now())
	return nil
}

// Retired reports whether owner was retired and not pruned since.
func (r *Records[V]) Retired(ctx context.Context, owner string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.owners.retired[owner]
	return ok, nil
}

// PruneRetired forgets the retirements made before before (by the clock
// of WithClock) and returns how many.
func (r *Records[V]) PruneRetired(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.owners.prune(before), nil
}

// RecordActivity notes owner's activity at at; it fails with
// shadow.ErrOwnerRetired for a retired owner.
func (r *Records[V]) RecordActivity(ctx context.Context, owner string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.owners.record(owner, at)
}

// LastActivity returns owner's last recorded activity, the zero time when
// none is.
func (r *Records[V]) LastActivity(ctx context.Context, owner string) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.owners.activity[owner], nil
}
