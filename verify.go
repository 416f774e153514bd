package shadow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// ErrInvalidToken is wrapped by every Verifier error about the token
// itself: malformed, badly signed, expired, not yet valid, or issued by or
// for someone else.
var ErrInvalidToken = errors.New("shadow: invalid token")

// ErrKeysUnavailable is wrapped when the issuer's signing keys could not
// be fetched, so the token could not be checked at all.
var ErrKeysUnavailable = errors.New("shadow: signing keys unavailable")

// Verifier checks JWTs issued by ZITADEL, access tokens and ID tokens
// alike, for the app's resource servers: signature against the issuer's
// JWKS, an algorithm allow-list (never "none" or HMAC), issuer, audience,
// and expiry and not-before with leeway. Create it with [NewVerifier] or
// [Manager.Verifier]. It is safe for concurrent use.
//
// Keys are cached like go-oidc's remote key set: a token whose "kid" is
// unknown triggers one JWKS fetch shared by all concurrent callers, each
// waiting only as long as its own ctx allows; the last good keys are kept
// when a fetch fails; and fetches happen at most once per refresh
// interval, so tokens with made-up key ids cannot hammer the issuer.
type Verifier struct {
	issuer   string
	audience []string
	algs     []jose.SignatureAlgorithm
	leeway   time.Duration
	now      func() time.Time
	tagKey   string
	keys     *keySet
}

// VerifierOption configures a Verifier.
type VerifierOption func(*verifierConfig)

type verifierConfig struct {
	audience []string
	algs     []string
	leeway   time.Duration
	now      func() time.Time
	jwksURL  string
	client   *http.Client
	refresh  time.Duration
	tagKey   string
}

// DefaultAlgorithms are the signature algorithms ZITADEL announces
// (id_token_signing_alg_values_supported).
var DefaultAlgorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA"}

// WithAudience sets the audiences a token must name in "aud" (any one
// suffices): your API's project id or client id. Required.
func WithAudience(aud ...string) VerifierOption {
	return func(c *verifierConfig) { c.audience = append(c.audience, aud...) }
}

// WithAlgorithms restricts the accepted "alg" values (default
// DefaultAlgorithms). "none" and HMAC algorithms are always refused.
func WithAlgorithms(algs ...string) VerifierOption {
	return func(c *verifierConfig) { c.algs = algs }
}

// WithLeeway sets the clock skew tolerated on "exp", "nbf" and "iat"
// (default 1 minute).
func WithLeeway(d time.Duration) VerifierOption { return func(c *verifierConfig) { c.leeway = d } }

// WithVerifierClock sets the clock for expiry checks (default time.Now).
func WithVerifierClock(now func() time.Time) VerifierOption {
	return func(c *verifierConfig) { c.now = now }
}

// WithJWKSURL sets where the signing keys are (default
// <issuer>/oauth/v2/keys, ZITADEL's jwks_uri).
func WithJWKSURL(u string) VerifierOption { return func(c *verifierConfig) { c.jwksURL = u } }

// WithVerifierHTTPClient sets the client for JWKS fetches (default a client
// with a 10 s timeout).
func WithVerifierHTTPClient(hc *http.Client) VerifierOption {
	return func(c *verifierConfig) { c.client = hc }
}

// WithKeyRefreshInterval sets the least time between two JWKS fetches
// triggered by unknown key ids (default 1 s; 0 fetches every time).
func WithKeyRefreshInterval(d time.Duration) VerifierOption {
	return func(c *verifierConfig) { c.refresh = d }
}

// WithVerifierTagKey sets the guest tag key Claims.Guest looks for (default
// GUEST_CREATED_AT; the demo's GUEST_YY_MM_DD keys are always recognized).
func WithVerifierTagKey(key string) VerifierOption { return func(c *verifierConfig) { c.tagKey = key } }

