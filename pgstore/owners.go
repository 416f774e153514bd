package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shadowaccounts/shadow"
)

// Retirement, activity and ended guests: three tables and one trigger
// function in the schema of the store (WithSchema, or the first schema of
// the search_path):
//
//	shadow_retired_owners  owner text PRIMARY KEY, retired_at timestamptz
//	shadow_owner_activity  owner text PRIMARY KEY, last_at timestamptz
//	shadow_ended_guests    guest text PRIMARY KEY, reason text, ended_at timestamptz
//	shadow_refuse_retired_owner()  BEFORE INSERT OR UPDATE OF <owner column>
//
// shadow_ended_guests records upgraded guests ([shadow.GuestEnder]); it
// refuses no write.
//
// The trigger runs on the cart table, on every owner table of a Mover and
// on the activity table. It takes the owner's retirement lock shared (a
// transaction-scoped advisory lock on a hash of the owner), then refuses
// the row if the owner is retired. MergeGuest, DeleteGuest and the Mover
// take the same lock exclusively before they retire the owner and move or
// delete its rows, in one transaction. So a write either commits before
// the move starts (and its rows move) or waits for the move to commit and
// then sees the retirement: none lands under a retired owner. Under READ
// COMMITTED (PostgreSQL's default) the trigger's check reads a snapshot
// taken after the lock is granted; a REPEATABLE READ or SERIALIZABLE
// writer's snapshot may predate the retirement, so such transactions must
// not write owner rows.
const (
	retiredTableName  = "shadow_retired_owners"
	activityTableName = "shadow_owner_activity"
	endedTableName    = "shadow_ended_guests"
	refuseFuncName    = "shadow_refuse_retired_owner"
	refuseTrigger     = "shadow_refuse_retired_owner"
	// retiredState is the SQLSTATE the trigger raises; IsOwnerRetired
	// recognizes it.
	retiredState = "SHRET"
)

// ownerSQL holds the statements about retirement and activity of one
// schema.
type ownerSQL struct {
	schema   string // as configured; empty for the search_path
	retired  string // quoted table names
	activity string
	ended    string
	refuse   string // quoted function name
	ns       string // the retirement lock's namespace, hashed with the owner
	migrated int64  // advisory lock key of their migration
}

func newOwnerSQL(schema string) ownerSQL {
	q := func(name string) string {
		if schema == "" {
			return pgx.Identifier{name}.Sanitize()
		}
		return pgx.Identifier{schema, name}.Sanitize()
	}
	o := ownerSQL{schema: schema, retired: q(retiredTableName), activity: q(activityTableName), ended: q(endedTableName), refuse: q(refuseFuncName)}
	o.ns = "shadow retire " + o.retired + ":"
	o.migrated = advisoryKey("pgstore migrate", o.retired)
	return o
}

// retireLockSQL takes owner $2's retirement lock exclusively ($1 the
// namespace).
const retireLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended($1 || $2, 0))`

func (o ownerSQL) createStatements() []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + o.retired + ` (
	owner      text COLLATE "C" PRIMARY KEY,
	retired_at timestamptz NOT NULL DEFAULT now()
)`,
		`CREATE INDEX IF NOT EXISTS ` + pgx.Identifier{retiredTableName + "_at_idx"}.Sanitize() + ` ON ` + o.retired + ` (retired_at)`,
		`CREATE TABLE IF NOT EXISTS ` + o.activity + ` (
	owner   text COLLATE "C" PRIMARY KEY,
	last_at timestamptz NOT NULL
)`,
		`CREATE TABLE IF NOT EXISTS ` + o.ended + ` (
	guest    text COLLATE "C" PRIMARY KEY,
	reason   text NOT NULL CHECK (reason <> ''),
	ended_at timestamptz NOT NULL
)`,
		`CREATE INDEX IF NOT EXISTS ` + pgx.Identifier{endedTableName + "_at_idx"}.Sanitize() + ` ON ` + o.ended + ` (ended_at)`,
		`CREATE OR REPLACE FUNCTION ` + o.refuse + `() RETURNS trigger LANGUAGE plpgsql AS $shadow$
DECLARE
	o text := to_jsonb(NEW) ->> TG_ARGV[0];
