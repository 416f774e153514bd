package shadow_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// managerFor builds a Manager on fake with the given credentials and
// options, on the real clock (oauth2's token cache reads time.Now).
func managerFor(t *testing.T, fake *zitadeltest.Server, cr shadow.Credentials, opts ...shadow.Option) *shadow.Manager {
	t.Helper()
	m, err := shadow.New(fake.Issuer(), append([]shadow.Option{shadow.WithOrganization(fake.OrganizationID()),
		shadow.WithClientID(fake.ClientID()), shadow.WithProjectID(fake.ProjectID()), shadow.WithCredentials(cr),
		shadow.WithCartStore(memstore.New()), shadow.WithHTTPClient(fake.Client())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestEachCredentialKind runs the lifecycle with every kind of service
// credentials and checks that the service token is fetched once and reused.
func TestEachCredentialKind(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		creds func(sa zitadeltest.MachineUser) (shadow.Credentials, error)
		grant zitadeltest.Operation
	}{
		{"PAT", func(sa zitadeltest.MachineUser) (shadow.Credentials, error) { return shadow.PAT(sa.PAT), nil }, zitadeltest.OpUnknown},
		{"KeyFile", func(sa zitadeltest.MachineUser) (shadow.Credentials, error) { return shadow.KeyFile(sa.KeyFile) },
			zitadeltest.OpTokenJWTBearer},
		{"ClientCredentials", func(sa zitadeltest.MachineUser) (shadow.Credentials, error) {
			return shadow.ClientCredentials(sa.ClientID, sa.ClientSecret), nil
		}, zitadeltest.OpTokenClientCredentials},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fake := zitadeltest.Start(t)
			cr, err := c.creds(fake.ServiceAccount())
			if err != nil {
				t.Fatal(err)
			}
			m := managerFor(t, fake, cr)
			v, err := m.Verifier() // its default audience must accept every kind's guest tokens
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				g, err := m.Provision(t.Context())
				if err != nil {
					t.Fatalf("Provision: %v", err)
				}
				tok, err := m.Impersonate(t.Context(), g.ID)
				if err != nil {
					t.Fatalf("Impersonate: %v", err)
				}
				if cl, err := v.Verify(t.Context(), tok.AccessToken); err != nil || cl.Subject != g.ID || !cl.Guest {
					t.Fatalf("Manager.Verifier on a %s guest token: %+v, %v", c.name, cl, err)
				}
				if _, err := m.Upgrade(t.Context(), g.ID, shadow.Profile{GivenName: "A", FamilyName: "B",
					Email: g.ID + "@example.com", Password: "Credential-Kind1"}); err != nil {
					t.Fatalf("Upgrade: %v", err)
				}
			}
			if c.grant != zitadeltest.OpUnknown {
				if n := fake.Count(c.grant); n != 1 {
					t.Errorf("%d service-token requests for 9 calls, want 1 (cached)", n)
				}
			}
		})
	}
}

