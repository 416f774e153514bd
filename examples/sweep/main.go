// Command sweep deletes abandoned guest accounts and their data: run it
// from cron.
//
//	ZITADEL_ISSUER=https://my-instance.zitadel.cloud ZITADEL_ORG_ID=... \
//	ZITADEL_CLIENT_ID=... ZITADEL_PAT=... \
//	SHADOW_POSTGRES_DSN=postgres://... \
//	go run ./examples/sweep -older-than 720h -idle-for 168h \
//		-owner-table saved_widgets -owner-table app.drafts:user_id
//
// The machine user signs in with a personal access token (ZITADEL_PAT) or
// its key file (ZITADEL_KEY_FILE, the path of the JSON file ZITADEL
// downloads, with ZITADEL_PROJECT_ID).
//
// With SHADOW_POSTGRES_DSN, each swept guest's data is deleted in one
// transaction before the guest: its pgstore cart and its rows in every
// -owner-table ([schema.]table[:owner_column], owner column "owner" by
// default; repeat the flag), and the guest is retired so that no write
// lands under it afterwards (pgstore.Mover; the tables get its trigger,
// so the role needs TRIGGER on them). PostgreSQL advisory locks keep
// replicas from sweeping at once, and lock each guest against the app's
// own Upgrade and MergeInto (WithGuestLocker), so that a run with
// -allow-live-sessions never deletes a visitor who registers in another
// process meanwhile — provided the app uses the same locker. -idle-for
// also reads the guests' last activity that the app's session middleware
// recorded there. Without a DSN, no data is touched (owner tables are
// then an error). -prune-retired forgets retirements older than it after
// the run (at least the session lifetime, 720h).
//
// It prints progress to stderr and the report to stdout, and exits 1 when
// a deletion failed, 2 on bad usage, and 3 when another sweep holds the lock.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/pgstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, nil, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command without process globals, for tests; hc, when not
// nil, replaces the HTTP client.
func run(ctx context.Context, args []string, getenv func(string) string, hc *http.Client, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	olderThan := fs.Duration("older-than", 30*24*time.Hour, "delete guests whose tag is older than this")
	idleFor := fs.Duration("idle-for", 0, "also require no change in ZITADEL for this long (0: off)")
	dryRun := fs.Bool("dry-run", false, "report what would be deleted, delete nothing")
	maxDeletes := fs.Int("max", 0, "delete at most this many guests (0: no cap)")
	rps := fs.Float64("rate", 40, "ZITADEL requests per second (ZITADEL Cloud allows 50)")
	concurrency := fs.Int("concurrency", 4, "guests handled at once")
	allowLive := fs.Bool("allow-live-sessions", false, "allow -older-than below the 30-day session lifetime")
	prune := fs.Duration("prune-retired", 0, "after the run, forget retirements older than this (0: off; at least 720h)")
	var tables ownerTables
	fs.Var(&tables, "owner-table", "an app table of guest-owned rows, [schema.]table[:owner_column] (repeatable; needs SHADOW_POSTGRES_DSN)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := configFromEnv(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "sweep:", err)
		return 2
	}
	opts := []shadow.Option{shadow.WithOrganization(cfg.orgID), shadow.WithClientID(cfg.clientID),
		shadow.WithCredentials(cfg.creds)}
	if cfg.projectID != "" {
		opts = append(opts, shadow.WithProjectID(cfg.projectID))
	}
	var locker shadow.Locker
	switch {
	case cfg.dsn != "":
		pool, err := pgxpool.New(ctx, cfg.dsn)
		if err != nil {
			fmt.Fprintln(stderr, "sweep: postgres:", err)
			return 2
		}
		defer pool.Close()
		data, err := pgMover(ctx, pool, tables)
		if err != nil {
			fmt.Fprintln(stderr, "sweep: pgstore:", err)
			return 2
		}
		locker = pgstore.NewLocker(pool)
		opts = append(opts, shadow.WithGuestData("postgres", data), shadow.WithGuestLocker(locker))
	case len(tables) > 0:
		fmt.Fprintln(stderr, "sweep: -owner-table needs SHADOW_POSTGRES_DSN")
		return 2
	}
	if hc != nil {
		opts = append(opts, shadow.WithHTTPClient(hc))
	}
	mgr, err := shadow.New(cfg.issuer, opts...)
	if err != nil {
		fmt.Fprintln(stderr, "sweep:", err)
		return 2
	}
	start := time.Now()
	rep, err := mgr.Sweep(ctx, shadow.SweepOptions{
		OlderThan: *olderThan, IdleFor: *idleFor, DryRun: *dryRun, MaxDeletes: *maxDeletes,
		RequestsPerSecond: *rps, Concurrency: *concurrency, Locker: locker, AllowLiveSessions: *allowLive,
		Progress: func(r shadow.SweepReport) {
			fmt.Fprintf(stderr, "sweep: %s scanned %d, eligible %d, deleted %d, skipped %d, failed %d\n",
				time.Since(start).Round(time.Second), r.Scanned, r.Eligible, r.Deleted, len(r.Skipped), len(r.Failed))
		},
	})
	printReport(stdout, rep)
	if err == nil && *prune > 0 {
		n, perr := mgr.PruneRetired(ctx, *prune)
		fmt.Fprintf(stdout, "pruned %d retirements older than %s\n", n, *prune)
		if perr != nil {
			fmt.Fprintln(stderr, "sweep:", perr)
			return 1
		}
	}
	switch {
	case errors.Is(err, shadow.ErrSweepLocked):
		fmt.Fprintln(stderr, "sweep: another sweep is running; nothing done")
		return 3
	case err != nil:
		fmt.Fprintln(stderr, "sweep:", err)
		return 1
	case len(rep.Failed) > 0:
		return 1
	}
	return 0
}

func printReport(w io.Writer, r shadow.SweepReport) {
	mode := ""
	if r.DryRun {
		mode = " (dry run: nothing deleted)"
	}
	fmt.Fprintf(w, "scanned %d, eligible %d, deleted %d, skipped %d, failed %d in %s%s\n",
		r.Scanned, r.Eligible, r.Deleted, len(r.Skipped), len(r.Failed), r.Duration.Round(time.Millisecond), mode)
	if r.Capped {
		fmt.Fprintln(w, "stopped at -max; run again for the rest")
	}
	reasons := map[shadow.SkipReason]int{}
	for _, s := range r.Skipped {
		switch {
		case s.Detail != "":
			fmt.Fprintf(w, "skipped %s: %s: %s\n", s.UserID, s.Reason, s.Detail)
		case s.Err != nil:
			fmt.Fprintf(w, "skipped %s: %s: %v\n", s.UserID, s.Reason, s.Err)
		default:
			reasons[s.Reason]++
		}
	}
	for reason, n := range reasons {
		fmt.Fprintf(w, "skipped %d: %s\n", n, reason)
	}
	for _, f := range r.Failed {
		fmt.Fprintf(w, "failed %s: %v\n", f.GuestID, f.Err)
	}
}

// pgMover migrates and returns the store of the guests' data in
// PostgreSQL: pgstore's carts and the owner tables, in one transaction.
func pgMover(ctx context.Context, pool *pgxpool.Pool, tables []pgstore.OwnerTable) (*pgstore.Mover, error) {
	carts, err := pgstore.New(pool)
	if err != nil {
		return nil, err
	}
	m, err := pgstore.NewMover(pool, pgstore.MoverConfig{Carts: carts, Tables: tables})
	if err != nil {
		return nil, err
	}
	return m, m.Migrate(ctx)
}
