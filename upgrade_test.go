package shadow_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

var goodProfile = shadow.Profile{GivenName: "Ada", FamilyName: "Lovelace", Email: "ada@example.com", Password: "Analytical-Engine1"}

func TestUpgradeTurnsGuestIntoUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.provision(t)
	e.fake.ResetRequests()

	if _, err := e.mgr.Upgrade(t.Context(), g.ID, goodProfile); err != nil {
		t.Fatalf("Upgrade: %v", err)
	}
	if diff := cmp.Diff(map[string]int{"GetUserByID": 1, "ListUserMetadata": 1, "UpdateUser": 1}, e.calls()); diff != "" {
		t.Errorf("round trips (-want +got):\n%s", diff)
	}
	u := e.user(t, g.ID)
	got := map[string]any{"username": u.Username, "email": u.Email, "verified": u.EmailVerified,
		"given": u.GivenName, "family": u.FamilyName, "display": u.DisplayName, "metadata": len(u.Metadata),
		"code sent": u.EmailCode != ""}
	want := map[string]any{"username": "ada@example.com", "email": "ada@example.com", "verified": false,
		"given": "Ada", "family": "Lovelace", "display": "Ada Lovelace", "metadata": 0, "code sent": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("upgraded user (-want +got):\n%s", diff)
	}
	if !e.fake.CheckPassword(g.ID, goodProfile.Password) {
		t.Error("the new password does not log in")
	}
}

func TestUpgradeRemovesDemoTags(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithDailyTags())
	g := e.provision(t)
	if _, err := e.mgr.Upgrade(t.Context(), g.ID, goodProfile); err != nil {
		t.Fatalf("Upgrade: %v", err)
	}
	if md := e.user(t, g.ID).Metadata; len(md) != 0 {
		t.Errorf("metadata after upgrade = %q, want none", md)
	}
}

// TestUpgradeChangesNothingOnRefusal checks invariant 1 and the atomic
// batch: every refused upgrade leaves the user exactly as it was.
func TestUpgradeChangesNothingOnRefusal(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		target  func(e *env) string
		profile shadow.Profile
		want    func(error) bool
	}{
		{"RegisteredUser", func(e *env) string { return e.addCustomer(t, "reg@example.com") }, goodProfile,
			func(err error) bool { return errors.Is(err, shadow.ErrNotGuest) }},
		{"EmailTaken", func(e *env) string { e.addCustomer(t, goodProfile.Email); return e.provision(t).ID }, goodProfile,
			func(err error) bool { return errors.Is(err, shadow.ErrEmailTaken) }},
		{"WeakPassword", func(e *env) string { return e.provision(t).ID },
			shadow.Profile{GivenName: "A", FamilyName: "B", Email: "weak@example.com", Password: "password"},
			func(err error) bool {
				var ae *shadow.APIError
				return errors.As(err, &ae) && ae.Code == "invalid_argument" && len(ae.ID) > 7 && ae.ID[:7] == "DOMAIN-"
			}},
		{"InvalidProfile", func(e *env) string { return e.provision(t).ID },
			shadow.Profile{GivenName: "", FamilyName: "B", Email: "not an address", Password: "x"},
			func(err error) bool { return errors.Is(err, shadow.ErrInvalidProfile) }},
		{"UnknownUser", func(e *env) string { return "no-such-user" }, goodProfile,
			func(err error) bool { return errors.Is(err, shadow.ErrNotFound) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			id := c.target(e)
			before := e.fake.Users()
			_, err := e.mgr.Upgrade(t.Context(), id, c.profile)
			if !c.want(err) {
				t.Fatalf("Upgrade = %v", err)
			}
			if diff := cmp.Diff(before, e.fake.Users(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("users changed by a refused upgrade (-before +after):\n%s", diff)
			}
			if n := e.fake.Count(zitadeltest.OpUpdateUser); c.name == "RegisteredUser" && n != 0 {
				t.Errorf("UpdateUser sent %d times to a registered user", n)
			}
		})
	}
}
