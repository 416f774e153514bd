package shadow_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

func TestUpgradeWithoutPassword(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		p       shadow.PasswordlessProfile
		code    func(e *env, id string, res shadow.PasswordlessResult) bool
		emailOK bool // e-mail verified after the upgrade (never: invariant 4)
		op      zitadeltest.Operation
	}{
		{"invite code returned", shadow.PasswordlessProfile{ReturnCode: true},
			func(e *env, id string, res shadow.PasswordlessResult) bool {
				code, _ := e.fake.InviteCode(id)
				return res.InviteCode != "" && res.InviteCode == code
			}, false, zitadeltest.OpCreateInviteCode},
		{"invite code mailed", shadow.PasswordlessProfile{URLTemplate: "https://shop.example/invite?u={{.UserID}}&c={{.Code}}", ApplicationName: "Shop"},
			func(e *env, id string, res shadow.PasswordlessResult) bool {
				_, ok := e.fake.InviteCode(id)
				return ok && res == (shadow.PasswordlessResult{GuestID: id, AccountID: id}) // no code returned
			}, false, zitadeltest.OpCreateInviteCode},
		{"passkey code returned", shadow.PasswordlessProfile{Credential: shadow.PasskeyLink, ReturnCode: true, Verification: shadow.ReturnCode},
			func(e *env, id string, res shadow.PasswordlessResult) bool {
				codeID, code, _ := e.fake.PasskeyRegistrationCode(id)
				return res.PasskeyCode == code && res.PasskeyCodeID == codeID && code != "" && res.EmailCode != ""
			}, false, zitadeltest.OpCreatePasskeyRegistrationLink},
		{"passkey link mailed", shadow.PasswordlessProfile{Credential: shadow.PasskeyLink},
			func(e *env, id string, res shadow.PasswordlessResult) bool {
				_, _, ok := e.fake.PasskeyRegistrationCode(id)
				return ok && res.PasskeyCode == ""
			}, false, zitadeltest.OpCreatePasskeyRegistrationLink},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			g := e.provision(t)
			p := c.p
			p.GivenName, p.FamilyName, p.Email = "Ada", "Lovelace", "ada@example.com"
			res, err := e.mgr.UpgradeWithoutPassword(t.Context(), g.ID, p)
			if err != nil {
				t.Fatalf("UpgradeWithoutPassword: %v", err)
			}
			u := e.user(t, g.ID)
			got := struct {
				Username, Email, Given string
				Verified, Password     bool
				Tags                   int
			}{u.Username, u.Email, u.GivenName, u.EmailVerified, u.HasPassword, len(u.Metadata)}
			want := got
			want.Username, want.Email, want.Given, want.Verified, want.Password, want.Tags = "ada@example.com", "ada@example.com", "Ada", c.emailOK, false, 0
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("upgraded user (-want +got):\n%s", diff)
			}
			if !c.code(e, g.ID, res) {
				t.Errorf("result %+v does not match the fake's codes", res)
			}
			if n := e.fake.Count(c.op); n != 1 {
				t.Errorf("%v sent %d times, want 1", c.op, n)
			}
			if _, err := e.mgr.UpgradeWithoutPassword(t.Context(), g.ID, p); !errors.Is(err, shadow.ErrNotGuest) {
				t.Errorf("second upgrade: %v, want ErrNotGuest", err)
			}
		})
	}
}

func TestUpgradeWithoutPasswordRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	customer := e.addCustomer(t, "bob@example.com")
	ok := shadow.PasswordlessProfile{GivenName: "Ada", FamilyName: "Lovelace", Email: "ada@example.com"}
	for _, c := range []struct {
		name string
		id   string
		p    shadow.PasswordlessProfile
		want error
	}{
		{"registered user", customer, ok, shadow.ErrNotGuest},
		{"no such user", "nobody", ok, shadow.ErrNotFound},
		{"bad e-mail", "x", shadow.PasswordlessProfile{GivenName: "A", FamilyName: "B", Email: "A <a@b.c>"}, shadow.ErrInvalidProfile},
		{"no names", "x", shadow.PasswordlessProfile{Email: "a@b.example"}, shadow.ErrInvalidProfile},
		{"unknown credential", "x", shadow.PasswordlessProfile{GivenName: "A", FamilyName: "B", Email: "a@b.example", Credential: 7}, shadow.ErrInvalidProfile},
	} {
		if _, err := e.mgr.UpgradeWithoutPassword(t.Context(), c.id, c.p); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if u := e.user(t, customer); u.GivenName != "Reg" {
		t.Errorf("registered user changed: %+v", u)
	}
	// Taken e-mail: nothing changes.
	g := e.provision(t)
	taken := ok
	taken.Email = "bob@example.com"
	if _, err := e.mgr.UpgradeWithoutPassword(t.Context(), g.ID, taken); !errors.Is(err, shadow.ErrEmailTaken) {
		t.Errorf("taken e-mail: %v, want ErrEmailTaken", err)
	}
	if u := e.user(t, g.ID); len(u.Metadata) == 0 {
		t.Error("guest lost its tag after a refused upgrade")
	}
	// The credential RPC fails after the upgrade: typed, the user upgraded.
	e.fake.FailNext(zitadeltest.OpCreateInviteCode, zitadeltest.Unavailable())
	if _, err := e.mgr.UpgradeWithoutPassword(t.Context(), g.ID, ok); !errors.Is(err, shadow.ErrCredentialNotCreated) || !errors.Is(err, shadow.ErrUnavailable) {
		t.Errorf("invite code failure: %v, want ErrCredentialNotCreated wrapping ErrUnavailable", err)
	} else if n := strings.Count(err.Error(), "shadow:"); n != 1 {
		t.Errorf("message %q says shadow: %d times", err, n)
	}
	if u := e.user(t, g.ID); len(u.Metadata) != 0 || u.Username != "ada@example.com" {
		t.Errorf("user after the credential failure: %+v", u)
	}
}