BEGIN
	IF o IS NULL OR TG_OP = 'UPDATE' AND (to_jsonb(OLD) ->> TG_ARGV[0]) IS NOT DISTINCT FROM o THEN
		RETURN NEW;
	END IF;
	PERFORM pg_advisory_xact_lock_shared(hashtextextended(` + literal(o.ns) + ` || o, 0));
	IF EXISTS (SELECT FROM ` + o.retired + ` r WHERE r.owner = o) THEN
		RAISE EXCEPTION USING ERRCODE = '` + retiredState + `', MESSAGE = 'shadow: owner retired: ' || o,
			HINT = 'the guest was merged into an account or swept; write under the account or a new guest';
	END IF;
	RETURN NEW;
END
$shadow$`,
		o.triggerSQL(o.activity, "owner"),
	}
}

// triggerSQL attaches the refusing trigger to table (quoted), whose owner
// column is column (unquoted).
func (o ownerSQL) triggerSQL(table, column string) string {
	return `CREATE OR REPLACE TRIGGER ` + pgx.Identifier{refuseTrigger}.Sanitize() +
		` BEFORE INSERT OR UPDATE OF ` + pgx.Identifier{column}.Sanitize() + ` ON ` + table +
		` FOR EACH ROW EXECUTE FUNCTION ` + o.refuse + `(` + literal(column) + `)`
}

// literal quotes s as an SQL string literal.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// queueRetire queues, in a transaction, what retires owner: its
// retirement lock, the retirement row, and the removal of its activity.
func (o ownerSQL) queueRetire(b *pgx.Batch, owner string) {
	b.Queue(retireLockSQL, o.ns, owner)
	b.Queue(`INSERT INTO `+o.retired+` (owner) VALUES ($1) ON CONFLICT (owner) DO NOTHING`, owner)
	b.Queue(`DELETE FROM `+o.activity+` WHERE owner = $1`, owner)
}

// queueRefuseRetired queues a check that fails the batch with the
// trigger's error when owner is retired.
func (o ownerSQL) queueRefuseRetired(b *pgx.Batch, owner string) {
	b.Queue(`SELECT EXISTS (SELECT FROM `+o.retired+` WHERE owner = $1)`, owner).QueryRow(func(row pgx.Row) error {
		var retired bool
		if err := row.Scan(&retired); err != nil {
			return err
		}
		if retired {
			return fmt.Errorf("pgstore: %w: %s", shadow.ErrOwnerRetired, owner)
		}
		return nil
	})
}

func (o ownerSQL) isRetired(ctx context.Context, q querier, owner string) (bool, error) {
	var retired bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM `+o.retired+` WHERE owner = $1)`, owner).Scan(&retired)
	return retired, err
}

func (o ownerSQL) prune(ctx context.Context, q querier, before time.Time) (int, error) {
	tag, err := q.Exec(ctx, `DELETE FROM `+o.retired+` WHERE retired_at < $1`, before)
	return int(tag.RowsAffected()), err
}

func (o ownerSQL) record(ctx context.Context, q querier, owner string, at time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO `+o.activity+` AS a (owner, last_at) VALUES ($1, $2)
ON CONFLICT (owner) DO UPDATE SET last_at = greatest(a.last_at, EXCLUDED.last_at)`, owner, at)
	return err
}

func (o ownerSQL) last(ctx context.Context, q querier, owner string) (time.Time, error) {
	var at time.Time
	err := q.QueryRow(ctx, `SELECT last_at FROM `+o.activity+` WHERE owner = $1`, owner).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	return at, err
}

// querier is what pgxpool.Pool and pgx.Tx have in common here.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// IsOwnerRetired reports whether err is PostgreSQL refusing a write under
// a retired owner (the trigger pgstore installs on owner tables raises
// SQLSTATE SHRET), or already matches shadow.ErrOwnerRetired. Apps check
// their own INSERTs and UPDATEs of owner tables with it.
func IsOwnerRetired(err error) bool {
	if errors.Is(err, shadow.ErrOwnerRetired) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == retiredState
}

// failWrite is fail that also makes a retirement refusal match
// shadow.ErrOwnerRetired.
func failWrite(ctx context.Context, op string, err error) error {
	if IsOwnerRetired(err) && !errors.Is(err, shadow.ErrOwnerRetired) {
		err = fmt.Errorf("%w: %w", shadow.ErrOwnerRetired, err)
	}
	return fail(ctx, op, err)
}
