package shadow_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// TestIssuerScheme: https anywhere, plain http only on loopback, for the
// Manager and the Verifier alike.
func TestIssuerScheme(t *testing.T) {
	t.Parallel()
	tests := []struct {
		issuer   string
		insecure bool // refused with ErrInsecureIssuer
	}{
		{"https://my-instance.zitadel.cloud", false},
		{"https://id.example.com/", false},
		{"http://localhost:8080", false},
		{"http://LOCALHOST:8080", false},
		{"http://127.0.0.1:9000", false},
		{"http://127.8.9.10", false},
		{"http://[::1]:8080", false},
		{"http://example.com", true},
		{"http://10.0.0.1:8080", true},
		{"http://[::2]:8080", true},
		{"http://localhost.example.com", true},
		{"http://127.0.0.1.nip.io", true},
		{"http://0.0.0.0:8080", true},
		{"ftp://localhost", true},
	}
	for _, tt := range tests {
		t.Run(tt.issuer, func(t *testing.T) {
			t.Parallel()
			_, err := shadow.New(tt.issuer,
				shadow.WithOrganization("org"), shadow.WithClientID("client"), shadow.WithCredentials(shadow.PAT("pat")),
				shadow.WithCartStore(memstore.New()), shadow.WithSessionKeys(testSessionKey(t)))
			if got := errors.Is(err, shadow.ErrInsecureIssuer); got != tt.insecure {
				t.Errorf("New: %v, want ErrInsecureIssuer: %t", err, tt.insecure)
			}
			if !tt.insecure && err != nil {
				t.Errorf("New: %v", err)
			}
			if err != nil && strings.Count(err.Error(), "shadow:") != 1 {
				t.Errorf("New: %q does not start with one shadow: prefix", err)
			}
			_, err = shadow.NewVerifier(tt.issuer, shadow.WithAudience("project"))
			if got := errors.Is(err, shadow.ErrInsecureIssuer); got != tt.insecure {
				t.Errorf("NewVerifier: %v, want ErrInsecureIssuer: %t", err, tt.insecure)
			}
		})
	}
}

// TestPlainHTTPFake: the whole guest round trip works against the fake
// served over plain HTTP on loopback, and its tokens verify.
func TestPlainHTTPFake(t *testing.T) {
	t.Parallel()
	fake := zitadeltest.Start(t, zitadeltest.WithPlainHTTP())
	if !strings.HasPrefix(fake.URL, "http://127.0.0.1:") {
		t.Fatalf("URL = %q, want http://127.0.0.1:<port>", fake.URL)
	}
	m, err := shadow.New(fake.Issuer(),
		shadow.WithOrganization(fake.OrganizationID()), shadow.WithClientID(fake.ClientID()),
		shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)), shadow.WithHTTPClient(&http.Client{}),
		shadow.WithCartStore(memstore.New()), shadow.WithSessionKeys(testSessionKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.Provision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := m.Impersonate(t.Context(), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	v, err := m.Verifier(shadow.WithAudience(fake.ClientID()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(t.Context(), tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != g.ID || !c.Guest {
		t.Errorf("claims: sub %q guest %t, want %q true", c.Subject, c.Guest, g.ID)
	}
}
