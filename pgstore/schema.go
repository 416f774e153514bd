package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The schema: one row per (owner, sku). seq numbers rows in the order
// they were inserted, which is the order SKUs were first added to a cart;
// updated_at, indexed, is what DeleteIdle looks at. Owners and SKUs
// compare byte-wise (COLLATE "C"), like Go strings.
const createTableSQL = `CREATE TABLE IF NOT EXISTS %[1]s (
	owner      text COLLATE "C" NOT NULL,
	sku        text COLLATE "C" NOT NULL,
	quantity   bigint NOT NULL CHECK (quantity > 0),
	seq        bigint GENERATED ALWAYS AS IDENTITY,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (owner, sku)
)`

const createIndexSQL = `CREATE INDEX IF NOT EXISTS %[2]s ON %[1]s (updated_at)`

// lockSQL takes a transaction-scoped advisory lock, waiting for it.
const lockSQL = `SELECT pg_advisory_xact_lock($1)`

// queries holds the statements of one Store, with its table name quoted.
type queries struct {
	createTable, createIndex string

	get, add, deleteCart string

	mergeRead, mergeDrop, mergePut string

	idleOwners, idleLock, idleDelete string
}

func newQueries(table, index string) queries {
	f := func(format string) string { return fmt.Sprintf(format, table, index) }
	return queries{
		createTable: f(createTableSQL),
		createIndex: f(createIndexSQL),

		get: f(`SELECT sku, quantity FROM %[1]s WHERE owner = $1 ORDER BY seq`),
		add: f(`INSERT INTO %[1]s AS c (owner, sku, quantity) VALUES ($1, $2, $3)
ON CONFLICT (owner, sku) DO UPDATE SET quantity = c.quantity + EXCLUDED.quantity, updated_at = now()`),
		deleteCart: f(`DELETE FROM %[1]s WHERE owner = $1`),

		mergeRead: f(`SELECT owner, sku, quantity FROM %[1]s WHERE owner IN ($1, $2) ORDER BY seq`),
		mergeDrop: f(`DELETE FROM %[1]s WHERE owner = $1 AND sku = ANY($2::text[])`),
		// ORDER BY ord makes new lines draw seq values in the merged order.
		mergePut: f(`INSERT INTO %[1]s AS c (owner, sku, quantity)
SELECT $1, u.sku, u.quantity FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS u(sku, quantity, ord)
ORDER BY u.ord
ON CONFLICT (owner, sku) DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = now()`),

		// $1 is the idle time in microseconds; now() is fixed per transaction.
		idleOwners: f(`SELECT DISTINCT o.owner FROM %[1]s o
WHERE o.updated_at < now() - $1 * interval '1 microsecond'
AND NOT EXISTS (SELECT FROM %[1]s n WHERE n.owner = o.owner AND n.updated_at >= now() - $1 * interval '1 microsecond')
LIMIT $2`),
		idleLock: `SELECT u.owner FROM unnest($1::text[], $2::bigint[]) AS u(owner, key) WHERE pg_try_advisory_xact_lock(u.key)`,
		idleDelete: f(`WITH d AS (
	DELETE FROM %[1]s c WHERE c.owner = ANY($2::text[])
	AND NOT EXISTS (SELECT FROM %[1]s n WHERE n.owner = c.owner AND n.updated_at >= now() - $1 * interval '1 microsecond')
	RETURNING c.owner
) SELECT count(DISTINCT owner) FROM d`),
	}
}

// Migrate creates the Store's table and index unless they exist, and the
// retirement and activity tables with the trigger that refuses writes
// under retired owners (see [Store.MergeGuest]), attached to the cart
// table. It is
// idempotent, and safe to run from every replica at start-up at once: a
// transaction-scoped advisory lock makes concurrent runs take turns
// (concurrent CREATE TABLE IF NOT EXISTS can otherwise fail on a catalog
// unique index). The role needs the CREATE privilege on the schema.
func (s *Store) Migrate(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(lockSQL, s.migrated)
		b.Queue(s.q.createTable)
		b.Queue(s.q.createIndex)
		b.Queue(lockSQL, s.own.migrated)
		for _, stmt := range s.own.createStatements() {
			b.Queue(stmt)
		}
		b.Queue(s.own.triggerSQL(s.table, "owner"))
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fail(ctx, "migrate", err)
	}
	return nil
}
