package shadow_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

func TestUpgradeEmailVerification(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		mode         shadow.EmailVerification
		wantVerified bool
		wantReturned bool
	}{
		{shadow.SendCode, false, false},
		{shadow.ReturnCode, false, true},
		{shadow.VerifiedByApp, true, false},
	} {
		e := newEnv(t)
		g := e.provision(t)
		p := goodProfile
		p.Verification = c.mode
		res, err := e.mgr.Upgrade(t.Context(), g.ID, p)
		if err != nil {
			t.Fatalf("mode %d: %v", c.mode, err)
		}
		u := e.user(t, g.ID)
		if u.EmailVerified != c.wantVerified || (res.EmailCode != "") != c.wantReturned {
			t.Errorf("mode %d: verified=%v code returned=%q, want verified=%v returned=%v",
				c.mode, u.EmailVerified, res.EmailCode, c.wantVerified, c.wantReturned)
		}
		if c.wantReturned && res.EmailCode != u.EmailCode {
			t.Errorf("returned code %q, ZITADEL holds %q", res.EmailCode, u.EmailCode)
		}
	}
}

func TestUpgradeWeakPasswordListsRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.provision(t)
	p := goodProfile
	p.Password = "short"
	_, err := e.mgr.Upgrade(t.Context(), g.ID, p)
	var pe *shadow.PasswordPolicyError
	if !errors.Is(err, shadow.ErrWeakPassword) || !errors.As(err, &pe) {
		t.Fatalf("Upgrade with a weak password = %v, want a PasswordPolicyError", err)
	}
	want := []shadow.PasswordRule{shadow.RuleMinLength, shadow.RuleUppercase, shadow.RuleNumber, shadow.RuleSymbol}
	if !slices.Equal(pe.Unmet, want) || pe.MinLength != 8 || pe.Err == nil || pe.Err.ID != "DOMAIN-HuJf6" {
		t.Errorf("PasswordPolicyError = %+v, want %v from the policy and ZITADEL's DOMAIN-HuJf6", pe, want)
	}
	// Without the policy (the settings read fails), ZITADEL's first rule stands.
	e.fake.FailNext(zitadeltest.OpGetPasswordComplexitySettings, zitadeltest.APIError(zitadeltest.CodePermissionDenied, "AUTH-AWfge", "No matching permissions found"))
	_, err = e.mgr.Upgrade(t.Context(), g.ID, p)
	if !errors.As(err, &pe) || !slices.Equal(pe.Unmet, []shadow.PasswordRule{shadow.RuleMinLength}) {
		t.Errorf("without the policy: %v", err)
	}
	if _, ok := e.user(t, g.ID).Metadata["GUEST_CREATED_AT"]; !ok {
		t.Error("the guest lost its tag in a refused upgrade")
	}
}

// TestLegacyMetadataUpgrade covers ZITADEL v4.1–v4.12: the tag is written
// in human.metadata and removed after the UpdateUser, and a failed removal
// never makes the registered user deletable.
func TestLegacyMetadataUpgrade(t *testing.T) {
	t.Parallel()
	t.Run("RemovesTagAfterUpdate", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, shadow.WithLegacyMetadata())
		g := e.provision(t)
		e.fake.ResetRequests()
		if _, err := e.mgr.Upgrade(t.Context(), g.ID, goodProfile); err != nil {
			t.Fatal(err)
		}
		var ops []string
		for _, r := range e.fake.Requests() {
			ops = append(ops, r.Op.String())
		}
		if len(ops) >= 2 { // the two reads run concurrently
			slices.Sort(ops[:2])
		}
		if diff := cmp.Diff([]string{"GetUserByID", "ListUserMetadata", "UpdateUser", "DeleteUserMetadata"}, ops); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
		if md := e.user(t, g.ID).Metadata; len(md) != 0 {
			t.Errorf("metadata after upgrade: %q", md)
		}
	})
	t.Run("FailedUpdateKeepsTag", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, shadow.WithLegacyMetadata())
		g := e.provision(t)
		e.fake.FailNext(zitadeltest.OpUpdateUser, zitadeltest.Unavailable())
		if _, err := e.mgr.Upgrade(t.Context(), g.ID, goodProfile); err == nil {
			t.Fatal("Upgrade succeeded")
		}
		if u := e.user(t, g.ID); len(u.Metadata) != 1 || u.HasPassword {
			t.Errorf("after a failed UpdateUser: %+v, want the untouched tagged guest", u)
		}
	})
	t.Run("FailedTagRemovalLeavesAProtectedUser", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, shadow.WithLegacyMetadata(), shadow.WithRetry(shadow.RetryOptions{MaxAttempts: 1}))
		g := e.provision(t)
		e.fake.FailNext(zitadeltest.OpDeleteUserMetadata, zitadeltest.Unavailable())
		if _, err := e.mgr.Upgrade(t.Context(), g.ID, goodProfile); !errors.Is(err, shadow.ErrTagNotRemoved) {
			t.Fatalf("Upgrade = %v, want ErrTagNotRemoved", err)
		}
		before := e.user(t, g.ID)
		if len(before.Metadata) != 1 || !before.HasPassword {
			t.Fatalf("user = %+v, want registered and still tagged", before)
		}
		other := e.addCustomer(t, "other@example.com")
		if _, err := e.mgr.MergeInto(t.Context(), g.ID, other); !errors.Is(err, shadow.ErrNotGuest) {
			t.Errorf("MergeInto of the registered user = %v, want ErrNotGuest", err)
		}
		e.clock.Advance(365 * 24 * time.Hour)
		rep, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: time.Hour, RequestsPerSecond: -1})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Deleted != 0 || len(rep.Skipped) != 1 || rep.Skipped[0].Reason != shadow.SkipRegistered {
			t.Errorf("sweep report = %+v, want the user skipped as registered", rep)
		}
		if after := e.user(t, g.ID); !cmp.Equal(before, after) {
			t.Errorf("registered user changed:\n%s", cmp.Diff(before, after))
		}
	})
}
