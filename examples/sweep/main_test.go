package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/pgstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// setup starts a fake with n fresh guests and returns the command's
// environment for it and the guests' ids.
func setup(t *testing.T, n int, dsn string) (*zitadeltest.Server, map[string]string, []string) {
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
	var ids []string
	for range n {
		g, err := mgr.Provision(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, g.ID)
	}
	return fake, map[string]string{"ZITADEL_ISSUER": fake.Issuer(), "ZITADEL_ORG_ID": fake.OrganizationID(),
		"ZITADEL_CLIENT_ID": fake.ClientID(), "ZITADEL_PAT": fake.ServiceAccount().PAT, "SHADOW_POSTGRES_DSN": dsn}, ids
}

func sweep(t *testing.T, fake *zitadeltest.Server, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, func(k string) string { return env[k] }, fake.Client(), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSweepCommand(t *testing.T) {
	t.Parallel()
	fake, env, _ := setup(t, 3, "")
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

// TestSweepCommandKeyFile signs the machine user in with its key file.
func TestSweepCommandKeyFile(t *testing.T) {
	t.Parallel()
	fake, env, _ := setup(t, 2, "")
	path := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(path, fake.ServiceAccount().KeyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	delete(env, "ZITADEL_PAT")
	env["ZITADEL_KEY_FILE"], env["ZITADEL_PROJECT_ID"] = path, fake.ProjectID()
	code, out, errOut := sweep(t, fake, env, "-older-than", "1ns", "-allow-live-sessions", "-rate", "-1")
	if code != 0 || !strings.Contains(out, "deleted 2") {
		t.Fatalf("key-file run: exit %d, %q, %q", code, out, errOut)
	}
	if fake.Count(zitadeltest.OpTokenJWTBearer) == 0 {
		t.Error("no JWT-profile token request: the key file was not used")
	}
}

func TestSweepCommandUsage(t *testing.T) {
	t.Parallel()
	base := map[string]string{"ZITADEL_ISSUER": "https://id.example.com", "ZITADEL_ORG_ID": "o", "ZITADEL_CLIENT_ID": "c"}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"NoEnvironment", nil, nil, "ZITADEL_ISSUER"},
		{"NoCredentials", base, nil, "ZITADEL_PAT or ZITADEL_KEY_FILE"},
		{"BothCredentials", with("ZITADEL_PAT", "p", "ZITADEL_KEY_FILE", "k"), nil, "not both"},
		{"UnreadableKeyFile", with("ZITADEL_KEY_FILE", "/nonexistent/key.json", "ZITADEL_PROJECT_ID", "p"), nil, "ZITADEL_KEY_FILE"},
		{"KeyFileWithoutProject", with("ZITADEL_KEY_FILE", "/nonexistent/key.json"), nil, "ZITADEL_PROJECT_ID"},
		{"OwnerTableWithoutDSN", with("ZITADEL_PAT", "p"), []string{"-owner-table", "saved"}, "needs SHADOW_POSTGRES_DSN"},
		{"BadOwnerTable", with("ZITADEL_PAT", "p"), []string{"-owner-table", ".:x"}, "owner-table"},
		{"BadFlag", with("ZITADEL_PAT", "p"), []string{"-older-than", "soon"}, "older-than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := run(t.Context(), c.args, func(k string) string { return c.env[k] }, nil, &out, &errOut)
			if code != 2 || !strings.Contains(errOut.String(), c.want) {
				t.Errorf("exit %d, %q; want 2 mentioning %q", code, errOut.String(), c.want)
			}
		})
	}
}

// TestSweepCommandWithPostgres uses pgstore for carts and its Locker.
func TestSweepCommandWithPostgres(t *testing.T) {
	dsn := os.Getenv("SHADOW_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("SHADOW_TEST_POSTGRES_DSN not set; skipping the PostgreSQL run of the sweep command")
	}
	fake, env, guests := setup(t, 2, dsn)
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// An app table of saved widgets, with rows of both guests and of a
	// registered user.
	table := "sweep_widgets_" + strings.ToLower(rand.Text()[:10])
	if _, err := pool.Exec(t.Context(), `CREATE TABLE `+table+` (user_id text NOT NULL, widget text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), `DROP TABLE IF EXISTS `+table) })
	for _, owner := range append(guests, "registered-user") {
		if _, err := pool.Exec(t.Context(), `INSERT INTO `+table+` VALUES ($1, 'w')`, owner); err != nil {
			t.Fatal(err)
		}
	}
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
	// Another process (the app, registering guests[1]) holds that guest's
	// lock: the sweep leaves it alone.
	releaseGuest, ok, err := pgstore.NewLocker(pool).TryLock(t.Context(), "shadow-guest:"+guests[1])
	if err != nil || !ok {
		t.Fatalf("TryLock(guest): %v %v", ok, err)
	}
	args := []string{"-older-than", "1ns", "-allow-live-sessions", "-rate", "-1", "-owner-table", table + ":user_id"}
	code, out, errOut := sweep(t, fake, env, args...)
	if code != 0 || !strings.Contains(out, "deleted 1") || !strings.Contains(out, string(shadow.SkipBusy)) {
		t.Fatalf("with a guest locked elsewhere: exit %d, %q, %q; want 1 deleted, 1 busy", code, out, errOut)
	}
	if _, ok := fake.User(guests[1]); !ok {
		t.Fatal("the sweep deleted a guest whose lock another process held")
	}
	if err := releaseGuest(t.Context()); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = sweep(t, fake, env, append(args, "-prune-retired", "720h")...)
	if code != 0 || !strings.Contains(out, "deleted 1") || !strings.Contains(out, "pruned 0") {
		t.Fatalf("after release: exit %d, %q, %q", code, out, errOut)
	}
	var left []string
	rows, _ := pool.Query(t.Context(), `SELECT user_id FROM `+table)
	left, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(left) != 1 || left[0] != "registered-user" {
		t.Errorf("rows left = %v, %v; want only the registered user's", left, err)
	}
	// The swept guests are retired: a late write under one fails.
	_, err = pool.Exec(t.Context(), `INSERT INTO `+table+` VALUES ($1, 'late')`, guests[0])
	if !pgstore.IsOwnerRetired(err) {
		t.Errorf("insert under a swept guest = %v, want the retirement error", err)
	}
}

// FuzzOwnerTableFlag: any -owner-table value is accepted as a table with
// a non-empty name and column, or refused with an error; never a panic.
func FuzzOwnerTableFlag(f *testing.F) {
	for _, s := range []string{"saved", "app.drafts:user_id", ".:x", "a.b.c:d", ":", "t:", "s.:c", "ü.ñ:ö"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		var o ownerTables
		if err := o.Set(v); err != nil {
			if len(o) != 0 {
				t.Errorf("Set(%q) failed but added %v", v, o)
			}
			return
		}
		if len(o) != 1 || o[0].Name == "" || o[0].Column == "" {
			t.Errorf("Set(%q) = %+v, want one table with a name and a column", v, o)
		}
	})
}
