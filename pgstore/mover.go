package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shadowaccounts/shadow"
)

// OwnerTable is a table of the app's own with one owner column holding a
// ZITADEL user id (a guest's or an account's). A [Mover] moves its rows by
// changing the owner and deletes them by owner.
type OwnerTable struct {
	// Schema and Name name the table (Schema empty: the search_path).
	Schema, Name string
	// Column is the owner column (default "owner"), of a text type.
	Column string
	// Key lists the columns that form a unique key together with the
	// owner column, such as (owner, widget_id). With it, a row of the guest
	// whose key the account already has is resolved by OnConflict instead
	// of failing the move on the unique constraint.
	Key []string
	// OnConflict resolves the rows Key finds in both owners (default
	// KeepAccountRow).
	OnConflict Conflict
	// MoveSQL, when set, moves the rows instead: it runs in the move's
	// transaction with $1 the guest and $2 the account, must leave no row
	// owned by $1 (else the move fails with [ErrGuestRowsLeft] and changes
	// nothing), and its affected row count is what MoveResult reports.
	// Use it to merge conflicting rows in SQL (sum counters, keep the newer
	// row). Key and OnConflict are then ignored.
	MoveSQL string
	// DeleteSQL, when set, deletes the rows instead, with $1 the guest
	// (for example to archive them first); like MoveSQL it must leave no
	// row owned by $1.
	DeleteSQL string
}

// ErrGuestRowsLeft is returned (wrapped, naming the table) by
// [Mover.MoveGuest] and [Mover.DeleteGuest] when an OwnerTable's MoveSQL or
// DeleteSQL left rows owned by the guest: the transaction is rolled back,
// so nothing moved or was deleted and the guest is not retired, rather
// than leaving rows under a guest that MergeInto or Sweep then deletes.
var ErrGuestRowsLeft = errors.New("pgstore: custom SQL left rows owned by the guest")

// Conflict says which row a move keeps when the guest and the account both
// have a row with the same OwnerTable.Key.
type Conflict int

const (
	// KeepAccountRow drops the guest's row: the account's data wins.
	KeepAccountRow Conflict = iota
	// KeepGuestRow drops the account's row: what the visitor did last, as
	// a guest, wins.
	KeepGuestRow
)

// MoverConfig configures a [Mover].
type MoverConfig struct {
	// Carts, when set, moves and deletes that Store's carts in the same
	// transaction as the tables, merging lines with Policy (nil:
	// [shadow.SumQuantities]). Then the Store's schema holds the
	// retirement and activity tables.
	Carts  *Store
	Policy shadow.MergePolicy
	// Tables are the app's owner tables, in the order they are moved.
	Tables []OwnerTable
	// Schema holds the retirement and activity tables when Carts is nil
	// (empty: the search_path). With Carts it must be empty or the same.
	Schema string
}

// Mover is a [shadow.GuestData] store for the data a guest owns in
// PostgreSQL: the carts of a [Store] and the rows of any number of the
// app's tables. MoveGuest and DeleteGuest work in ONE transaction across
// all of them, so a failure leaves everything with the guest (or
// everything in place) and a repeat finishes the job. Both retire the
// guest in the same transaction ([shadow.Retirer]): a trigger refuses
// later inserts and updates under it with SQLSTATE SHRET
// ([IsOwnerRetired]). It keeps owners' last activity
// ([shadow.ActivityRecorder]) and records upgraded guests
// ([shadow.GuestEnder]). Create it with [NewMover] and install the
// tables and triggers with [Mover.Migrate]. It is safe for concurrent use
// by any number of goroutines and processes.
//
// Lock order: a move takes the cart owners' locks (as [Store.Merge] does),
// then the account's move-into lock (so moves of several guests into one
// account, as two tabs signing in at once make, run one after the other
// and resolve their conflicts by the rules), then the guest's retirement
// lock. A transaction of the app that writes
// an owner table and then adds to the same guest's cart takes them in the
// other order and can deadlock with a concurrent move; PostgreSQL then
// aborts one of them (SQLSTATE 40P01), and a MergeInto so aborted is
// simply run again. Add to the cart first, or in a transaction of its own.
type Mover struct {
	pool   *pgxpool.Pool
	carts  *Store
	policy shadow.MergePolicy
	tables []ownerTable
	own    ownerSQL
}

