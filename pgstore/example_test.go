package pgstore_test

import (
	"context"
	"errors"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/pgstore"
)

// Carts in PostgreSQL: create the pool, migrate at start-up (every replica
// may), and hand the store to the Manager.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(pool)
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	key, err := shadow.SessionKeyFromPassphrase(os.Getenv("SHOP_SESSION_PASSPHRASE"))
	if err != nil {
		log.Fatal(err)
	}
	mgr, err := shadow.New(os.Getenv("ZITADEL_ISSUER"),
		shadow.WithOrganization(os.Getenv("ZITADEL_ORG_ID")),
		shadow.WithClientID(os.Getenv("ZITADEL_CLIENT_ID")),
		shadow.WithCredentials(shadow.PAT(os.Getenv("ZITADEL_PAT"))),
		shadow.WithCartStore(store),
		shadow.WithSessionKeys(key),
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = mgr // serve the app with mgr
}

// A sweep job that runs on every replica from cron: the lock, taken by
// the sweep itself, lets one of them sweep and the others skip.
func ExampleLocker() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	var mgr *shadow.Manager // built as in the package example

	rep, err := mgr.Sweep(ctx, shadow.SweepOptions{
		OlderThan: 30 * 24 * time.Hour,
		Locker:    pgstore.NewLocker(pool),
	})
	if errors.Is(err, shadow.ErrSweepLocked) {
		log.Print("another replica is sweeping")
		return
	}
	log.Printf("swept %d guests: %v", rep.Deleted, err)
}
