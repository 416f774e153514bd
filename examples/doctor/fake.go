package main

import (
	"fmt"
	"strings"

	"github.com/shadowaccounts/shadow/zitadeltest"
)

// breakage is one way -break misconfigures the fake.
type breakage struct {
	name, what string
	apply      func(f *zitadeltest.Server, c *config) error
}

var breakages = []breakage{
	{"issuer", "discovery announces another issuer", func(f *zitadeltest.Server, _ *config) error {
		f.SetDiscoveryIssuer("https://zitadel.example.com")
		return nil
	}},
	{"pat", "the service account's PAT is revoked", func(f *zitadeltest.Server, _ *config) error {
		f.RevokeTokens(f.ServiceAccount().ID)
		return nil
	}},
	{"org", "the organization id names no organization", func(_ *zitadeltest.Server, c *config) error {
		c.OrgID = "999999999999999999"
		return nil
	}},
	{"user-manager", "the service account is no user manager", func(f *zitadeltest.Server, c *config) error {
		return c.useMachine(f, "no-user-manager", zitadeltest.RoleIAMEndUserImpersonator)
	}},
	{"impersonator", "the service account is no end-user impersonator", func(f *zitadeltest.Server, c *config) error {
		return c.useMachine(f, "no-impersonator", zitadeltest.RoleIAMUserManager)
	}},
	{"grant", "the application lacks the token exchange grant type", func(f *zitadeltest.Server, c *config) error {
		id, err := f.AddApp(zitadeltest.NewApp{Name: "no-exchange", AuthMethod: zitadeltest.AuthMethodNone,
			GrantTypes: []string{"authorization_code"}, JWTAccessToken: true})
		c.ClientID = id
		return err
	}},
	{"impersonation", "the instance's security policy forbids impersonation", func(f *zitadeltest.Server, _ *config) error {
		f.SetImpersonation(false)
		return nil
	}},
	{"audience", "a key file with the wrong project id", func(f *zitadeltest.Server, c *config) error {
		c.PAT, c.KeyFile, c.ProjectID = "", f.ServiceAccount().KeyFile, "123456789012345678"
		return nil
	}},
	{"regression", "ZITADEL v4.15.3's token-exchange scope regression", func(f *zitadeltest.Server, c *config) error {
		f.SetVersion("v4.15.3")
		f.SetScopeRegression(true)
		return c.useMachine(f, "with-iam-read", zitadeltest.RoleIAMUserManager, zitadeltest.RoleIAMEndUserImpersonator,
			zitadeltest.RoleIAMOwnerViewer)
	}},
	{"old", "ZITADEL v4.10.1, too old for atomic metadata", func(f *zitadeltest.Server, c *config) error {
		f.SetVersion("v4.10.1")
		return c.useMachine(f, "with-iam-read", zitadeltest.RoleIAMUserManager, zitadeltest.RoleIAMEndUserImpersonator,
			zitadeltest.RoleIAMOwnerViewer)
	}},
}

// useMachine switches c to a new service account with roles.
func (c *config) useMachine(f *zitadeltest.Server, name string, roles ...zitadeltest.Role) error {
	m, err := f.AddMachineUser(zitadeltest.NewMachine{Username: name, Roles: roles})
	c.PAT = m.PAT
	return err
}

// startFake starts the embedded fake, misconfigured by the breakage named
// brk ("" for none), and returns the configuration that reaches it.
func startFake(brk string) (*zitadeltest.Server, config, error) {
	f := zitadeltest.NewServer()
	c := config{Issuer: f.Issuer(), OrgID: f.OrganizationID(), ClientID: f.ClientID(),
		PAT: f.ServiceAccount().PAT, HTTPClient: f.Client()}
	if brk == "" {
		return f, c, nil
	}
	for _, b := range breakages {
		if b.name == brk {
			if err := b.apply(f, &c); err != nil {
				f.Close()
				return nil, config{}, err
			}
			return f, c, nil
		}
	}
	f.Close()
	var names []string
	for _, b := range breakages {
		names = append(names, b.name)
	}
	return nil, config{}, fmt.Errorf("-break %q: want one of %s", brk, strings.Join(names, ", "))
}