var (
	_ shadow.GuestData        = (*Mover)(nil)
	_ shadow.Retirer          = (*Mover)(nil)
	_ shadow.ActivityRecorder = (*Mover)(nil)
	_ shadow.GuestEnder       = (*Mover)(nil)
)

// ownerTable is an OwnerTable with its statements.
type ownerTable struct {
	name, column              string // quoted name, unquoted column
	resolve, move, deleteRows string // resolve is empty without Key
	resolveDropsGuest         bool   // KeepAccountRow
	customMove, customDelete  bool   // MoveSQL, DeleteSQL: checked by leftover
	leftover                  string // does $1 still own rows?
}

// queueLeftover queues the check that guestID owns no row in t, after the
// table's MoveSQL or DeleteSQL ran.
func (t ownerTable) queueLeftover(b *pgx.Batch, guestID string) {
	b.Queue(t.leftover, guestID).QueryRow(func(row pgx.Row) error {
		var left bool
		if err := row.Scan(&left); err != nil {
			return err
		}
		if left {
			return fmt.Errorf("%w: table %s", ErrGuestRowsLeft, t.name)
		}
		return nil
	})
}

// NewMover returns a Mover on pool, which the caller owns. It does no
// I/O. Invalid configuration is reported all at once.
func NewMover(pool *pgxpool.Pool, cfg MoverConfig) (*Mover, error) {
	var errs []error
	if pool == nil {
		errs = append(errs, errors.New("pgstore: NewMover: nil pool"))
	}
	schema := cfg.Schema
	if cfg.Carts != nil {
		if schema != "" && schema != cfg.Carts.own.schema {
			errs = append(errs, fmt.Errorf("pgstore: NewMover: Schema %q differs from the cart Store's %q", schema, cfg.Carts.own.schema))
		}
		schema = cfg.Carts.own.schema
	}
	if len(schema) > maxIdentifier || strings.IndexByte(schema, 0) >= 0 {
		errs = append(errs, fmt.Errorf("pgstore: NewMover: Schema %q must be at most %d bytes without NUL", schema, maxIdentifier))
	}
	m := &Mover{pool: pool, carts: cfg.Carts, policy: cfg.Policy, own: newOwnerSQL(schema)}
	seen := map[string]bool{}
	for i, t := range cfg.Tables {
		ot, err := newOwnerTable(t)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("pgstore: NewMover: table %d: %w", i, err))
		case seen[ot.name] || cfg.Carts != nil && ot.name == cfg.Carts.table:
			errs = append(errs, fmt.Errorf("pgstore: NewMover: table %s appears twice", ot.name))
		}
		seen[ot.name] = true
		m.tables = append(m.tables, ot)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

