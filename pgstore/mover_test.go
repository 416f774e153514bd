package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/pgstore"
	"github.com/shadowaccounts/shadow/shadowtest"
)

// widgetsDDL is an app's owner table: one row per owner and widget.
const widgetsDDL = `CREATE TABLE %s (
	owner     text NOT NULL,
	widget_id text NOT NULL,
	position  int NOT NULL DEFAULT 0,
	PRIMARY KEY (owner, widget_id)
)`

// newWidgets creates a widgets table in a schema of its own and returns
// the schema and the table's quoted name.
func newWidgets(tb testing.TB) (schema, table string) {
	tb.Helper()
	schema = newSchema(tb)
	table = pgx.Identifier{schema, "saved_widgets"}.Sanitize()
	exec(tb, fmt.Sprintf(widgetsDDL, table))
	return schema, table
}

func newMover(tb testing.TB, cfg pgstore.MoverConfig) *pgstore.Mover {
	tb.Helper()
	m, err := pgstore.NewMover(testPool(tb), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Migrate(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	return m
}

// putWidget is the app's write path: an insert into the owner table.
func putWidget(table string) func(ctx context.Context, owner, key string) error {
	return func(ctx context.Context, owner, key string) error {
		_, err := sharedPool.Exec(ctx, `INSERT INTO `+table+` (owner, widget_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, owner, key)
		if pgstore.IsOwnerRetired(err) {
			return fmt.Errorf("%w: %w", shadow.ErrOwnerRetired, err)
		}
		return err
	}
}

func widgetKeys(table string) func(ctx context.Context, owner string) ([]string, error) {
	return func(ctx context.Context, owner string) ([]string, error) {
		rows, _ := sharedPool.Query(ctx, `SELECT widget_id FROM `+table+` WHERE owner = $1`, owner)
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
}

func TestMoverConformance(t *testing.T) {
	t.Parallel()
	t.Run("Table", func(t *testing.T) {
		t.Parallel()
		shadowtest.TestGuestData(t, func(t *testing.T) shadowtest.GuestDataFixture {
			schema, table := newWidgets(t)
			m := newMover(t, pgstore.MoverConfig{Schema: schema, Tables: []pgstore.OwnerTable{
				{Schema: schema, Name: "saved_widgets", Key: []string{"widget_id"}}}})
			return shadowtest.GuestDataFixture{Store: m, Put: putWidget(table), Keys: widgetKeys(table)}
		})
	})
	t.Run("CartsAndTable", func(t *testing.T) {
		t.Parallel()
		// A record goes to the cart (SKU = key) or to the table, by its key.
		shadowtest.TestGuestData(t, func(t *testing.T) shadowtest.GuestDataFixture {
			carts, _ := newStore(t)
			_, table := newWidgets(t)
			schema := strings.Trim(strings.Split(table, ".")[0], `"`)
			m := newMover(t, pgstore.MoverConfig{Carts: carts, Tables: []pgstore.OwnerTable{
				{Schema: schema, Name: "saved_widgets", Key: []string{"widget_id"}}}})
			put := putWidget(table)
			inCart := func(key string) bool { return len(key)%2 == 0 || key[len(key)-1]%2 == 0 }
			return shadowtest.GuestDataFixture{Store: m,
				Put: func(ctx context.Context, owner, key string) error {
					if inCart(key) {
						return carts.Add(ctx, owner, shadow.Item{SKU: key, Quantity: 1})
					}
					return put(ctx, owner, key)
				},
				Keys: func(ctx context.Context, owner string) ([]string, error) {
					c, err := carts.Get(ctx, owner)
					if err != nil {
						return nil, err
					}
					keys, err := widgetKeys(table)(ctx, owner)
					for _, it := range c.Items {
						keys = append(keys, it.SKU)
					}
					return keys, err
				}}
		})
	})
	t.Run("MoveSQL", func(t *testing.T) {
		t.Parallel()
		shadowtest.TestGuestData(t, func(t *testing.T) shadowtest.GuestDataFixture {
			schema, table := newWidgets(t)
			m := newMover(t, pgstore.MoverConfig{Schema: schema, Tables: []pgstore.OwnerTable{{Schema: schema, Name: "saved_widgets",
				// The app's own merge: the guest's widgets go after the account's.
				MoveSQL: `WITH d AS (DELETE FROM ` + table + ` g WHERE g.owner = $1 RETURNING g.widget_id, g.position)
INSERT INTO ` + table + ` (owner, widget_id, position)
SELECT $2, d.widget_id, d.position + 1000 FROM d ON CONFLICT (owner, widget_id) DO NOTHING`}}})
			return shadowtest.GuestDataFixture{Store: m, Put: putWidget(table), Keys: widgetKeys(table)}
		})
	})
}

