package shadow_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/internal/zitadel"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// allSteps are Check's steps in order.
var allSteps = []shadow.CheckStep{
	shadow.StepDiscovery, shadow.StepCredentials, shadow.StepAPIAccess, shadow.StepUserManager,
	shadow.StepMetadataSearch, shadow.StepApplication, shadow.StepImpersonationPolicy,
	shadow.StepProjectAudience, shadow.StepScopeRegression, shadow.StepImpersonator,
	shadow.StepTokenType, shadow.StepVersion, shadow.StepCleanup,
}

// wantStatuses is every step ok, the version skipped (the seeded service
// account may not read the instance), with the overrides applied.
func wantStatuses(over map[shadow.CheckStep]shadow.CheckStatus) []string {
	var out []string
	for _, s := range allSteps {
		st := shadow.CheckOK
		if s == shadow.StepVersion {
			st = shadow.CheckSkipped
		}
		if o, ok := over[s]; ok {
			st = o
		}
		out = append(out, string(s)+": "+st.String())
	}
	return out
}

func gotStatuses(rep shadow.CheckReport) []string {
	var out []string
	for _, r := range rep.Results {
		out = append(out, string(r.Step)+": "+r.Status.String())
	}
	return out
}

// skippedFrom marks steps as skipped.
func skippedFrom(over map[shadow.CheckStep]shadow.CheckStatus, steps ...shadow.CheckStep) map[shadow.CheckStep]shadow.CheckStatus {
	for _, s := range steps {
		over[s] = shadow.CheckSkipped
	}
	return over
}

// guestsLeft counts the human users in the fake: the seeded state has none.
func guestsLeft(fake *zitadeltest.Server) int {
	n := 0
	for _, u := range fake.Users() {
		if u.Type == zitadeltest.Human {
			n++
		}
	}
	return n
}

