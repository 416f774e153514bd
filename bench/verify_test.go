package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/shadowaccounts/shadow"
)

const issuer = "https://issuer.example"

// verifyFixture is one RS256 token and a JWKS server holding its key.
type verifyFixture struct {
	token   string
	jwksURL string
	fetches *atomic.Int64
}

func newVerifyFixture(b *testing.B) verifyFixture {
	b.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	var fetches atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	}))
	b.Cleanup(srv.Close)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": issuer, "sub": "3f1c2a9b8d7e6f5a", "aud": []string{"client-1"}, "azp": "client-1",
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "auth_time": now.Unix(),
		"act":                           map[string]string{"iss": issuer, "sub": "340000000000000005"},
		"urn:zitadel:iam:user:metadata": map[string]string{"GUEST_CREATED_AT": "MjAyNi0xMS0yMVQwOTozMDowMFo"},
	}).Serialize()
	if err != nil {
		b.Fatal(err)
	}
	return verifyFixture{token: tok, jwksURL: srv.URL, fetches: &fetches}
}

// BenchmarkVerify verifies the same RS256 token with cached keys, with
// shadow's Verifier and with go-oidc's IDTokenVerifier. Neither may fetch
// keys after the warm-up.
func BenchmarkVerify(b *testing.B) {
	f := newVerifyFixture(b)
	ctx := context.Background()
	b.Run("shadow", func(b *testing.B) {
		v, err := shadow.NewVerifier(issuer, shadow.WithAudience("client-1"), shadow.WithJWKSURL(f.jwksURL))
		if err != nil {
			b.Fatal(err)
		}
		f.run(b, func(tok string) error { _, err := v.Verify(ctx, tok); return err })
	})
	b.Run("go-oidc", func(b *testing.B) {
		ks := oidc.NewRemoteKeySet(ctx, f.jwksURL)
		v := oidc.NewVerifier(issuer, ks, &oidc.Config{ClientID: "client-1", SupportedSigningAlgs: []string{"RS256"}})
		f.run(b, func(tok string) error { _, err := v.Verify(ctx, tok); return err })
	})
}

// run warms verify up, then times it and fails on any JWKS fetch after
// the warm-up.
func (f verifyFixture) run(b *testing.B, verify func(token string) error) {
	if err := verify(f.token); err != nil {
		b.Fatal(err)
	}
	before := f.fetches.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := verify(f.token); err != nil {
			b.Fatal(err)
		}
	}
	if f.fetches.Load() != before {
		b.Fatal("network call after warm-up")
	}
}