func TestMoverConflictRules(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	for _, c := range []struct {
		name     string
		rule     pgstore.Conflict
		wantPos  int // position of the shared widget with the account afterwards
		wantRecs int
	}{
		{"KeepAccountRow", pgstore.KeepAccountRow, 1, 2},
		{"KeepGuestRow", pgstore.KeepGuestRow, 2, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			schema, table := newWidgets(t)
			m := newMover(t, pgstore.MoverConfig{Schema: schema, Tables: []pgstore.OwnerTable{
				{Schema: schema, Name: "saved_widgets", Key: []string{"widget_id"}, OnConflict: c.rule}}})
			exec(t, `INSERT INTO `+table+` (owner, widget_id, position) VALUES ('acct', 'shared', 1), ('guest', 'shared', 2), ('guest', 'own', 3)`)
			res, err := m.MoveGuest(ctx, "guest", "acct")
			if err != nil || res.Records != c.wantRecs {
				t.Fatalf("MoveGuest = %+v, %v; want %d records", res, err, c.wantRecs)
			}
			var pos int
			if err := pool.QueryRow(ctx, `SELECT position FROM `+table+` WHERE owner = 'acct' AND widget_id = 'shared'`).Scan(&pos); err != nil {
				t.Fatal(err)
			}
			if pos != c.wantPos {
				t.Errorf("shared widget's position = %d, want %d", pos, c.wantPos)
			}
		})
	}
}

