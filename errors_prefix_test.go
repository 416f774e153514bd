package shadow_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// checkOnePrefix fails unless err's message starts with "shadow: " and
// holds it only there.
func checkOnePrefix(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); !strings.HasPrefix(msg, "shadow: ") || strings.Count(msg, "shadow:") != 1 {
		t.Errorf("message %q: want exactly one leading \"shadow: \"", msg)
	}
}

// Every error a failing call returns names the SDK once, however many
// layers wrap it, and still matches its sentinels.
func TestOnePrefixPerMessage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		run  func(t *testing.T, e *env) error
		is   error
	}{
		{"network failure", func(t *testing.T, e *env) error {
			e.fake.SetFault(zitadeltest.OpCreateUser, zitadeltest.DropConnection())
			_, err := e.mgr.Provision(t.Context())
			return err
		}, shadow.ErrUnavailable},
		{"outage", func(t *testing.T, e *env) error {
			e.fake.SetFault(zitadeltest.OpCreateUser, zitadeltest.Unavailable())
			_, err := e.mgr.Provision(t.Context())
			return err
		}, shadow.ErrUnavailable},
		{"e-mail taken", func(t *testing.T, e *env) error {
			e.addCustomer(t, goodProfile.Email)
			_, err := e.mgr.Upgrade(t.Context(), e.provision(t).ID, goodProfile)
			return err
		}, shadow.ErrEmailTaken},
		{"cancelled", func(t *testing.T, e *env) error {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			_, err := e.mgr.Provision(ctx)
			return err
		}, context.Canceled},
		{"exchange refused", func(t *testing.T, e *env) error {
			e.fake.SetImpersonation(false)
			_, err := e.mgr.Impersonate(t.Context(), e.provision(t).ID)
			return err
		}, shadow.ErrImpersonationDisabled},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			err := c.run(t, e)
			if !errors.Is(err, c.is) {
				t.Fatalf("err = %v, want %v", err, c.is)
			}
			checkOnePrefix(t, err)
		})
	}
}