// NewVerifier returns a Verifier for tokens of issuer, given exactly as
// the provider's discovery document states it: "iss" must equal it byte for
// byte, trailing slash included (OpenID Connect Core 1.0 §3.1.3.7, OpenID
// Connect Discovery 1.0 §4.3). It makes no network call; keys are fetched
// on first use.
func NewVerifier(issuer string, opts ...VerifierOption) (*Verifier, error) {
	c := verifierConfig{algs: DefaultAlgorithms, leeway: time.Minute, now: time.Now, refresh: time.Second, tagKey: DefaultTagKey}
	for _, o := range opts {
		o(&c)
	}
	var errs []error
	if err := checkIssuer(issuer); err != nil {
		errs = append(errs, err)
	}
	if len(c.audience) == 0 || slices.Contains(c.audience, "") {
		errs = append(errs, errors.New("shadow: WithAudience is required (your API's project or client id)"))
	}
	var algs []jose.SignatureAlgorithm
	for _, a := range c.algs {
		switch alg := jose.SignatureAlgorithm(a); alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512, jose.EdDSA:
			algs = append(algs, alg)
		default:
			errs = append(errs, fmt.Errorf("shadow: WithAlgorithms: %q is not an accepted asymmetric algorithm", a))
		}
	}
	if len(algs) == 0 {
		errs = append(errs, errors.New("shadow: WithAlgorithms: no algorithm left"))
	}
	if c.leeway < 0 || c.refresh < 0 || c.now == nil {
		errs = append(errs, errors.New("shadow: leeway and refresh interval must not be negative, the clock not nil"))
	}
	if c.jwksURL == "" {
		c.jwksURL = strings.TrimSuffix(issuer, "/") + "/oauth/v2/keys"
	}
	if c.client == nil {
		c.client = &http.Client{Timeout: 10 * time.Second}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Verifier{issuer: issuer, audience: c.audience, algs: algs, leeway: c.leeway, now: c.now, tagKey: c.tagKey,
		keys: newKeySet(c.jwksURL, c.client, c.refresh)}, nil
}

// Verifier returns a Verifier for tokens of the Manager's issuer, using
// its HTTP client (so JWKS fetches draw from the egress budget), its guest
// tag key and its clock (WithClock). Without WithAudience it accepts
// tokens naming the Manager's client id or, with WithProjectID, its
// project id (guest tokens of key-file and client-credentials actors name
// only the project).
func (m *Manager) Verifier(opts ...VerifierOption) (*Verifier, error) {
	base := []VerifierOption{WithVerifierHTTPClient(m.cfg.httpClient), WithVerifierTagKey(m.cfg.tagKey),
		WithVerifierClock(m.cfg.now)}
	probe := verifierConfig{}
	for _, o := range opts {
		o(&probe)
	}
	if len(probe.audience) == 0 {
		// Guest tokens name the exchanging application; with a key-file or
		// client-credentials actor they name only the project (its audience
		// is what the actor asked for, docs/zitadel.md §5.5).
		aud := []string{m.cfg.clientID}
		if m.cfg.projectID != "" {
			aud = append(aud, m.cfg.projectID)
		}
		base = append(base, WithAudience(aud...))
	}
	return NewVerifier(m.cfg.exactIssuer, append(base, opts...)...)
}

// Actor is the "act" claim of an impersonated token (RFC 8693 §4.1): who
// acts on the subject's behalf, possibly itself acted for.
type Actor struct {
	Issuer  string `json:"iss,omitempty"`
	Subject string `json:"sub"`
	Actor   *Actor `json:"act,omitempty"`
}

// Claims are the verified claims of a token.
type Claims struct {
	Issuer    string
	Subject   string    // the ZITADEL user id
	Audience  []string  // "aud", a string or an array in the token
	Expiry    time.Time // "exp"
	IssuedAt  time.Time // "iat"; zero when absent
	NotBefore time.Time // "nbf"; zero when absent
	ClientID  string    // "client_id", else "azp"
	// Actor is set for impersonated tokens: the service account that
	// obtained the token by token exchange.
	Actor *Actor
	// Guest says the subject carried the guest tag when the token was
	// issued (the "urn:zitadel:iam:user:metadata" claim); GuestCreatedAt
	// is the tag's time.
	Guest          bool
	GuestCreatedAt time.Time
	// Metadata is the decoded metadata claim (values are base64url in the token).
	Metadata map[string][]byte
	// Raw is the token's JSON payload, for claims not listed here.
	Raw json.RawMessage
}

// Decode unmarshals the raw claims into v.
func (c *Claims) Decode(v any) error { return json.Unmarshal(c.Raw, v) }

// jwtClaims is the wire form of the claims Verify reads.
type jwtClaims struct {
	Issuer    string            `json:"iss"`
	Subject   string            `json:"sub"`
	Audience  audience          `json:"aud"`
	Expiry    *numericDate      `json:"exp"`
	IssuedAt  *numericDate      `json:"iat"`
	NotBefore *numericDate      `json:"nbf"`
	ClientID  string            `json:"client_id"`
	AZP       string            `json:"azp"`
	Actor     *Actor            `json:"act"`
	Metadata  map[string]string `json:"urn:zitadel:iam:user:metadata"`
}

