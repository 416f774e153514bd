package shadow_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

func TestProvisionCreatesTaggedGuest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.provision(t)

	if len(g.ID) != 32 {
		t.Errorf("guest id %q: want 32 hex digits", g.ID)
	}
	if want := e.clock.Now(); !g.CreatedAt.Equal(want) || g.OrganizationID != e.fake.OrganizationID() {
		t.Errorf("Guest = %+v, want CreatedAt %v in org %s", g, want, e.fake.OrganizationID())
	}
	u := e.user(t, g.ID)
	email := "guest-" + g.ID + "@guest.invalid"
	got := map[string]any{"username": u.Username, "email": u.Email, "verified": u.EmailVerified,
		"given": u.GivenName, "family": u.FamilyName, "org": u.OrganizationID, "tag": string(u.Metadata["GUEST_CREATED_AT"]),
		"code": u.EmailCode}
	want := map[string]any{"username": email, "email": email, "verified": false, "given": "Guest", "family": "User",
		"org": e.fake.OrganizationID(), "tag": "2026-11-21T09:30:00Z", "code": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("guest in ZITADEL (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"CreateUser": 1}, e.calls()); diff != "" {
		t.Errorf("round trips (-want +got):\n%s", diff)
	}
}

func TestProvisionOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithGuestEmailDomain("guests.example.org"), shadow.WithGuestName("Anon", "Shopper"),
		shadow.WithDailyTags())
	g := e.provision(t)
	u := e.user(t, g.ID)
	if u.Email != "guest-"+g.ID+"@guests.example.org" || u.GivenName != "Anon" || u.FamilyName != "Shopper" {
		t.Errorf("guest = %+v", u)
	}
	if v, ok := u.Metadata["GUEST_26_11_21"]; !ok || string(v) != "2026-11-21T09:30:00Z" {
		t.Errorf("daily tag: metadata = %q", u.Metadata)
	}
}

// TestProvisionRetriesAndStaysIdempotent drops the first CreateUser answer
// after the user was created: the retry meets "already existing" and
// Provision still returns the one guest.
func TestProvisionRetriesAndStaysIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.FailNext(zitadeltest.OpCreateUser, zitadeltest.DropAfterCommit())
	g := e.provision(t)
	if _, ok := e.fake.User(g.ID); !ok {
		t.Fatal("guest missing")
	}
	if n := len(e.fake.Users()); n != 2 { // the service account and the guest
		t.Errorf("%d users in the fake, want the service account and one guest", n)
	}
	if n := e.fake.Count(zitadeltest.OpCreateUser); n != 2 {
		t.Errorf("CreateUser sent %d times, want 2 (one retry)", n)
	}
}

func TestProvisionErrors(t *testing.T) {
	t.Parallel()
	t.Run("PermissionDenied", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		weak, err := e.fake.AddMachineUser(zitadeltest.NewMachine{Username: "weak",
			Roles: []zitadeltest.Role{zitadeltest.RoleIAMEndUserImpersonator}})
		if err != nil {
			t.Fatal(err)
		}
		mgr := e.withPAT(t, weak.PAT)
		_, err = mgr.Provision(t.Context())
		var ae *shadow.APIError
		if !errors.Is(err, shadow.ErrPermissionDenied) || !errors.As(err, &ae) || ae.HTTPStatus != http.StatusForbidden {
			t.Fatalf("Provision without IAM_USER_MANAGER = %v, want a 403 APIError matching ErrPermissionDenied", err)
		}
		if ae.Code != "permission_denied" || ae.ID == "" || ae.Method != "CreateUser" {
			t.Errorf("APIError = %+v", ae)
		}
	})
	t.Run("BadPAT", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.withPAT(t, "not-a-token").Provision(t.Context())
		var ae *shadow.APIError
		if !errors.As(err, &ae) || ae.HTTPStatus != http.StatusUnauthorized || ae.Code != "unauthenticated" {
			t.Fatalf("Provision with a bad PAT = %v, want 401 unauthenticated", err)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := e.mgr.Provision(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Provision with a cancelled ctx = %v", err)
		}
	})
	t.Run("RateLimitedAfterRetries", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.fake.SetFault(zitadeltest.OpCreateUser, zitadeltest.RateLimited(0))
		_, err := e.mgr.Provision(t.Context())
		if !errors.Is(err, shadow.ErrRateLimited) {
			t.Fatalf("Provision under a persistent 429 = %v, want ErrRateLimited", err)
		}
		if n := e.fake.Count(zitadeltest.OpCreateUser); n != 4 {
			t.Errorf("CreateUser sent %d times, want 4 (default attempts)", n)
		}
	})
}

// withPAT returns a Manager on the same fake acting as another machine user.
func (e *env) withPAT(t *testing.T, pat string) *shadow.Manager {
	t.Helper()
	return e.withOptions(t, shadow.WithCredentials(shadow.PAT(pat)))
}