func newOwnerTable(t OwnerTable) (ownerTable, error) {
	bad := func(s string) bool { return s == "" || len(s) > maxIdentifier || strings.IndexByte(s, 0) >= 0 }
	if t.Column == "" {
		t.Column = "owner"
	}
	switch {
	case bad(t.Name):
		return ownerTable{}, fmt.Errorf("table name %q must be 1 to %d bytes without NUL", t.Name, maxIdentifier)
	case t.Schema != "" && bad(t.Schema):
		return ownerTable{}, fmt.Errorf("schema %q must be at most %d bytes without NUL", t.Schema, maxIdentifier)
	case bad(t.Column):
		return ownerTable{}, fmt.Errorf("owner column %q must be 1 to %d bytes without NUL", t.Column, maxIdentifier)
	case t.OnConflict != KeepAccountRow && t.OnConflict != KeepGuestRow:
		return ownerTable{}, fmt.Errorf("conflict rule %d is neither KeepAccountRow nor KeepGuestRow", t.OnConflict)
	}
	for _, k := range t.Key {
		if bad(k) || k == t.Column {
			return ownerTable{}, fmt.Errorf("key column %q must be 1 to %d bytes without NUL, other than the owner column", k, maxIdentifier)
		}
	}
	id := pgx.Identifier{t.Name}
	if t.Schema != "" {
		id = pgx.Identifier{t.Schema, t.Name}
	}
	name, col := id.Sanitize(), pgx.Identifier{t.Column}.Sanitize()
	ot := ownerTable{name: name, column: t.Column,
		move:       `UPDATE ` + name + ` SET ` + col + ` = $2 WHERE ` + col + ` = $1`,
		deleteRows: `DELETE FROM ` + name + ` WHERE ` + col + ` = $1`,
	}
	if len(t.Key) > 0 {
		// drop, of the owner $1 or $2 that loses, the rows whose key the
		// other owner has too.
		lose, win := "$1", "$2"
		if t.OnConflict == KeepGuestRow {
			lose, win = win, lose
		}
		conds := make([]string, len(t.Key))
		for i, k := range t.Key {
			k := pgx.Identifier{k}.Sanitize()
			conds[i] = "w." + k + " = l." + k
		}
		ot.resolve = `DELETE FROM ` + name + ` l WHERE l.` + col + ` = ` + lose +
			` AND EXISTS (SELECT FROM ` + name + ` w WHERE w.` + col + ` = ` + win + ` AND ` + strings.Join(conds, " AND ") + `)`
		ot.resolveDropsGuest = t.OnConflict == KeepAccountRow
	}
	if t.MoveSQL != "" {
		ot.move, ot.resolve = t.MoveSQL, ""
	}
	if t.DeleteSQL != "" {
		ot.deleteRows = t.DeleteSQL
	}
	ot.customMove, ot.customDelete = t.MoveSQL != "", t.DeleteSQL != ""
	ot.leftover = `SELECT EXISTS (SELECT FROM ` + name + ` WHERE ` + col + ` = $1)`
	return ot, nil
}

// Migrate creates the retirement and activity tables and the trigger
// function unless they exist, attaches the trigger to every owner table
// (which must exist: they are the app's, created by its own migrations),
// and migrates the cart Store if there is one. It is idempotent and safe
// from every replica at once. The role needs CREATE on the schema and
// TRIGGER on the owner tables.
func (m *Mover) Migrate(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.carts != nil {
		if err := m.carts.Migrate(ctx); err != nil {
			return err
		}
	}
	err := pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(lockSQL, m.own.migrated)
		for _, stmt := range m.own.createStatements() {
			b.Queue(stmt)
		}
		for _, t := range m.tables {
			b.Queue(m.own.triggerSQL(t.name, t.column))
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fail(ctx, "migrate owner tables", err)
	}
	return nil
}

// MoveGuest moves everything guestID owns to accountID in one READ
// COMMITTED transaction: the cart (merged with the policy, see
// [Store.Merge]), then each owner table in order (conflicting rows
// resolved by OnConflict, or the table's MoveSQL), and retires guestID.
// Records counts the cart lines and rows that were the guest's. A repeat
// moves nothing; moving onto itself changes nothing. It fails with
// [shadow.ErrOwnerRetired] when accountID is retired, and with the
// database's error (a unique violation without Key, say), changing
// nothing, in every other failure.
func (m *Mover) MoveGuest(ctx context.Context, guestID, accountID string) (shadow.MoveResult, error) {
	if err := ctx.Err(); err != nil {
		return shadow.MoveResult{}, err
	}
	if guestID == accountID {
		return shadow.MoveResult{}, nil
	}
	var n int
	err := pgx.BeginTxFunc(ctx, m.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) (err error) {
		n, err = m.move(ctx, tx, guestID, accountID)
		return err
	})
	if err != nil {
		return shadow.MoveResult{}, failWrite(ctx, "move guest data", err)
	}
	return shadow.MoveResult{Records: n}, nil
}

