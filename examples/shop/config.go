package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// config is what the shop needs to reach ZITADEL.
type config struct {
	Issuer     string
	OrgID      string
	ClientID   string
	PAT        string
	SessionKey shadow.SessionKey
	// SigninSecret seals the sign-in's per-attempt state cookies (at least
	// 32 bytes).
	SigninSecret []byte
	HTTPClient   *http.Client // nil: http.DefaultClient's transport with a timeout
	// ClientKey names the visitor for the SDK's guest-creation limits
	// (nil: the client's IP address).
	ClientKey func(*http.Request) string
}

var envNames = []string{"ZITADEL_ISSUER", "ZITADEL_ORG_ID", "ZITADEL_CLIENT_ID", "ZITADEL_PAT", "SHOP_SESSION_KEY"}

// configFromEnv reads the environment: nil when none of the variables is
// set (use the embedded fake), an error naming the missing ones when only
// some are.
func configFromEnv(getenv func(string) string) (*config, error) {
	var missing []string
	set := 0
	for _, n := range envNames {
		if getenv(n) == "" {
			missing = append(missing, n)
		} else {
			set++
		}
	}
	if set == 0 {
		return nil, nil
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("set all of %s for a real ZITADEL, or none for the embedded fake; missing: %s",
			strings.Join(envNames, ", "), strings.Join(missing, ", "))
	}
	key, err := shadow.SessionKeyFromPassphrase(getenv("SHOP_SESSION_KEY"))
	if err != nil {
		return nil, fmt.Errorf("SHOP_SESSION_KEY: %w", err)
	}
	return &config{Issuer: getenv("ZITADEL_ISSUER"), OrgID: getenv("ZITADEL_ORG_ID"),
		ClientID: getenv("ZITADEL_CLIENT_ID"), PAT: getenv("ZITADEL_PAT"), SessionKey: key,
		SigninSecret: []byte(getenv("SHOP_SESSION_KEY"))}, nil
}

// The demo customer that exists before the shop starts, with a cart.
const (
	demoEmail    = "dana@shop.example"
	demoPassword = "Demo-Passw0rd!"
)

// embedded is the shop's own fake ZITADEL and its demo customer.
type embedded struct {
	fake   *zitadeltest.Server
	cfg    config
	demoID string
}

// startEmbedded starts a fake ZITADEL on plain HTTP bound to 127.0.0.1 (no
// certificate warning in the browser) that knows the shop's redirect URIs
// and holds the demo customer.
func startEmbedded(baseURL string) (*embedded, error) {
	fake := zitadeltest.NewServer(zitadeltest.WithPlainHTTP())
	base := strings.TrimSuffix(baseURL, "/")
	if err := fake.SetRedirectURIs(fake.ClientID(), base+"/callback", base+"/"); err != nil {
		fake.Close()
		return nil, err
	}
	id, err := fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Dana", FamilyName: "Demo",
		Email: demoEmail, EmailVerified: true, Password: demoPassword})
	if err != nil {
		fake.Close()
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		fake.Close()
		return nil, err
	}
	key, err := shadow.NewSessionKey(secret)
	if err != nil {
		fake.Close()
		return nil, err
	}
	return &embedded{fake: fake, demoID: id, cfg: config{
		Issuer: fake.Issuer(), OrgID: fake.OrganizationID(), ClientID: fake.ClientID(),
		PAT: fake.ServiceAccount().PAT, SessionKey: key, SigninSecret: secret, HTTPClient: fake.Client(),
	}}, nil
}

// seedCart gives the demo customer a mug, so a merge visibly sums.
func (e *embedded) seedCart(ctx context.Context, store shadow.CartStore) error {
	return store.Add(ctx, e.demoID, shadow.Item{SKU: "mug", Quantity: 1})
}

// Close stops the fake.
func (e *embedded) Close() { e.fake.Close() }
