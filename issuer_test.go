package shadow_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// TestExactIssuer runs the JWT profile grant, a private_key_jwt token
// exchange and the Verifier against a fake whose issuer ends in "/": they
// work with the issuer exactly as discovery states it, and fail with the
// slash trimmed (OpenID Connect compares issuers byte for byte).
func TestExactIssuer(t *testing.T) {
	t.Parallel()
	fake := zitadeltest.Start(t, zitadeltest.WithTrailingSlashIssuer())
	if !strings.HasSuffix(fake.Issuer(), "/") {
		t.Fatalf("Issuer() = %q, want a trailing slash", fake.Issuer())
	}
	keyFile, pub := applicationKeyFile(t, "pending")
	jwtID, err := fake.AddApp(zitadeltest.NewApp{Name: "jwt", GrantTypes: []string{"urn:ietf:params:oauth:grant-type:token-exchange"},
		AuthMethod: zitadeltest.AuthMethodPrivateKeyJWT, KeyID: "app-key-1", PublicKey: pub, JWTAccessToken: true})
	if err != nil {
		t.Fatal(err)
	}
	var kf map[string]string
	_ = json.Unmarshal(keyFile, &kf)
	kf["clientId"] = jwtID
	keyFile, _ = json.Marshal(kf)
	creds, err := shadow.KeyFile(fake.ServiceAccount().KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	manager := func(t *testing.T, issuer string) *shadow.Manager {
		t.Helper()
		m, err := shadow.New(issuer, shadow.WithOrganization(fake.OrganizationID()), shadow.WithClientID(jwtID),
			shadow.WithClientKey(keyFile), shadow.WithProjectID(fake.ProjectID()), shadow.WithCredentials(creds),
			shadow.WithHTTPClient(fake.Client()), shadow.WithCartStore(memstore.New()), shadow.WithRetry(shadow.RetryOptions{MaxAttempts: 1}))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	t.Run("exact", func(t *testing.T) {
		t.Parallel()
		m := manager(t, fake.Issuer())
		g, err := m.Provision(t.Context()) // JWT profile grant: aud = the exact issuer
		if err != nil {
			t.Fatalf("Provision: %v", err)
		}
		tok, err := m.Impersonate(t.Context(), g.ID) // private_key_jwt: aud = the exact issuer
		if err != nil {
			t.Fatalf("Impersonate: %v", err)
		}
		v, err := m.Verifier(shadow.WithAudience(fake.ProjectID(), jwtID))
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Verify(t.Context(), tok.AccessToken)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if c.Issuer != fake.Issuer() || c.Subject != g.ID {
			t.Errorf("claims iss %q sub %q, want %q %q", c.Issuer, c.Subject, fake.Issuer(), g.ID)
		}
	})
	t.Run("trimmed", func(t *testing.T) {
		t.Parallel()
		trimmed := strings.TrimSuffix(fake.Issuer(), "/")
		if _, err := manager(t, trimmed).Provision(t.Context()); err == nil {
			t.Error("Provision with the trimmed issuer as assertion audience succeeded, want a refusal")
		}
		g, err := manager(t, fake.Issuer()).Provision(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		tok, err := manager(t, fake.Issuer()).Impersonate(t.Context(), g.ID)
		if err != nil {
			t.Fatal(err)
		}
		v, err := shadow.NewVerifier(trimmed, shadow.WithAudience(fake.ProjectID()), shadow.WithVerifierHTTPClient(fake.Client()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(t.Context(), tok.AccessToken); !errors.Is(err, shadow.ErrInvalidToken) {
			t.Errorf("Verify with the trimmed issuer = %v, want ErrInvalidToken", err)
		}
	})
}
