package shadow_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/shadowaccounts/shadow"
)

var (
	testKeysOnce sync.Once
	testKeys     [2]*rsa.PrivateKey
)

// rsaKeys returns two RSA keys shared by the verifier tests.
func rsaKeys(t testing.TB) [2]*rsa.PrivateKey {
	t.Helper()
	testKeysOnce.Do(func() {
		for i := range testKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeys[i] = k
		}
	})
	return testKeys
}

// jwksServer serves a JWK set that tests can swap, counting fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fail    bool
	delay   time.Duration
	fetches atomic.Int64
}

func newJWKSServer(t testing.TB, keys ...jose.JSONWebKey) *jwksServer {
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		keys, fail, delay := s.keys, s.fail, s.delay
		s.mu.Unlock()
		time.Sleep(delay)
		if fail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(keys ...jose.JSONWebKey) { s.mu.Lock(); s.keys = keys; s.mu.Unlock() }

func publicJWK(k *rsa.PrivateKey, kid string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}
}

const testIssuer = "https://issuer.example"

// sign makes an RS256 JWT with the given claims, overriding the defaults.
func sign(t testing.TB, k *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	c := map[string]any{"iss": testIssuer, "sub": "guest-1", "aud": []string{"client-1", "project-1"},
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestVerifier(t testing.TB, jwksURL string, opts ...shadow.VerifierOption) *shadow.Verifier {
	t.Helper()
	v, err := shadow.NewVerifier(testIssuer, append([]shadow.VerifierOption{shadow.WithAudience("project-1"),
		shadow.WithJWKSURL(jwksURL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifierAcceptsAndReads(t *testing.T) {
	t.Parallel()
	keys := rsaKeys(t)
	srv := newJWKSServer(t, publicJWK(keys[0], "k0"))
	v := newTestVerifier(t, srv.URL)
	tok := sign(t, keys[0], "k0", map[string]any{
		"act":                           map[string]any{"iss": testIssuer, "sub": "service-1"},
		"client_id":                     "client-1",
		"urn:zitadel:iam:user:metadata": map[string]string{"GUEST_CREATED_AT": base64.RawURLEncoding.EncodeToString([]byte("2026-11-20T10:00:00Z"))},
	})
	c, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Subject != "guest-1" || c.Actor == nil || c.Actor.Subject != "service-1" || !c.Guest || c.ClientID != "client-1" ||
		!c.GuestCreatedAt.Equal(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("claims = %+v", c)
	}
	var extra struct{ Sub string }
	if err := c.Decode(&extra); err != nil || extra.Sub != "guest-1" {
		t.Errorf("Decode: %+v %v", extra, err)
	}
	registered, err := v.Verify(t.Context(), sign(t, keys[0], "k0", map[string]any{"aud": "project-1"}))
	if err != nil || registered.Guest || registered.Actor != nil {
		t.Errorf("a registered user's token: %+v, %v", registered, err)
	}
}

func TestVerifierRejects(t *testing.T) {
	t.Parallel()
	keys := rsaKeys(t)
	srv := newJWKSServer(t, publicJWK(keys[0], "k0"))
	good := sign(t, keys[0], "k0", nil)
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tamperedPayload := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "guest-1", "admin-1", 1))) + "." + parts[2]
	sig := []byte(parts[2])
	sig[10] ^= 1
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	hmacSigner, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
		(&jose.SignerOptions{}).WithHeader("kid", "k0"))
	hs256, _ := jwt.Signed(hmacSigner).Claims(map[string]any{"iss": testIssuer, "sub": "x", "aud": "project-1",
		"exp": time.Now().Add(time.Hour).Unix()}).Serialize()
	for name, tok := range map[string]string{
		"TamperedPayload":   tamperedPayload,
		"TamperedSignature": parts[0] + "." + parts[1] + "." + string(sig),
		"AlgNone":           none,
		"HS256":             hs256,
		"WrongIssuer":       sign(t, keys[0], "k0", map[string]any{"iss": "https://evil.example"}),
		"WrongAudience":     sign(t, keys[0], "k0", map[string]any{"aud": "someone-else"}),
		"Expired":           sign(t, keys[0], "k0", map[string]any{"exp": time.Now().Add(-2 * time.Minute).Unix()}),
		"NoExpiry":          sign(t, keys[0], "k0", map[string]any{"exp": nil}),
		"NotYetValid":       sign(t, keys[0], "k0", map[string]any{"nbf": time.Now().Add(5 * time.Minute).Unix()}),
		"UnknownKey":        sign(t, keys[1], "k1", nil),
		"WrongKeySameKid":   sign(t, keys[1], "k0", nil),
		"Garbage":           "not.a.jwt",
		// NumericDates that overflow time arithmetic (issue 10, finding 6).
		"NotBeforeOverflow": sign(t, keys[0], "k0", map[string]any{"nbf": 1e300}),
		"IssuedAtOverflow":  sign(t, keys[0], "k0", map[string]any{"iat": 9.3e18}),
		"ExpiryOverflow":    sign(t, keys[0], "k0", map[string]any{"exp": 1e300}),
		"NegativeExpiry":    sign(t, keys[0], "k0", map[string]any{"exp": -1}),
		"ExpiryAsString":    sign(t, keys[0], "k0", map[string]any{"exp": "2099-01-01"}),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := newTestVerifier(t, srv.URL)
			if c, err := v.Verify(t.Context(), tok); !errors.Is(err, shadow.ErrInvalidToken) {
				t.Errorf("Verify = (%+v, %v), want ErrInvalidToken", c, err)
			}
		})
	}
	t.Run("ExpiredWithinLeeway", func(t *testing.T) {
		t.Parallel()
		v := newTestVerifier(t, srv.URL, shadow.WithLeeway(5*time.Minute))
		if _, err := v.Verify(t.Context(), sign(t, keys[0], "k0", map[string]any{"exp": time.Now().Add(-2 * time.Minute).Unix()})); err != nil {
			t.Errorf("a token 2 min past exp with 5 min leeway: %v", err)
		}
	})
	if _, err := shadow.NewVerifier(testIssuer, shadow.WithAudience("a"), shadow.WithAlgorithms("none")); err == nil {
		t.Error(`NewVerifier accepted alg "none"`)
	}
	if _, err := shadow.NewVerifier(testIssuer); err == nil {
		t.Error("NewVerifier without an audience succeeded")
	}
}

func TestVerifierKeyRotation(t *testing.T) {
	t.Parallel()
	keys := rsaKeys(t)
	srv := newJWKSServer(t, publicJWK(keys[0], "k0"))
	v := newTestVerifier(t, srv.URL, shadow.WithKeyRefreshInterval(0))
	if _, err := v.Verify(t.Context(), sign(t, keys[0], "k0", nil)); err != nil {
		t.Fatal(err)
	}
	srv.set(publicJWK(keys[0], "k0"), publicJWK(keys[1], "k1"))
	if _, err := v.Verify(t.Context(), sign(t, keys[1], "k1", nil)); err != nil {
		t.Fatalf("token of the rotated-in key: %v", err)
	}
	before := srv.fetches.Load()
	for range 50 {
		if _, err := v.Verify(t.Context(), sign(t, keys[0], "k0", nil)); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.fetches.Load() - before; n != 0 {
		t.Errorf("%d JWKS fetches for known keys after warm-up, want 0", n)
	}
	srv.set(publicJWK(keys[1], "k1"))
	if _, err := v.Verify(t.Context(), sign(t, keys[0], "k-retired", nil)); !errors.Is(err, shadow.ErrInvalidToken) {
		t.Errorf("token of a retired key = %v", err)
	}
}

// TestVerifierSharesOneFetch: 100 concurrent verifications of a token with
// an unknown key id cause exactly one JWKS fetch.
func TestVerifierSharesOneFetch(t *testing.T) {
	t.Parallel()
	keys := rsaKeys(t)
	srv := newJWKSServer(t, publicJWK(keys[0], "k0"))
	srv.delay = 50 * time.Millisecond
	v := newTestVerifier(t, srv.URL)
	tok := sign(t, keys[0], "k0", nil)
	var wg sync.WaitGroup
	var ok atomic.Int64
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Verify(t.Context(), tok); err == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := srv.fetches.Load(); n != 1 || ok.Load() != 100 {
		t.Errorf("%d fetches, %d verified; want 1 and 100", n, ok.Load())
	}
}

// TestVerifierWaitersHonourTheirContext: a caller whose ctx ends stops
// waiting for the shared fetch; the others get the keys.
func TestVerifierWaitersHonourTheirContext(t *testing.T) {
	t.Parallel()
	keys := rsaKeys(t)
	srv := newJWKSServer(t, publicJWK(keys[0], "k0"))
	srv.delay = 300 * time.Millisecond
	v := newTestVerifier(t, srv.URL)
	tok := sign(t, keys[0], "k0", nil)
	done := make(chan error, 1)
	go func() { _, err := v.Verify(t.Context(), tok); done <- err }()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := v.Verify(ctx, tok); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("impatient caller = %v, want its deadline", err)
	}
	if err := <-done; err != nil {
		t.Errorf("patient caller: %v", err)
	}
}

func TestVerifierKeepsLastGoodKeys(t *testing.T) {
	t.Parallel()
	keys := rsaKeys(t)
	srv := newJWKSServer(t, publicJWK(keys[0], "k0"))
	v := newTestVerifier(t, srv.URL, shadow.WithKeyRefreshInterval(0))
	if _, err := v.Verify(t.Context(), sign(t, keys[0], "k0", nil)); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	srv.fail = true
	srv.mu.Unlock()
	if _, err := v.Verify(t.Context(), sign(t, keys[1], "k1", nil)); !errors.Is(err, shadow.ErrKeysUnavailable) {
		t.Errorf("unknown key while the JWKS is down = %v, want ErrKeysUnavailable", err)
	}
	if _, err := v.Verify(t.Context(), sign(t, keys[0], "k0", nil)); err != nil {
		t.Errorf("known key while the JWKS is down: %v", err)
	}
	// Within the refresh interval no new fetch is made, and the outage is
	// still reported as such (a 503 in the middleware), not as a bad token.
	throttled := newTestVerifier(t, srv.URL, shadow.WithKeyRefreshInterval(time.Hour))
	for range 2 {
		if _, err := throttled.Verify(t.Context(), sign(t, keys[1], "k1", nil)); !errors.Is(err, shadow.ErrKeysUnavailable) {
			t.Errorf("throttled verification during an outage = %v, want ErrKeysUnavailable", err)
		}
	}
}

func TestVerifierMiddleware(t *testing.T) {
	t.Parallel()
	keys := rsaKeys(t)
	srv := newJWKSServer(t, publicJWK(keys[0], "k0"))
	v := newTestVerifier(t, srv.URL)
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := shadow.ClaimsFromContext(r.Context())
		_, _ = w.Write([]byte(c.Subject))
	}))
	for _, c := range []struct {
		auth   string
		status int
		www    string
	}{
		{"Bearer " + sign(t, keys[0], "k0", nil), 200, ""},
		{"", 401, `Bearer realm="` + testIssuer + `"`},
		{"Basic dXNlcjpwYXNz", 401, `Bearer realm="` + testIssuer + `"`},
		{"Bearer " + sign(t, keys[0], "k0", map[string]any{"aud": "other"}), 401, `Bearer realm="` + testIssuer + `", error="invalid_token"`},
	} {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/api", nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != c.status || rec.Header().Get("WWW-Authenticate") != c.www {
			t.Errorf("%.20q: HTTP %d, WWW-Authenticate %q; want %d, %q", c.auth, rec.Code, rec.Header().Get("WWW-Authenticate"), c.status, c.www)
		}
		if c.status == 200 && rec.Body.String() != "guest-1" {
			t.Errorf("handler saw subject %q", rec.Body.String())
		}
	}
}

