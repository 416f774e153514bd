package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/pgstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// setup starts a fake with n fresh guests and returns the command's
// environment for it.
func setup(t *testing.T, n int, dsn string) (*zitadeltest.Server, map[string]string) {
	t.Helper()
	fake := zitadeltest.Start(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sk, _ := shadow.NewSessionKey(key)
	mgr, err := shadow.New(fake.Issuer(), shadow.WithOrganization(fake.OrganizationID()), shadow.WithClientID(fake.ClientID()),
		shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)), shadow.WithCartStore(memstore.New()),
		shadow.WithSessionKeys(sk), shadow.WithHTTPClient(fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if _, err := mgr.Provision(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	return fake, map[string]string{"ZITADEL_ISSUER": fake.Issuer(), "ZITADEL_ORG_ID": fake.OrganizationID(),
		"ZITADEL_CLIENT_ID": fake.ClientID(), "ZITADEL_PAT": fake.ServiceAccount().PAT, "SHADOW_POSTGRES_DSN": dsn}
}

func sweep(t *testing.T, fake *zitadeltest.Server, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, func(k string) string { return env[k] }, fake.Client(), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSweepCommand(t *testing.T) {
	t.Parallel()
	fake, env := setup(t, 3, "")
	code, out, _ := sweep(t, fake, env, "-older-than", "1ns", "-allow-live-sessions", "-dry-run")
	if code != 0 || !strings.Contains(out, "eligible 3, deleted 0") || !strings.Contains(out, "dry run") {
		t.Fatalf("dry run: exit %d, %q", code, out)
	}
	code, out, progress := sweep(t, fake, env, "-older-than", "1ns", "-allow-live-sessions", "-max", "2", "-rate", "-1")
	if code != 0 || !strings.Contains(out, "deleted 2") || !strings.Contains(out, "stopped at -max") || !strings.Contains(progress, "scanned") {
		t.Fatalf("capped run: exit %d, %q, progress %q", code, out, progress)
	}
	fake.SetFault(zitadeltest.OpDeleteUser, zitadeltest.APIError(zitadeltest.CodeInternal, "COMMAND-x", "boom"))
	code, out, _ = sweep(t, fake, env, "-older-than", "1ns", "-allow-live-sessions", "-concurrency", "1")
	if code != 1 || !strings.Contains(out, "failed 1") {
		t.Fatalf("failing run: exit %d, %q; want 1", code, out)
	}
}

func TestSweepCommandUsage(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, func(string) string { return "" }, nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "ZITADEL_ISSUER") {
		t.Errorf("without environment: exit %d, %q", code, errOut.String())
	}
	if code := run(context.Background(), []string{"-older-than", "soon"}, func(string) string { return "" }, nil, &out, &errOut); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
}

// TestSweepCommandWithPostgres uses pgstore for carts and its Locker.
func TestSweepCommandWithPostgres(t *testing.T) {
	dsn := os.Getenv("SHADOW_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("SHADOW_TEST_POSTGRES_DSN not set; skipping the PostgreSQL run of the sweep command")
	}
	fake, env := setup(t, 2, dsn)
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	release, ok, err := pgstore.NewLocker(pool).TryLock(t.Context(), "shadow-sweep:"+fake.OrganizationID())
	if err != nil || !ok {
		t.Fatalf("TryLock: %v %v", ok, err)
	}
	if code, _, _ := sweep(t, fake, env, "-older-than", "1ns", "-allow-live-sessions"); code != 3 {
		t.Errorf("while another holds the lock: exit %d, want 3", code)
	}
	if err := release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := sweep(t, fake, env, "-older-than", "1ns", "-allow-live-sessions", "-rate", "-1"); code != 0 || !strings.Contains(out, "deleted 2") {
		t.Errorf("after release: exit %d, %q", code, out)
	}
}
