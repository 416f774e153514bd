package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shadowaccounts/shadow"
)

// DefaultTable is the table a Store keeps carts in unless [WithTable] names
// another.
const DefaultTable = "shadow_cart_items"

// PostgreSQL truncates identifiers beyond 63 bytes; table names are kept
// short enough that the index name derived from them fits too.
const (
	maxIdentifier = 63
	indexSuffix   = "_updated_at_idx"
	maxTableName  = maxIdentifier - len(indexSuffix)
)

// Store is a [shadow.CartStore] on PostgreSQL: one row per owner and SKU in
// one table. Create it with [New] (the zero value is not usable) and the
// table with [Store.Migrate]. It is also a [shadow.CartRetirer] (MergeGuest
// and DeleteGuest retire the guest, and Add refuses retired owners), a
// [shadow.ActivityRecorder] and a [shadow.GuestEnder]; to move the app's own tables with the carts,
// give it to a [Mover].
//
// A Store is safe for concurrent use, by any number of goroutines and
// processes sharing the database. Every method honours ctx: it returns
// ctx.Err() when ctx is done before the work, and an error matching it
// (errors.Is) when ctx ends during a query.
type Store struct {
	pool     *pgxpool.Pool
	lockNS   string // advisory lock namespace of this table's owners
	migrated int64  // advisory lock key of Migrate
	table    string // quoted
	q        queries
	own      ownerSQL
}

var (
	_ shadow.CartStore        = (*Store)(nil)
	_ shadow.CartRetirer      = (*Store)(nil)
	_ shadow.ActivityRecorder = (*Store)(nil)
	_ shadow.GuestEnder       = (*Store)(nil)
)

// Option configures a Store; see [New].
type Option func(*config)

type config struct {
	schema, table string
}

// WithTable sets the name of the cart table (default [DefaultTable]). The
// name is quoted, so any text of 1 to 48 bytes without NUL works; the limit
// leaves room within PostgreSQL's 63-byte identifiers for the index name
// derived from it.
func WithTable(name string) Option { return func(c *config) { c.table = name } }

// WithSchema puts the table, and the retirement and activity tables, in
// the named schema, which must exist, instead of the first schema of the
// connection's search_path.
func WithSchema(name string) Option { return func(c *config) { c.schema = name } }

// New returns a Store keeping carts in a table of pool's database. The
// caller owns pool and closes it after the last use of the Store. New does
// no I/O: call [Store.Migrate] to create the table, or create it with your
// own migration tool from the statements Migrate runs. Invalid options are
// all reported at once.
func New(pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	c := config{table: DefaultTable}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	var errs []error
	if pool == nil {
		errs = append(errs, errors.New("pgstore: New: nil pool"))
	}
	if n := len(c.table); n == 0 || n > maxTableName || strings.IndexByte(c.table, 0) >= 0 {
		errs = append(errs, fmt.Errorf("pgstore: WithTable: %q must be 1 to %d bytes without NUL", c.table, maxTableName))
	}
	if len(c.schema) > maxIdentifier || strings.IndexByte(c.schema, 0) >= 0 {
		errs = append(errs, fmt.Errorf("pgstore: WithSchema: %q must be at most %d bytes without NUL", c.schema, maxIdentifier))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	table := pgx.Identifier{c.table}
	if c.schema != "" {
		table = pgx.Identifier{c.schema, c.table}
	}
	name := table.Sanitize()
	return &Store{
		pool:     pool,
		lockNS:   "pgstore cart " + name,
		migrated: advisoryKey("pgstore migrate", name),
		table:    name,
		q:        newQueries(name, pgx.Identifier{c.table + indexSuffix}.Sanitize()),
		own:      newOwnerSQL(c.schema),
	}, nil
}

// ownerKey is the advisory lock every write to owner's cart holds.
func (s *Store) ownerKey(owner string) int64 { return advisoryKey(s.lockNS, owner) }

// advisoryKey maps a name in a namespace to a 64-bit advisory lock key
// (FNV-1a). Two names sharing a key merely wait for each other.
func advisoryKey(namespace, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(namespace))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// fail wraps err from operation op. When ctx ended meanwhile it wraps
// ctx.Err() instead, since pgx may report a cancelled query as the
// server's "canceling statement due to user request".
func fail(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = ctxErr
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}