func TestCheckFindsEachMisconfiguration(t *testing.T) {
	t.Parallel()
	const (
		fail = shadow.CheckFail
		skip = shadow.CheckSkipped
		warn = shadow.CheckWarn
	)
	tests := []struct {
		name string
		// setup misconfigures the fake and returns extra Manager options.
		setup    func(t *testing.T, e *env) []shadow.Option
		want     map[shadow.CheckStep]shadow.CheckStatus
		failStep shadow.CheckStep // the step whose Fix must be set; "" for none
		fixHas   string           // a word the fix must contain
	}{
		{
			name:  "working setup",
			setup: func(*testing.T, *env) []shadow.Option { return nil },
			want:  map[shadow.CheckStep]shadow.CheckStatus{},
		},
		{
			name: "application with opaque access tokens still gets JWTs on request",
			setup: func(t *testing.T, e *env) []shadow.Option {
				return []shadow.Option{shadow.WithClientID(e.app(t, zitadeltest.NewApp{Name: "opaque", AuthMethod: zitadeltest.AuthMethodNone,
					GrantTypes: []string{zitadel.GrantTokenExchange}}))}
			},
			want: map[shadow.CheckStep]shadow.CheckStatus{},
		},
		{
			name: "client credentials with the project audience",
			setup: func(_ *testing.T, e *env) []shadow.Option {
				sa := e.fake.ServiceAccount()
				return []shadow.Option{shadow.WithCredentials(shadow.ClientCredentials(sa.ClientID, sa.ClientSecret)),
					shadow.WithProjectID(e.fake.ProjectID())}
			},
			want: map[shadow.CheckStep]shadow.CheckStatus{},
		},
		{
			name: "wrong issuer in discovery",
			setup: func(_ *testing.T, e *env) []shadow.Option {
				e.fake.SetDiscoveryIssuer("https://zitadel.example.com")
				return nil
			},
			want:     map[shadow.CheckStep]shadow.CheckStatus{shadow.StepDiscovery: fail},
			failStep: shadow.StepDiscovery, fixHas: "https://zitadel.example.com",
		},
		{
			name: "PAT revoked",
			setup: func(_ *testing.T, e *env) []shadow.Option {
				e.fake.RevokeTokens(e.fake.ServiceAccount().ID)
				return nil
			},
			want: skippedFrom(map[shadow.CheckStep]shadow.CheckStatus{shadow.StepAPIAccess: fail},
				shadow.StepUserManager, shadow.StepMetadataSearch, shadow.StepApplication, shadow.StepImpersonationPolicy,
				shadow.StepProjectAudience, shadow.StepScopeRegression, shadow.StepImpersonator, shadow.StepTokenType,
				shadow.StepCleanup),
			failStep: shadow.StepAPIAccess, fixHas: "Personal Access Tokens",
		},
		{
			name: "organization unknown",
			setup: func(*testing.T, *env) []shadow.Option {
				return []shadow.Option{shadow.WithOrganization("999999999999999999")}
			},
			want: skippedFrom(map[shadow.CheckStep]shadow.CheckStatus{shadow.StepUserManager: fail},
				shadow.StepMetadataSearch, shadow.StepApplication, shadow.StepImpersonationPolicy,
				shadow.StepProjectAudience, shadow.StepScopeRegression, shadow.StepImpersonator, shadow.StepTokenType,
				shadow.StepCleanup),
			failStep: shadow.StepUserManager, fixHas: "ZITADEL_ORG_ID",
		},
		{
			name: "user manager role missing",
			setup: func(t *testing.T, e *env) []shadow.Option {
				return []shadow.Option{shadow.WithCredentials(shadow.PAT(e.machine(t, zitadeltest.RoleIAMEndUserImpersonator).PAT))}
			},
			want: skippedFrom(map[shadow.CheckStep]shadow.CheckStatus{shadow.StepUserManager: fail},
				shadow.StepMetadataSearch, shadow.StepApplication, shadow.StepImpersonationPolicy,
				shadow.StepProjectAudience, shadow.StepScopeRegression, shadow.StepImpersonator, shadow.StepTokenType,
				shadow.StepCleanup),
			failStep: shadow.StepUserManager, fixHas: "IAM User Manager",
		},
		{
			name: "application without the token exchange grant",
			setup: func(t *testing.T, e *env) []shadow.Option {
				return []shadow.Option{shadow.WithClientID(e.app(t, zitadeltest.NewApp{Name: "no-exchange", AuthMethod: zitadeltest.AuthMethodNone,
					GrantTypes: []string{zitadel.GrantAuthorizationCode}, JWTAccessToken: true}))}
			},
			want: skippedFrom(map[shadow.CheckStep]shadow.CheckStatus{shadow.StepApplication: fail},
				shadow.StepImpersonationPolicy, shadow.StepProjectAudience, shadow.StepScopeRegression,
				shadow.StepImpersonator, shadow.StepTokenType),
			failStep: shadow.StepApplication, fixHas: "Token Exchange",
		},
		{
			name: "impersonation policy off",
			setup: func(_ *testing.T, e *env) []shadow.Option {
				e.fake.SetImpersonation(false)
				return nil
			},
			want: skippedFrom(map[shadow.CheckStep]shadow.CheckStatus{shadow.StepImpersonationPolicy: fail},
				shadow.StepProjectAudience, shadow.StepScopeRegression, shadow.StepImpersonator, shadow.StepTokenType),
			failStep: shadow.StepImpersonationPolicy, fixHas: "Security Policy",
		},
		{
			name: "key file without the project audience",
			setup: func(t *testing.T, e *env) []shadow.Option {
				cr, err := shadow.KeyFile(e.fake.ServiceAccount().KeyFile)
				if err != nil {
					t.Fatal(err)
				}
				return []shadow.Option{shadow.WithCredentials(cr), shadow.WithProjectID("123456789012345678")}
			},
			want: skippedFrom(map[shadow.CheckStep]shadow.CheckStatus{shadow.StepProjectAudience: fail},
				shadow.StepScopeRegression, shadow.StepImpersonator, shadow.StepTokenType),
			failStep: shadow.StepProjectAudience, fixHas: "ZITADEL_PROJECT_ID",
		},
		{
			name: "ZITADEL v4.15.3 scope regression",
			setup: func(_ *testing.T, e *env) []shadow.Option {
				e.fake.SetScopeRegression(true)
				return nil
			},
			want: skippedFrom(map[shadow.CheckStep]shadow.CheckStatus{shadow.StepScopeRegression: fail},
				shadow.StepImpersonator, shadow.StepTokenType),
			failStep: shadow.StepScopeRegression, fixHas: "#12312",
		},
		{
			name: "impersonator role missing",
			setup: func(t *testing.T, e *env) []shadow.Option {
				return []shadow.Option{shadow.WithCredentials(shadow.PAT(e.machine(t, zitadeltest.RoleIAMUserManager).PAT))}
			},
			want: skippedFrom(map[shadow.CheckStep]shadow.CheckStatus{shadow.StepImpersonator: fail},
				shadow.StepTokenType),
			failStep: shadow.StepImpersonator, fixHas: "End User Impersonator",
		},
		{
			name: "version readable",
			setup: func(t *testing.T, e *env) []shadow.Option {
				return []shadow.Option{shadow.WithCredentials(shadow.PAT(e.machine(t, zitadeltest.RoleIAMUserManager,
					zitadeltest.RoleIAMEndUserImpersonator, zitadeltest.RoleIAMOwnerViewer).PAT))}
			},
			want: map[shadow.CheckStep]shadow.CheckStatus{shadow.StepVersion: shadow.CheckOK},
		},
		{
			name: "version too old for atomic metadata",
			setup: func(t *testing.T, e *env) []shadow.Option {
				e.fake.SetVersion("v4.10.1")
				return []shadow.Option{shadow.WithCredentials(shadow.PAT(e.machine(t, zitadeltest.RoleIAMUserManager,
					zitadeltest.RoleIAMEndUserImpersonator, zitadeltest.RoleIAMOwnerViewer).PAT))}
			},
			want:     map[shadow.CheckStep]shadow.CheckStatus{shadow.StepVersion: fail},
			failStep: shadow.StepVersion, fixHas: "WithLegacyMetadata",
		},
		{
			name: "legacy metadata on v4.12",
			setup: func(t *testing.T, e *env) []shadow.Option {
				e.fake.SetVersion("v4.12.2")
				return []shadow.Option{shadow.WithLegacyMetadata(), shadow.WithCredentials(shadow.PAT(e.machine(t,
					zitadeltest.RoleIAMUserManager, zitadeltest.RoleIAMEndUserImpersonator, zitadeltest.RoleIAMOwnerViewer).PAT))}
			},
			want: map[shadow.CheckStep]shadow.CheckStatus{shadow.StepVersion: warn},
		},
		{
			name: "token endpoint unavailable",
			setup: func(_ *testing.T, e *env) []shadow.Option {
				e.fake.SetFault(zitadeltest.OpTokenExchange, zitadeltest.Unavailable())
				return nil
			},
			want: skippedFrom(map[shadow.CheckStep]shadow.CheckStatus{shadow.StepApplication: fail},
				shadow.StepImpersonationPolicy, shadow.StepProjectAudience, shadow.StepScopeRegression,
				shadow.StepImpersonator, shadow.StepTokenType),
			failStep: shadow.StepApplication, fixHas: "again later",
		},
		{
			name: "check guest cannot be deleted",
			setup: func(_ *testing.T, e *env) []shadow.Option {
				e.fake.SetFault(zitadeltest.OpDeleteUser, zitadeltest.APIError(zitadeltest.CodeInternal, "COMMAND-x", "boom"))
				return nil
			},
			want:     map[shadow.CheckStep]shadow.CheckStatus{shadow.StepCleanup: fail},
			failStep: shadow.StepCleanup, fixHas: "Sweep",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			mgr := e.withOptions(t, tc.setup(t, e)...)
			rep, err := mgr.Check(t.Context())
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if diff := cmp.Diff(wantStatuses(tc.want), gotStatuses(rep)); diff != "" {
				t.Errorf("statuses (-want +got):\n%s\nreport:\n%s", diff, rep)
			}
			if rep.OK() != (tc.failStep == "") {
				t.Errorf("OK() = %v with fail step %q", rep.OK(), tc.failStep)
			}
			for _, r := range rep.Results {
				if (r.Status == shadow.CheckFail || r.Status == shadow.CheckWarn) && r.Fix == "" {
					t.Errorf("%s: %s without a fix", r.Step, r.Status)
				}
			}
			if tc.failStep != "" {
				r, _ := rep.Result(tc.failStep)
				if !strings.Contains(r.Fix, tc.fixHas) {
					t.Errorf("%s fix %q lacks %q", tc.failStep, r.Fix, tc.fixHas)
				}
			}
			e.fake.ClearFaults()
			if tc.failStep == shadow.StepCleanup {
				if n := guestsLeft(e.fake); n != 1 {
					t.Errorf("%d users left, want the one whose deletion failed", n)
				}
				return
			}
			if n := guestsLeft(e.fake); n != 0 {
				t.Errorf("Check left %d users behind:\n%s", n, rep)
			}
		})
	}
}

func TestCheckReportsVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.SetVersion("v4.15.3")
	mgr := e.withOptions(t, shadow.WithCredentials(shadow.PAT(e.machine(t, zitadeltest.RoleIAMUserManager,
		zitadeltest.RoleIAMEndUserImpersonator, zitadeltest.RoleIAMOwnerViewer).PAT)))
	rep, err := mgr.Check(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Version != "v4.15.3" {
		t.Errorf("Version = %q, want v4.15.3", rep.Version)
	}
	out := rep.String()
	for _, want := range []string{"ok      discovery and issuer: issuer " + e.fake.Issuer(), "ZITADEL version: v4.15.3"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// TestCheckCleansUpWhenCtxEnds: the check guest is deleted even when the
// caller's ctx ends right after it was created.
func TestCheckCleansUpWhenCtxEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	mgr := e.withOptions(t, shadow.WithObserver(func(ev shadow.Event) {
		if ev.Kind == shadow.EventProvisioned {
			cancel()
		}
	}))
	rep, err := mgr.Check(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Check = %v, want context.Canceled", err)
	}
	if r, ok := rep.Result(shadow.StepCleanup); !ok || r.Status != shadow.CheckOK {
		t.Errorf("cleanup = %+v, want ok\n%s", r, rep)
	}
	if n := guestsLeft(e.fake); n != 0 {
		t.Errorf("Check left %d users behind", n)
	}
}

func TestCheckUnreachable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.Close()
	rep, err := e.mgr.Check(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{string(shadow.StepDiscovery) + ": FAIL"}
	for _, s := range allSteps[1:] {
		want = append(want, string(s)+": skipped")
	}
	if diff := cmp.Diff(want, gotStatuses(rep)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// machine adds a service account with roles.
func (e *env) machine(t *testing.T, roles ...zitadeltest.Role) zitadeltest.MachineUser {
	t.Helper()
	m, err := e.fake.AddMachineUser(zitadeltest.NewMachine{Username: "svc-" + strings.ToLower(t.Name()[len(t.Name())-8:]), Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// app adds an application.
func (e *env) app(t *testing.T, a zitadeltest.NewApp) string {
	t.Helper()
	id, err := e.fake.AddApp(a)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestCheckSweepOnlyManager: a Manager without WithClientID exchanges no
// tokens, so the doctor skips those steps instead of failing them.
func TestCheckSweepOnlyManager(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mgr := e.withOptions(t, shadow.WithClientID(""))
	rep, err := mgr.Check(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := wantStatuses(skippedFrom(map[shadow.CheckStep]shadow.CheckStatus{}, shadow.StepApplication,
		shadow.StepImpersonationPolicy, shadow.StepProjectAudience, shadow.StepScopeRegression,
		shadow.StepImpersonator, shadow.StepTokenType))
	if diff := cmp.Diff(want, gotStatuses(rep)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s\n%s", diff, rep)
	}
	if n := guestsLeft(e.fake); n != 0 {
		t.Errorf("Check left %d users behind", n)
	}
}
