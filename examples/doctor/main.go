// Command doctor checks a ZITADEL setup for package shadow, step by step,
// with Manager.Check: discovery and the issuer, the service credentials,
// the roles, metadata search, the application's grant type, the
// impersonation policy, the project audience, the token type, the ZITADEL
// version and its known regressions. Each line says ok, warn, FAIL or
// skipped, and each failing line what to change and where in the console.
// The check guest it creates is deleted again, whatever happens.
//
// Against a real ZITADEL, set the variables examples/shop reads:
//
//	ZITADEL_ISSUER=https://my-instance.zitadel.cloud \
//	ZITADEL_ORG_ID=… ZITADEL_CLIENT_ID=… ZITADEL_PAT=… \
//	go run ./examples/doctor
//
// A key file replaces the PAT with ZITADEL_KEY_FILE=<path> and needs
// ZITADEL_PROJECT_ID; a confidential application adds
// ZITADEL_CLIENT_SECRET (sent by HTTP Basic). To try it at once, -fake
// runs it against an embedded fake ZITADEL (zitadeltest), and -break
// misconfigures that fake first (-break list names the choices):
//
//	go run ./examples/doctor -fake -break regression
//
// The exit status is 0 when no step failed, 1 when one did, 2 when the
// configuration could not even be read.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs passed in; it returns the exit status.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fake := fs.Bool("fake", false, "check an embedded fake ZITADEL instead of the one the environment names")
	brk := fs.String("break", "", "with -fake: misconfigure the fake first (\"list\" names the choices)")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *brk == "list" {
		for _, b := range breakages {
			fmt.Fprintf(stdout, "%-14s %s\n", b.name, b.what)
		}
		return 0
	}
	if *brk != "" && !*fake {
		fmt.Fprintln(stderr, "doctor: -break needs -fake")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	var cfg config
	if *fake {
		f, c, err := startFake(*brk)
		if err != nil {
			fmt.Fprintln(stderr, "doctor:", err)
			return 2
		}
		defer f.Close()
		cfg = c
		fmt.Fprintf(stdout, "Embedded fake ZITADEL at %s\n", cfg.Issuer)
	} else {
		c, err := configFromEnv(getenv)
		if err != nil {
			fmt.Fprintln(stderr, "doctor:", err)
			return 2
		}
		cfg = c
	}
	m, err := cfg.manager()
	if err != nil {
		fmt.Fprintln(stderr, "doctor:", err)
		return 2
	}
	fmt.Fprintf(stdout, "Checking %s (organization %s, client %s)\n\n", cfg.Issuer, cfg.OrgID, cfg.ClientID)
	rep, err := m.Check(ctx)
	fmt.Fprint(stdout, rep)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("gave up after %v (-timeout)", *timeout)
		}
		fmt.Fprintln(stderr, "doctor:", err)
		return 1
	}
	if !rep.OK() {
		fmt.Fprintln(stdout, "\nSome steps failed: fix the first one first, later ones often follow from it.")
		return 1
	}
	fmt.Fprintln(stdout, "\nAll good.")
	return 0
}
