package pgstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shadowaccounts/shadow/pgstore"
)

// dsnEnv names the variable holding the PostgreSQL connection string the
// tests and benchmarks run against; without it they skip.
const dsnEnv = "SHADOW_TEST_POSTGRES_DSN"

// sharedPool is the pool of every test, nil when dsnEnv is unset.
var sharedPool *pgxpool.Pool

func TestMain(m *testing.M) {
	if dsn := os.Getenv(dsnEnv); dsn != "" {
		p, err := newPool(dsn)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgstore tests: %s is set but unusable: %v\n", dsnEnv, err)
			os.Exit(1)
		}
		sharedPool = p
	}
	code := m.Run()
	if sharedPool != nil {
		sharedPool.Close()
	}
	os.Exit(code)
}

// newPool connects to dsn with room for the concurrent tests and checks
// that the server answers.
func newPool(dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 24
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := p.Ping(ctx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// testPool returns the shared pool, skipping tb when no DSN is configured.
func testPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	if sharedPool == nil {
		tb.Skipf("%s is not set: skipping tests against PostgreSQL "+
			"(e.g. %s='postgres://postgres@127.0.0.1:5432/test?sslmode=disable')", dsnEnv, dsnEnv)
	}
	return sharedPool
}

// uniqueName returns a table or schema name no other test uses.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s_%d_%s", prefix, os.Getpid(), strings.ToLower(rand.Text()[:10]))
}

// newStore migrates a Store on a schema of its own (so that retirements
// of one test never meet another's), dropped when tb ends; it returns the
// store and the cart table's quoted name.
func newStore(tb testing.TB) (*pgstore.Store, string) {
	tb.Helper()
	pool := testPool(tb)
	schema := newSchema(tb)
	table := uniqueName("shadow_test")
	s, err := pgstore.New(pool, pgstore.WithSchema(schema), pgstore.WithTable(table))
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Migrate(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	return s, pgx.Identifier{schema, table}.Sanitize()
}

// newSchema creates a schema dropped with everything in it when tb ends.
func newSchema(tb testing.TB) string {
	tb.Helper()
	pool := testPool(tb)
	schema := uniqueName("shadow_test_schema")
	quoted := pgx.Identifier{schema}.Sanitize()
	exec(tb, "CREATE SCHEMA "+quoted)
	tb.Cleanup(func() { dropAfter(tb, pool, "DROP SCHEMA IF EXISTS "+quoted+" CASCADE") })
	return schema
}

// dropAfter runs a DROP statement when the test's context is already
// cancelled, as it is during cleanup.
func dropAfter(tb testing.TB, pool *pgxpool.Pool, stmt string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pool.Exec(ctx, stmt); err != nil {
		tb.Errorf("cleanup %s: %v", stmt, err)
	}
}

// exec runs a statement on the test pool, failing tb on error.
func exec(tb testing.TB, stmt string, args ...any) {
	tb.Helper()
	if _, err := testPool(tb).Exec(tb.Context(), stmt, args...); err != nil {
		tb.Fatalf("%s: %v", stmt, err)
	}
}

// holdAdvisoryLock takes the transaction-scoped advisory lock key in a
// transaction of its own and returns the function that ends it.
func holdAdvisoryLock(tb testing.TB, key int64) (unlock func()) {
	tb.Helper()
	tx, err := testPool(tb).Begin(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := tx.Exec(tb.Context(), "SELECT pg_advisory_xact_lock($1)", key); err != nil {
		tb.Fatal(err)
	}
	done := false
	unlock = func() {
		if !done {
			done = true
			_ = tx.Rollback(context.Background())
		}
	}
	tb.Cleanup(unlock)
	return unlock
}