// TestVerifierOnFakeTokens verifies real guest tokens of zitadeltest
// through Manager.Verifier.
func TestVerifierOnFakeTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.provision(t)
	tok, err := e.mgr.Impersonate(t.Context(), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.mgr.Verifier(shadow.WithVerifierClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{"access token": tok.AccessToken, "ID token": tok.IDToken} {
		c, err := v.Verify(t.Context(), raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Subject != g.ID || !c.Guest || c.Actor == nil || c.Actor.Subject != e.fake.ServiceAccount().ID {
			t.Errorf("%s claims = %+v", name, c)
		}
	}
	e.clock.Advance(13 * time.Hour)
	if _, err := v.Verify(t.Context(), tok.AccessToken); !errors.Is(err, shadow.ErrInvalidToken) {
		t.Errorf("expired guest token = %v", err)
	}
}

func TestVerifierKeyIDRequiredWithSeveralKeys(t *testing.T) {
	t.Parallel()
	keys := rsaKeys(t)
	for _, tc := range []struct {
		name   string
		jwks   []jose.JSONWebKey
		wantOK bool
	}{
		{"OneKey", []jose.JSONWebKey{publicJWK(keys[0], "k0")}, true},
		{"TwoKeys", []jose.JSONWebKey{publicJWK(keys[1], "k1"), publicJWK(keys[0], "k0")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newJWKSServer(t, tc.jwks...)
			v := newTestVerifier(t, srv.URL)
			_, err := v.Verify(t.Context(), sign(t, keys[0], "", nil))
			if tc.wantOK && err != nil {
				t.Errorf("a token without kid and a single key: %v", err)
			}
			if !tc.wantOK && !errors.Is(err, shadow.ErrInvalidToken) {
				t.Errorf("a token without kid and %d keys: %v, want ErrInvalidToken", len(tc.jwks), err)
			}
		})
	}
}