// move is MoveGuest within tx.
func (m *Mover) move(ctx context.Context, tx pgx.Tx, guestID, accountID string) (int, error) {
	var target, guest []shadow.Item
	if m.carts != nil {
		var err error
		if target, guest, err = m.carts.lockAndRead(ctx, tx, guestID, accountID); err != nil {
			return 0, err
		}
	}
	b := &pgx.Batch{}
	if len(m.tables) > 0 {
		m.own.queueMoveIntoLock(b, accountID)
	}
	m.own.queueRetire(b, guestID)
	m.own.queueRefuseRetired(b, accountID)
	n := len(guest)
	count := func(ct pgconn.CommandTag) error { n += int(ct.RowsAffected()); return nil }
	for _, t := range m.tables {
		if t.resolve != "" {
			q := b.Queue(t.resolve, guestID, accountID)
			if t.resolveDropsGuest { // the dropped rows were the guest's too
				q.Exec(count)
			}
		}
		b.Queue(t.move, guestID, accountID).Exec(count)
		if t.customMove {
			t.queueLeftover(b, guestID)
		}
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, err
	}
	if len(guest) > 0 {
		if err := m.carts.writeMerge(ctx, tx, guestID, accountID, target, shadow.MergeItems(target, guest, m.policy)); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// DeleteGuest deletes everything guestID owns (its cart and its rows in
// every owner table, or the table's DeleteSQL) and retires it, in one
// transaction. Deleting nothing is no error.
func (m *Mover) DeleteGuest(ctx context.Context, guestID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := pgx.BeginTxFunc(ctx, m.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		if m.carts != nil {
			b.Queue(lockSQL, m.carts.ownerKey(guestID))
			b.Queue(m.carts.q.deleteCart, guestID)
		}
		m.own.queueRetire(b, guestID)
		for _, t := range m.tables {
			b.Queue(t.deleteRows, guestID)
			if t.customDelete {
				t.queueLeftover(b, guestID)
			}
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fail(ctx, "delete guest data", err)
	}
	return nil
}

// Retired reports whether owner was retired by MoveGuest or DeleteGuest
// (of this Mover, or of a cart Store sharing its schema) and not pruned.
func (m *Mover) Retired(ctx context.Context, owner string) (bool, error) {
	return retired(ctx, m.pool, m.own, owner)
}

// PruneRetired forgets the retirements made before before (by the
// database's clock) and returns how many; the owners are accepted again.
func (m *Mover) PruneRetired(ctx context.Context, before time.Time) (int, error) {
	return pruneRetired(ctx, m.pool, m.own, before)
}

// RecordActivity notes owner's activity at at (microsecond precision) in
// the activity table, keeping a later one; it fails with
// shadow.ErrOwnerRetired for a retired owner.
func (m *Mover) RecordActivity(ctx context.Context, owner string, at time.Time) error {
	return recordActivity(ctx, m.pool, m.own, owner, at)
}

// LastActivity returns owner's last recorded activity, the zero time when
// none is.
func (m *Mover) LastActivity(ctx context.Context, owner string) (time.Time, error) {
	return lastActivity(ctx, m.pool, m.own, owner)
}

func retired(ctx context.Context, pool *pgxpool.Pool, own ownerSQL, owner string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ok, err := own.isRetired(ctx, pool, owner)
	if err != nil {
		return false, fail(ctx, "read retirement", err)
	}
	return ok, nil
}

func pruneRetired(ctx context.Context, pool *pgxpool.Pool, own ownerSQL, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n, err := own.prune(ctx, pool, before)
	if err != nil {
		return 0, fail(ctx, "prune retired owners", err)
	}
	return n, nil
}

func recordActivity(ctx context.Context, pool *pgxpool.Pool, own ownerSQL, owner string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := own.record(ctx, pool, owner, at); err != nil {
		return failWrite(ctx, "record activity", err)
	}
	return nil
}

func lastActivity(ctx context.Context, pool *pgxpool.Pool, own ownerSQL, owner string) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	at, err := own.last(ctx, pool, owner)
	if err != nil {
		return time.Time{}, fail(ctx, "read activity", err)
	}
	return at, nil
}
