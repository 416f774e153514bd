// Package pgstore keeps the data guests own in PostgreSQL, for apps whose
// replicas share it: [Store] is a [shadow.CartStore] on a pgx pool,
// [Mover] a [shadow.GuestData] store that moves and deletes the rows of the
// app's own tables (by their owner column) together with the carts in one
// transaction, and [Locker] a [shadow.Locker] on advisory locks so that one
// replica sweeps at a time. Store and Mover retire the guests they move or
// delete ([shadow.Retirer]): a trigger refuses later writes under them.
// Both also record upgraded guests ([shadow.GuestEnder]), so every replica
// ends their old guest sessions within shadow.DefaultEndedCheckInterval.
// It is a Go module of its own, so the pgx driver never reaches
// the core module's dependencies.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer pool.Close()
//	store, err := pgstore.New(pool) // table shadow_cart_items
//	if err != nil {
//		log.Fatal(err)
//	}
//	if err := store.Migrate(ctx); err != nil { // idempotent, safe from every replica at once
//		log.Fatal(err)
//	}
//	mgr, err := shadow.New(issuer, shadow.WithCartStore(store), ...)
//
// # Schema
//
// One table (default shadow_cart_items) with one row per owner and SKU:
// primary key (owner, sku), quantity > 0, a sequence number giving the
// order SKUs were first added, created_at and updated_at, and an index on
// updated_at for [Store.DeleteIdle]. [Store.Migrate] creates it. The
// database's encoding must be UTF8; owners and SKUs are compared byte-wise.
//
// # Concurrency
//
// Every write to a cart holds a transaction-scoped advisory lock keyed by
// a 64-bit hash of the table and the owner. Add and Delete are one round
// trip each: the lock and a single statement in one implicit transaction.
// Merge locks both owners in ascending key order, reads both carts, merges
// them in Go with [shadow.MergeItems] and writes the result, in one
// transaction; see [Store.Merge]. Get takes no lock: a single statement
// always sees a committed state. All of it relies on READ COMMITTED, the
// PostgreSQL default, for the implicit transactions of Add and Delete.
package pgstore
