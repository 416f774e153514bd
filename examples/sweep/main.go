// Command sweep deletes abandoned guest accounts: run it from cron.
//
//	ZITADEL_ISSUER=https://my-instance.zitadel.cloud ZITADEL_ORG_ID=... \
//	ZITADEL_CLIENT_ID=... ZITADEL_PAT=... \
//	SHADOW_POSTGRES_DSN=postgres://... \
//	go run ./examples/sweep -older-than 720h -idle-for 168h
//
// With SHADOW_POSTGRES_DSN the swept guests' carts are deleted from
// pgstore and a PostgreSQL advisory lock keeps replicas from sweeping at
// once; without it, carts are not touched (an in-memory store stands in).
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
	"github.com/shadowaccounts/shadow/memstore"
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
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := configFromEnv(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "sweep:", err)
		return 2
	}
	var store shadow.CartStore = memstore.New()
	var locker shadow.Locker
	if cfg.dsn != "" {
		pool, err := pgxpool.New(ctx, cfg.dsn)
		if err != nil {
			fmt.Fprintln(stderr, "sweep: postgres:", err)
			return 2
		}
		defer pool.Close()
		ps, err := pgstore.New(pool)
		if err == nil {
			err = ps.Migrate(ctx)
		}
		if err != nil {
			fmt.Fprintln(stderr, "sweep: pgstore:", err)
			return 2
		}
		store, locker = ps, pgstore.NewLocker(pool)
	}
	opts := []shadow.Option{shadow.WithOrganization(cfg.orgID), shadow.WithClientID(cfg.clientID),
		shadow.WithCredentials(shadow.PAT(cfg.pat)), shadow.WithCartStore(store)}
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
		reasons[s.Reason]++
	}
	for reason, n := range reasons {
		fmt.Fprintf(w, "skipped %d: %s\n", n, reason)
	}
	for _, f := range r.Failed {
		fmt.Fprintf(w, "failed %s: %v\n", f.GuestID, f.Err)
	}
}