// TestMoverAllOrNothing: a table whose unique key conflicts, without a
// conflict rule, fails the move, and nothing moves: not the cart, not the
// other table, and the guest is not retired.
func TestMoverAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	carts, _ := newStore(t)
	_, table := newWidgets(t)
	schema := strings.Trim(strings.Split(table, ".")[0], `"`)
	notes := pgx.Identifier{schema, "notes"}.Sanitize()
	exec(t, `CREATE TABLE `+notes+` (owner text NOT NULL, body text NOT NULL)`)
	m := newMover(t, pgstore.MoverConfig{Carts: carts, Tables: []pgstore.OwnerTable{
		{Schema: schema, Name: "notes"},
		{Schema: schema, Name: "saved_widgets"}, // no Key: a conflict fails
	}})
	if err := carts.Add(ctx, "guest", shadow.Item{SKU: "mug", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	exec(t, `INSERT INTO `+notes+` VALUES ('guest', 'hello')`)
	exec(t, `INSERT INTO `+table+` (owner, widget_id) VALUES ('guest', 'w'), ('acct', 'w')`)
	if _, err := m.MoveGuest(ctx, "guest", "acct"); err == nil {
		t.Fatal("MoveGuest succeeded through a unique violation")
	}
	count := func(q string) int {
		var n int
		if err := sharedPool.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM ` + notes + ` WHERE owner = 'guest'`); n != 1 {
		t.Errorf("guest's notes after a failed move = %d, want 1", n)
	}
	if c, _ := carts.Get(ctx, "guest"); c.Quantity("mug") != 1 {
		t.Errorf("guest's cart after a failed move = %v, want the mug", c.Items)
	}
	if ok, err := m.Retired(ctx, "guest"); err != nil || ok {
		t.Errorf("Retired(guest) after a failed move = %v, %v; want false", ok, err)
	}
	// The app resolves the conflict; a repeated move finishes.
	exec(t, `DELETE FROM `+table+` WHERE owner = 'acct'`)
	res, err := m.MoveGuest(ctx, "guest", "acct")
	if err != nil || res.Records != 3 {
		t.Fatalf("repeated MoveGuest = %+v, %v; want the 3 records", res, err)
	}
}

// TestMoverConcurrentMovesAndInserts runs many writers, each on its own
// connection, inserting under guests while those guests are moved: every
// insert that committed is with the account afterwards, every other one
// failed with the retirement error, and nothing is left under a guest.
func TestMoverConcurrentMovesAndInserts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	carts, _ := newStore(t)
	_, table := newWidgets(t)
	schema := strings.Trim(strings.Split(table, ".")[0], `"`)
	m := newMover(t, pgstore.MoverConfig{Carts: carts, Tables: []pgstore.OwnerTable{
		{Schema: schema, Name: "saved_widgets", Key: []string{"widget_id"}}}})
	const guests, writers, writes = 4, 3, 40
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		committed = map[string][]string{} // guest -> widget ids
		units     = map[string]int{}      // guest -> cart units added
		errs      []error
	)
	for g := range guests {
		guest := fmt.Sprintf("guest-%d", g)
		for w := range writers {
			wg.Go(func() {
				for i := range writes {
					id := fmt.Sprintf("w%d-%d", w, i)
					_, err := sharedPool.Exec(ctx, `INSERT INTO `+table+` (owner, widget_id) VALUES ($1, $2)`, guest, id)
					aerr := carts.Add(ctx, guest, shadow.Item{SKU: "sku", Quantity: 1})
					mu.Lock()
					if err == nil {
						committed[guest] = append(committed[guest], id)
					} else if !pgstore.IsOwnerRetired(err) {
						errs = append(errs, err)
					}
					if aerr == nil {
						units[guest]++
					} else if !errors.Is(aerr, shadow.ErrOwnerRetired) {
						errs = append(errs, aerr)
					}
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			for range writes / 4 {
				if _, err := sharedPool.Exec(ctx, `SELECT 1`); err != nil { // let some writes land first
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
			if _, err := m.MoveGuest(ctx, guest, "acct-"+guest); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("MoveGuest(%s): %w", guest, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for g := range guests {
		guest := fmt.Sprintf("guest-%d", g)
		left, err := widgetKeys(table)(ctx, guest)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 0 {
			t.Errorf("%d widgets left under moved %s", len(left), guest)
		}
		got, err := widgetKeys(table)(ctx, "acct-"+guest)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(committed[guest], got, keysSorted); diff != "" {
			t.Errorf("account of %s: committed widgets (-want +got):\n%s", guest, diff)
		}
		c, err := carts.Get(ctx, "acct-"+guest)
		if err != nil {
			t.Fatal(err)
		}
		if c.Quantity("sku") != units[guest] {
			t.Errorf("account of %s has %d cart units, want the %d added", guest, c.Quantity("sku"), units[guest])
		}
	}
}

// TestMoverRefusesUpdatesToRetiredOwner: the trigger also refuses an
// UPDATE that gives a row to a retired owner, and DeleteGuest retires.
func TestMoverRefusesUpdatesToRetiredOwner(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema, table := newWidgets(t)
	m := newMover(t, pgstore.MoverConfig{Schema: schema, Tables: []pgstore.OwnerTable{{Schema: schema, Name: "saved_widgets"}}})
	exec(t, `INSERT INTO `+table+` (owner, widget_id) VALUES ('swept', 'a'), ('other', 'b')`)
	if err := m.DeleteGuest(ctx, "swept"); err != nil {
		t.Fatal(err)
	}
	_, err := sharedPool.Exec(ctx, `UPDATE `+table+` SET owner = 'swept' WHERE owner = 'other'`)
	if !pgstore.IsOwnerRetired(err) {
		t.Errorf("UPDATE to a retired owner = %v, want the retirement error", err)
	}
	if _, err := sharedPool.Exec(ctx, `UPDATE `+table+` SET position = 7 WHERE owner = 'other'`); err != nil {
		t.Errorf("UPDATE of another column: %v", err)
	}
	if err := m.RecordActivity(ctx, "swept", testNow()); !errors.Is(err, shadow.ErrOwnerRetired) {
		t.Errorf("RecordActivity of a retired owner = %v, want shadow.ErrOwnerRetired", err)
	}
}

func TestNewMoverReportsEveryProblem(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	carts, err := pgstore.New(pool, pgstore.WithSchema("a"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = pgstore.NewMover(nil, pgstore.MoverConfig{Carts: carts, Schema: "b", Tables: []pgstore.OwnerTable{
		{Name: ""}, {Name: "t", Key: []string{"owner"}}, {Name: "u", OnConflict: 7}, {Name: "v"}, {Name: "v"}}})
	if err == nil {
		t.Fatal("NewMover accepted a bad configuration")
	}
	for _, want := range []string{"nil pool", "differs", "table 0", "table 1", "table 2", "appears twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

// keysSorted compares key lists as sets, nil and empty alike.
var keysSorted = cmp.Options{cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()}

func testNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// TestMoverMoveSQLSumsCounters runs the README's MoveSQL: counters of both
// owners add up.
func TestMoverMoveSQLSumsCounters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema := newSchema(t)
	counters := pgx.Identifier{schema, "counters"}.Sanitize()
	exec(t, `CREATE TABLE `+counters+` (owner text NOT NULL, name text NOT NULL, n int NOT NULL, PRIMARY KEY (owner, name))`)
	m := newMover(t, pgstore.MoverConfig{Schema: schema, Tables: []pgstore.OwnerTable{{Schema: schema, Name: "counters",
		MoveSQL: `WITH g AS (DELETE FROM ` + counters + ` WHERE owner = $1 RETURNING name, n)
INSERT INTO ` + counters + ` (owner, name, n) SELECT $2, name, n FROM g
ON CONFLICT (owner, name) DO UPDATE SET n = counters.n + EXCLUDED.n`}}})
	exec(t, `INSERT INTO `+counters+` VALUES ('guest', 'views', 3), ('guest', 'likes', 1), ('acct', 'views', 10)`)
	res, err := m.MoveGuest(ctx, "guest", "acct")
	if err != nil || res.Records != 2 {
		t.Fatalf("MoveGuest = %+v, %v; want 2 records", res, err)
	}
	rows, _ := sharedPool.Query(ctx, `SELECT owner || ':' || name || '=' || n FROM `+counters+` ORDER BY 1`)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"acct:likes=1", "acct:views=13"}, got); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
}

// TestMoverConcurrentMovesIntoOneAccount: two guests with the same widget
// merge into one account at the same time (two tabs signing into one
// account, say). Without carts nothing else serializes the moves: the
// second move's conflict rule ran before the first move committed, so its
// UPDATE hit the unique key and the merge failed. Both must succeed, the
// conflict resolved by the rule. A row lock on the first guest's widget
// holds the first move at its UPDATE, after its conflict check, while the
// second runs.
func TestMoverConcurrentMovesIntoOneAccount(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema, table := newWidgets(t)
	m := newMover(t, pgstore.MoverConfig{Schema: schema, Tables: []pgstore.OwnerTable{
		{Schema: schema, Name: "saved_widgets", Key: []string{"widget_id"}}}})
	exec(t, `INSERT INTO `+table+` (owner, widget_id, position) VALUES ('g1', 'shared', 1), ('g2', 'shared', 2), ('g2', 'own', 3)`)

	hold, err := testPool(t).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hold.Rollback(context.Background()) }()
	if _, err := hold.Exec(ctx, `SELECT FROM `+table+` WHERE owner = 'g1' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var err1, err2 error
	wg.Go(func() { _, err1 = m.MoveGuest(ctx, "g1", "acct") })
	first := `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE ` + table + `%'`
	waitUntil(t, `SELECT EXISTS (`+first+`)`, nil)
	done2 := make(chan struct{})
	wg.Go(func() { defer close(done2); _, err2 = m.MoveGuest(ctx, "g2", "acct") })
	// the second move ends, or waits for the first
	waitUntil(t, `SELECT EXISTS (SELECT FROM pg_stat_activity a, (`+first+`) f WHERE f.pid = ANY (pg_blocking_pids(a.pid)))`, done2)
	if err := hold.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("concurrent moves into one account: %v", err)
	}
	got, err := widgetKeys(table)(ctx, "acct")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"own", "shared"}, got, keysSorted); diff != "" {
		t.Errorf("account's widgets (-want +got):\n%s", diff)
	}
	for _, g := range []string{"g1", "g2"} {
		if left, err := widgetKeys(table)(ctx, g); err != nil || len(left) != 0 {
			t.Errorf("widgets left under %s: %v, %v", g, left, err)
		}
	}
}

// waitUntil polls until the query cond returns true or done is closed; it
// fails when the test's context ends. No timed assertion.
func waitUntil(t *testing.T, cond string, done <-chan struct{}) {
	t.Helper()
	for {
		select {
		case <-done:
			return
		default:
		}
		var ok bool
		if err := testPool(t).QueryRow(t.Context(), cond).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMoverCustomSQLMustLeaveNoGuestRow: a MoveSQL or DeleteSQL that
// leaves rows owned by the guest (a WHERE clause gone wrong) fails the
// move or delete, which then changes nothing, rather than committing
// rows under a retired guest that MergeInto or Sweep would then delete the
// user of: orphans.
func TestMoverCustomSQLMustLeaveNoGuestRow(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		cfg  func(table string) pgstore.OwnerTable
		op   func(ctx context.Context, m *pgstore.Mover) error
	}{
		{"MoveSQL",
			func(table string) pgstore.OwnerTable {
				return pgstore.OwnerTable{Name: "saved_widgets", MoveSQL: `UPDATE ` + table + ` SET owner = $2 WHERE owner = $1 AND widget_id = 'a'`}
			},
			func(ctx context.Context, m *pgstore.Mover) error {
				_, err := m.MoveGuest(ctx, "guest", "acct")
				return err
			}},
		{"DeleteSQL",
			func(table string) pgstore.OwnerTable {
				return pgstore.OwnerTable{Name: "saved_widgets", DeleteSQL: `DELETE FROM ` + table + ` WHERE owner = $1 AND widget_id = 'a'`}
			},
			func(ctx context.Context, m *pgstore.Mover) error { return m.DeleteGuest(ctx, "guest") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			schema, table := newWidgets(t)
			cfg := c.cfg(table)
			cfg.Schema = schema
			m := newMover(t, pgstore.MoverConfig{Schema: schema, Tables: []pgstore.OwnerTable{cfg}})
			exec(t, `INSERT INTO `+table+` (owner, widget_id) VALUES ('guest', 'a'), ('guest', 'b')`)
			if err := c.op(ctx, m); !errors.Is(err, pgstore.ErrGuestRowsLeft) {
				t.Fatalf("%s that leaves a guest row = %v, want ErrGuestRowsLeft", c.name, err)
			}
			got, err := widgetKeys(table)(ctx, "guest")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"a", "b"}, got, keysSorted); diff != "" {
				t.Errorf("guest's widgets after the failed %s (-want +got):\n%s", c.name, diff)
			}
			if gone, err := m.Retired(ctx, "guest"); err != nil || gone {
				t.Errorf("Retired(guest) = %v, %v; a failed %s retires nothing", gone, err, c.name)
			}
		})
	}
}
