package memstore

import (
	"context"
	"errors"
	"time"

	"github.com/shadowaccounts/shadow"
)

// ErrEmptyEnd is returned by EndGuest for an empty guest id or reason.
var ErrEmptyEnd = errors.New("memstore: EndGuest: empty guest id or reason")

// ending is how and when a guest ended.
type ending struct {
	reason shadow.EndReason
	at     time.Time
}

// end records that guest ended for reason at at: a repeat keeps the first
// record, except that an upgrade or merge replaces a plain deletion.
func (o *owners) end(guest string, reason shadow.EndReason, at time.Time) error {
	if guest == "" || reason == "" {
		return ErrEmptyEnd
	}
	if e, ok := o.ended[guest]; ok && (e.reason != shadow.EndDeleted || reason == shadow.EndDeleted) {
		return nil
	}
	o.ended[guest] = ending{reason: reason, at: at}
	return nil
}

// pruneEnded forgets the ended guests recorded at before before.
func (o *owners) pruneEnded(before time.Time) int {
	n := 0
	for guest, e := range o.ended {
		if e.at.Before(before) {
			delete(o.ended, guest)
			n++
		}
	}
	return n
}

// EndGuest records that guestID ended for reason at at
// ([shadow.GuestEnder]); writes under guestID stay accepted. A repeat
// keeps the first record, except that shadow.EndUpgraded or
// shadow.EndMerged replaces shadow.EndDeleted. It returns ErrEmptyEnd for
// an empty guestID or reason.
func (s *Store) EndGuest(ctx context.Context, guestID string, reason shadow.EndReason, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owners.end(guestID, reason, at)
}

// GuestEnded returns the reason EndGuest recorded for guestID, if any and
// not pruned since.
func (s *Store) GuestEnded(ctx context.Context, guestID string) (shadow.EndReason, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.owners.ended[guestID]
	return e.reason, ok, nil
}

// PruneEnded forgets the records of EndGuest whose at is before before and
// returns how many.
func (s *Store) PruneEnded(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owners.pruneEnded(before), nil
}

// EndGuest records that guestID ended for reason at at
// ([shadow.GuestEnder]); writes under guestID stay accepted. A repeat
// keeps the first record, except that shadow.EndUpgraded or
// shadow.EndMerged replaces shadow.EndDeleted. It returns ErrEmptyEnd for
// an empty guestID or reason.
func (r *Records[V]) EndGuest(ctx context.Context, guestID string, reason shadow.EndReason, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.owners.end(guestID, reason, at)
}

// GuestEnded returns the reason EndGuest recorded for guestID, if any and
// not pruned since.
func (r *Records[V]) GuestEnded(ctx context.Context, guestID string) (shadow.EndReason, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.owners.ended[guestID]
	return e.reason, ok, nil
}

// PruneEnded forgets the records of EndGuest whose at is before before and
// returns how many.
func (r *Records[V]) PruneEnded(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.owners.pruneEnded(before), nil
}
