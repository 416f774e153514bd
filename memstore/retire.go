package memstore

import (
	"fmt"
	"time"

	"github.com/shadowaccounts/shadow"
)

// owners keeps the retirements, the last activity and the ended guests of
// a store's owners. Its methods are called with the store's mutex held.
type owners struct {
	retired  map[string]time.Time
	activity map[string]time.Time
	ended    map[string]ending
}

func newOwners() owners {
	return owners{retired: map[string]time.Time{}, activity: map[string]time.Time{}, ended: map[string]ending{}}
}

// refuse returns an error matching shadow.ErrOwnerRetired for a retired owner.
func (o *owners) refuse(owner string) error {
	if _, ok := o.retired[owner]; ok {
		return fmt.Errorf("memstore: %w: %s", shadow.ErrOwnerRetired, owner)
	}
	return nil
}

// retire marks owner retired at now, keeping an earlier retirement, and
// forgets its activity.
func (o *owners) retire(owner string, now time.Time) {
	if _, ok := o.retired[owner]; !ok {
		o.retired[owner] = now
	}
	delete(o.activity, owner)
}

// prune forgets retirements made before before.
func (o *owners) prune(before time.Time) int {
	n := 0
	for owner, at := range o.retired {
		if at.Before(before) {
			delete(o.retired, owner)
			n++
		}
	}
	return n
}

// record notes owner's activity at at unless a later one is recorded; a
// retired owner has none.
func (o *owners) record(owner string, at time.Time) error {
	if err := o.refuse(owner); err != nil {
		return err
	}
	if at.After(o.activity[owner]) {
		o.activity[owner] = at
	}
	return nil
}
