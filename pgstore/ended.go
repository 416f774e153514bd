package pgstore

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shadowaccounts/shadow"
)

// ErrEmptyEnd is returned by EndGuest for an empty guest id or reason.
var ErrEmptyEnd = errors.New("pgstore: EndGuest: empty guest id or reason")

// endSQL records an ended guest in one statement: a repeat keeps the first
// record unless it says only 'deleted' and the new one says more.
const endSQL = `INSERT INTO %s AS e (guest, reason, ended_at) VALUES ($1, $2, $3)
ON CONFLICT (guest) DO UPDATE SET reason = EXCLUDED.reason, ended_at = EXCLUDED.ended_at
WHERE e.reason = 'deleted' AND EXCLUDED.reason <> 'deleted'`

func (o ownerSQL) end(ctx context.Context, q querier, guest string, reason shadow.EndReason, at time.Time) error {
	_, err := q.Exec(ctx, strings.Replace(endSQL, "%s", o.ended, 1), guest, string(reason), at)
	return err
}

func (o ownerSQL) endedReason(ctx context.Context, q querier, guest string) (shadow.EndReason, bool, error) {
	var reason string
	err := q.QueryRow(ctx, `SELECT reason FROM `+o.ended+` WHERE guest = $1`, guest).Scan(&reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return shadow.EndReason(reason), err == nil, err
}

func (o ownerSQL) pruneEnded(ctx context.Context, q querier, before time.Time) (int, error) {
	tag, err := q.Exec(ctx, `DELETE FROM `+o.ended+` WHERE ended_at < $1`, before)
	return int(tag.RowsAffected()), err
}

// EndGuest records that guestID ended for reason at at (microsecond
// precision), for every process sharing the database
// ([shadow.GuestEnder]): one INSERT into shadow_ended_guests. Writes under
// guestID stay accepted. A repeat keeps the first record, except that
// shadow.EndUpgraded or shadow.EndMerged replaces shadow.EndDeleted. It
// returns ErrEmptyEnd for an empty guestID or reason.
func (s *Store) EndGuest(ctx context.Context, guestID string, reason shadow.EndReason, at time.Time) error {
	return endGuest(ctx, s.pool, s.own, guestID, reason, at)
}

// GuestEnded returns the reason EndGuest recorded for guestID, if any and
// not pruned since: one SELECT by primary key.
func (s *Store) GuestEnded(ctx context.Context, guestID string) (shadow.EndReason, bool, error) {
	return guestEnded(ctx, s.pool, s.own, guestID)
}

// PruneEnded forgets the records of EndGuest whose at is before before and
// returns how many.
func (s *Store) PruneEnded(ctx context.Context, before time.Time) (int, error) {
	return pruneEnded(ctx, s.pool, s.own, before)
}

// EndGuest records that guestID ended for reason at at, as
// [Store.EndGuest] does, in the Mover's schema.
func (m *Mover) EndGuest(ctx context.Context, guestID string, reason shadow.EndReason, at time.Time) error {
	return endGuest(ctx, m.pool, m.own, guestID, reason, at)
}

// GuestEnded returns the reason EndGuest recorded for guestID, as
// [Store.GuestEnded] does.
func (m *Mover) GuestEnded(ctx context.Context, guestID string) (shadow.EndReason, bool, error) {
	return guestEnded(ctx, m.pool, m.own, guestID)
}

// PruneEnded forgets the records of EndGuest whose at is before before and
// returns how many.
func (m *Mover) PruneEnded(ctx context.Context, before time.Time) (int, error) {
	return pruneEnded(ctx, m.pool, m.own, before)
}

func endGuest(ctx context.Context, pool *pgxpool.Pool, own ownerSQL, guest string, reason shadow.EndReason, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if guest == "" || reason == "" {
		return ErrEmptyEnd
	}
	if err := own.end(ctx, pool, guest, reason, at); err != nil {
		return fail(ctx, "record ended guest", err)
	}
	return nil
}

func guestEnded(ctx context.Context, pool *pgxpool.Pool, own ownerSQL, guest string) (shadow.EndReason, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	reason, ok, err := own.endedReason(ctx, pool, guest)
	if err != nil {
		return "", false, fail(ctx, "read ended guest", err)
	}
	return reason, ok, nil
}

func pruneEnded(ctx context.Context, pool *pgxpool.Pool, own ownerSQL, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n, err := own.pruneEnded(ctx, pool, before)
	if err != nil {
		return 0, fail(ctx, "prune ended guests", err)
	}
	return n, nil
}