// Verify checks raw, a compact JWS, and returns its claims. Errors wrap
// [ErrInvalidToken], [ErrKeysUnavailable] when the keys could not be
// fetched, or ctx's error. Only a token with an unknown key id causes a
// network call.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	jws, err := jose.ParseSignedCompact(raw, v.algs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	payload, err := v.keys.verify(ctx, jws)
	if err != nil {
		return nil, err
	}
	var c jwtClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	now := v.now()
	switch {
	case c.Issuer != v.issuer:
		return nil, fmt.Errorf("%w: issuer %q, want %q", ErrInvalidToken, c.Issuer, v.issuer)
	case !v.audienceMatches(c.Audience):
		return nil, fmt.Errorf("%w: audience %q does not name %q", ErrInvalidToken, []string(c.Audience), v.audience)
	case c.Expiry == nil:
		return nil, fmt.Errorf("%w: no exp", ErrInvalidToken)
	case !now.Before(c.Expiry.time().Add(v.leeway)):
		return nil, fmt.Errorf("%w: expired at %v", ErrInvalidToken, c.Expiry.time())
	case c.NotBefore != nil && now.Add(v.leeway).Before(c.NotBefore.time()):
		return nil, fmt.Errorf("%w: not valid before %v", ErrInvalidToken, c.NotBefore.time())
	case c.IssuedAt != nil && now.Add(v.leeway).Before(c.IssuedAt.time()):
		return nil, fmt.Errorf("%w: issued in the future", ErrInvalidToken)
	case c.Subject == "":
		return nil, fmt.Errorf("%w: no sub", ErrInvalidToken)
	}
	out := &Claims{Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience, Expiry: c.Expiry.time(),
		IssuedAt: c.IssuedAt.time(), NotBefore: c.NotBefore.time(), ClientID: c.ClientID, Actor: c.Actor, Raw: payload}
	if out.ClientID == "" {
		out.ClientID = c.AZP
	}
	if len(c.Metadata) > 0 {
		out.Metadata = make(map[string][]byte, len(c.Metadata))
		for k, val := range c.Metadata {
			b, err := decodeClaimValue(val)
			if err != nil {
				return nil, fmt.Errorf("%w: metadata %q: %v", ErrInvalidToken, k, err)
			}
			out.Metadata[k] = b
			if k == v.tagKey || isDailyTagKey(k) {
				out.Guest = true
				if t, ok := tagTime(k, b); ok && (out.GuestCreatedAt.IsZero() || t.Before(out.GuestCreatedAt)) {
					out.GuestCreatedAt = t
				}
			}
		}
	}
	return out, nil
}

func (v *Verifier) audienceMatches(aud audience) bool {
	for _, a := range aud {
		if slices.Contains(v.audience, a) {
			return true
		}
	}
	return false
}

// audience is "aud": one string or an array of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// numericDate is a JWT NumericDate: seconds since the epoch, possibly
// fractional (RFC 7519 §2).
type numericDate float64

// maxNumericDate is the latest NumericDate a token may carry: the end of
// year 9999 UTC. Later values (1e300, 9.3e18) would overflow time.Time's
// arithmetic and compare as if they lay in the past or the future at random.
const maxNumericDate = 253402300799

// UnmarshalJSON reads a JSON number and rejects values outside
// [0, end of year 9999], so that no later comparison overflows.
func (d *numericDate) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("NumericDate: %w", err)
	}
	if !(f >= 0 && f <= maxNumericDate) { // also false for NaN
		return fmt.Errorf("NumericDate %s outside 0..%d", b, maxNumericDate)
	}
	*d = numericDate(f)
	return nil
}

func (d *numericDate) time() time.Time {
	if d == nil {
		return time.Time{}
	}
	sec := int64(*d)
	return time.Unix(sec, int64((float64(*d)-float64(sec))*1e9))
}

// decodeClaimValue decodes a metadata claim value: base64url without
// padding as ZITADEL writes it, other base64 forms tolerated.
func decodeClaimValue(s string) ([]byte, error) { return zitadel.DecodeBase64(s) }

type claimsKey struct{}

// ClaimsFromContext returns the claims the Verifier's Middleware put in
// the request context.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}

// Middleware verifies the bearer token of each request (RFC 6750 §2.1) and
// passes its claims to next in the request context ([ClaimsFromContext]).
// A request without a token gets 401 with "WWW-Authenticate: Bearer"; an
// invalid token 401 with `Bearer error="invalid_token"` (RFC 6750 §3.1);
// unreachable signing keys 503.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+v.issuer+`"`)
			http.Error(w, "missing bearer token", http.StatusUnauthorized)
			return
		}
		c, err := v.Verify(r.Context(), strings.TrimSpace(token))
		switch {
		case errors.Is(err, ErrKeysUnavailable):
			http.Error(w, "cannot check tokens right now", http.StatusServiceUnavailable)
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+v.issuer+`", error="invalid_token"`)
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
	})
}
