package shadow_test

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

func TestImpersonateIssuesGuestJWT(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.provision(t)
	e.fake.ResetRequests()

	tok, err := e.mgr.Impersonate(t.Context(), g.ID)
	if err != nil {
		t.Fatalf("Impersonate: %v", err)
	}
	if diff := cmp.Diff(map[string]int{"TokenExchange": 1, "GetUserByID": 1}, e.calls()); diff != "" {
		t.Errorf("round trips (-want +got):\n%s", diff)
	}
	if tok.TokenType != "Bearer" || tok.IssuedTokenType != "urn:ietf:params:oauth:token-type:jwt" || tok.IDToken == "" {
		t.Errorf("Token = %+v", tok)
	}
	if want := e.clock.Now().Add(12 * time.Hour); tok.Expiry.Sub(want).Abs() > 2*time.Second {
		t.Errorf("Expiry = %v, want about %v", tok.Expiry, want)
	}
	c := jwtClaims(t, tok.AccessToken)
	act, _ := c["act"].(map[string]any)
	if c["sub"] != g.ID || act["sub"] != e.fake.ServiceAccount().ID || act["iss"] != e.fake.Issuer() {
		t.Errorf("claims sub=%v act=%v, want sub %s acted by %s", c["sub"], c["act"], g.ID, e.fake.ServiceAccount().ID)
	}
	md, _ := c["urn:zitadel:iam:user:metadata"].(map[string]any)
	v, _ := md["GUEST_CREATED_AT"].(string)
	if raw, err := base64.RawURLEncoding.DecodeString(v); err != nil || string(raw) != "2026-11-21T09:30:00Z" {
		t.Errorf("metadata claim = %v, want the guest tag in base64url", md)
	}
}

func TestImpersonateRefusesNonGuests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	customer := e.addCustomer(t, "customer@example.com")
	withOtherMetadata, err := e.fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "M", FamilyName: "D",
		Email: "md@example.com", Metadata: map[string][]byte{"PLAN": []byte("gold")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{customer, withOtherMetadata} {
		if _, err := e.mgr.Impersonate(t.Context(), id); !errors.Is(err, shadow.ErrNotGuest) {
			t.Errorf("Impersonate(registered %s) = %v, want ErrNotGuest", id, err)
		}
	}
}

func TestImpersonateErrors(t *testing.T) {
	t.Parallel()
	t.Run("UnknownUser", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.mgr.Impersonate(t.Context(), "no-such-user")
		var oe *shadow.OAuthError
		if !errors.Is(err, shadow.ErrNotFound) || !errors.As(err, &oe) || oe.Description != "subject_token invalid" {
			t.Fatalf("Impersonate(unknown) = %v, want ErrNotFound from invalid_request subject_token invalid", err)
		}
	})
	t.Run("PolicyDisabled", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		g := e.provision(t)
		e.fake.SetImpersonation(false)
		_, err := e.mgr.Impersonate(t.Context(), g.ID)
		var oe *shadow.OAuthError
		if !errors.Is(err, shadow.ErrImpersonationDisabled) || !errors.As(err, &oe) || oe.HTTPStatus != 403 {
			t.Fatalf("Impersonate with impersonation off = %v, want 403 ErrImpersonationDisabled", err)
		}
	})
	t.Run("ActorWithoutImpersonatorRole", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		g := e.provision(t)
		m, err := e.fake.AddMachineUser(zitadeltest.NewMachine{Username: "manager-only",
			Roles: []zitadeltest.Role{zitadeltest.RoleIAMUserManager}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.withPAT(t, m.PAT).Impersonate(t.Context(), g.ID); !errors.Is(err, shadow.ErrPermissionDenied) {
			t.Fatalf("Impersonate by an actor without IAM_END_USER_IMPERSONATOR = %v, want ErrPermissionDenied", err)
		}
	})
	t.Run("ProjectionLagAfterProvision", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.fake.SetProjectionLag(time.Hour)
		rec := newRecorder()
		s, err := e.mgr.EnsureGuest(rec, newRequest(t, nil))
		if err != nil {
			t.Fatalf("EnsureGuest under projection lag: %v", err)
		}
		if n := e.fake.Count(zitadeltest.OpTokenExchange); n < 2 {
			t.Errorf("token exchange sent %d times, want a retry after the lag answer", n)
		}
		if s.GuestID == "" || s.Token.AccessToken == "" {
			t.Errorf("session = %+v", s)
		}
	})
}