// TestServiceTokenRenewedBeforeExpiry: a token within a minute of its
// expiry is replaced before use.
func TestServiceTokenRenewedBeforeExpiry(t *testing.T) {
	t.Parallel()
	fake := zitadeltest.Start(t, zitadeltest.WithAccessTokenLifetime(30*time.Second))
	cr, err := shadow.KeyFile(fake.ServiceAccount().KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	m := managerFor(t, fake, cr)
	for range 3 {
		if _, err := m.Provision(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.Count(zitadeltest.OpTokenJWTBearer); n != 3 {
		t.Errorf("%d token requests for 3 calls with 30 s tokens, want 3 (each renewed early)", n)
	}
}

func TestNonPATActorNeedsTheProjectAudience(t *testing.T) {
	t.Parallel()
	fake := zitadeltest.Start(t)
	sa := fake.ServiceAccount()
	m, err := shadow.New(fake.Issuer(), shadow.WithOrganization(fake.OrganizationID()), shadow.WithClientID(fake.ClientID()),
		shadow.WithProjectID("some-other-project"), shadow.WithCredentials(shadow.ClientCredentials(sa.ClientID, sa.ClientSecret)),
		shadow.WithCartStore(memstore.New()), shadow.WithHTTPClient(fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.Provision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Impersonate(t.Context(), g.ID)
	var oe *shadow.OAuthError
	if !errors.As(err, &oe) || oe.Description != "actor_token invalid" {
		t.Errorf("Impersonate with the wrong project audience = %v, want actor_token invalid", err)
	}
}

func TestBadServiceCredentials(t *testing.T) {
	t.Parallel()
	fake := zitadeltest.Start(t)
	sa := fake.ServiceAccount()
	m := managerFor(t, fake, shadow.ClientCredentials(sa.ClientID, "wrong-secret"))
	_, err := m.Provision(t.Context())
	var oe *shadow.OAuthError
	if !errors.As(err, &oe) || errors.Is(err, shadow.ErrUnavailable) || oe.HTTPStatus != 400 {
		t.Fatalf("Provision with a wrong client secret = %v, want the token endpoint's OAuthError, not ErrUnavailable", err)
	}
	bad := fake.ServiceAccount()
	kf, _ := shadow.KeyFile(bad.KeyFile)
	fake.FailNext(zitadeltest.OpTokenJWTBearer, zitadeltest.APIError(zitadeltest.CodePermissionDenied, "X-1", "denied"))
	if _, err := managerFor(t, fake, kf).Provision(t.Context()); !errors.As(err, &oe) || errors.Is(err, shadow.ErrUnavailable) {
		t.Errorf("Provision with a refused key file = %v, want an OAuthError", err)
	}
	if n := fake.Count(zitadeltest.OpCreateUser); n != 0 {
		t.Errorf("CreateUser sent without a service token")
	}
}

// applicationKeyFile returns an application key file as ZITADEL downloads
// it, and the public key to register.
func applicationKeyFile(t *testing.T, clientID string) ([]byte, *rsa.PublicKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]string{"type": "application", "keyId": "app-key-1", "appId": "app-1",
		"clientId": clientID, "key": string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))})
	if err != nil {
		t.Fatal(err)
	}
	return b, &k.PublicKey
}

// TestTokenExchangeClientAuthentication impersonates through applications
// of every auth method.
func TestTokenExchangeClientAuthentication(t *testing.T) {
	t.Parallel()
	fake := zitadeltest.Start(t)
	exchange := []string{"urn:ietf:params:oauth:grant-type:token-exchange"}
	secretApp := func(method zitadeltest.AuthMethod) (string, string) {
		id, err := fake.AddApp(zitadeltest.NewApp{Name: method.String(), GrantTypes: exchange, AuthMethod: method, JWTAccessToken: true})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := fake.App(id)
		return id, a.ClientSecret
	}
	basicID, basicSecret := secretApp(zitadeltest.AuthMethodBasic)
	postID, postSecret := secretApp(zitadeltest.AuthMethodPost)
	keyFile, pub := applicationKeyFile(t, "pending")
	jwtID, err := fake.AddApp(zitadeltest.NewApp{Name: "jwt", GrantTypes: exchange, AuthMethod: zitadeltest.AuthMethodPrivateKeyJWT,
		KeyID: "app-key-1", PublicKey: pub, JWTAccessToken: true})
	if err != nil {
		t.Fatal(err)
	}
	var kf map[string]string
	_ = json.Unmarshal(keyFile, &kf)
	kf["clientId"] = jwtID
	keyFile, _ = json.Marshal(kf)

	g, err := managerFor(t, fake, shadow.PAT(fake.ServiceAccount().PAT)).Provision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string][]shadow.Option{
		"client_secret_basic": {shadow.WithClientID(basicID), shadow.WithClientSecret(basicSecret, shadow.AuthClientSecretBasic)},
		"client_secret_post":  {shadow.WithClientID(postID), shadow.WithClientSecret(postSecret, shadow.AuthClientSecretPost)},
		"private_key_jwt":     {shadow.WithClientID(jwtID), shadow.WithClientKey(keyFile)},
	} {
		m := managerFor(t, fake, shadow.PAT(fake.ServiceAccount().PAT), opts...)
		if _, err := m.Impersonate(t.Context(), g.ID); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	wrong := managerFor(t, fake, shadow.PAT(fake.ServiceAccount().PAT), shadow.WithClientID(basicID),
		shadow.WithClientSecret("not-it", shadow.AuthClientSecretBasic))
	var oe *shadow.OAuthError
	if _, err := wrong.Impersonate(t.Context(), g.ID); !errors.As(err, &oe) || oe.Code != "invalid_client" {
		t.Errorf("wrong client secret = %v, want invalid_client", err)
	}
}
