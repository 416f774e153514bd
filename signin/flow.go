package signin

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/shadowaccounts/shadow"
)

// Config configures a [Flow].
type Config struct {
	// Issuer is the OIDC issuer exactly as ZITADEL's discovery document
	// states it (for example https://my-instance.zitadel.cloud), trailing
	// slash or not: it is compared byte for byte.
	Issuer string
	// ClientID is the OIDC application's client id; it needs the
	// Authorization Code grant and RedirectURL among its redirect URIs.
	ClientID string
	// ClientSecret authenticates a confidential application at the token
	// endpoint (HTTP Basic); empty for a public application, which
	// authenticates by client_id and PKCE alone.
	ClientSecret string
	// RedirectURL is the absolute URL of the app's callback handler. Its
	// scheme decides the cookies' Secure flag (http only for localhost).
	RedirectURL string
	// PostLogoutRedirectURL is where ZITADEL sends the browser after
	// LogoutURL's sign-out: an absolute https URL (http only for
	// localhost), registered as a post-logout redirect URI of the
	// application. Optional.
	PostLogoutRedirectURL string
	// Scopes requested; default openid, profile and email. "openid" is
	// always added.
	Scopes []string
	// Secrets seal the per-attempt state cookies (and pending merges): the
	// first seals, every one opens, so secrets rotate without breaking
	// sign-ins under way. Each must be at least 32 random bytes; a
	// separate key is derived from each with HKDF-SHA256, so the session
	// key of the Manager may be reused. Required.
	Secrets [][]byte
	// Manager, when set, merges the guest that started a sign-in into the
	// account it signed into (see Flow.Callback). Optional.
	Manager *shadow.Manager
	// ConfirmMerge, when set, is asked before a guest is merged; returning
	// true defers the merge until the app calls Flow.ConfirmMerge (for
	// example after showing "move your cart into this account?"). The app
	// decides, for example by whether the account existed before the
	// sign-in. Nil merges at once.
	ConfirmMerge func(ctx context.Context, u *User) bool
	// HTTPClient is used for discovery, the code exchange and the JWKS
	// (default a client with a 30 s timeout).
	HTTPClient *http.Client
	// StateLifetime is how long a started sign-in stays valid (default
	// DefaultStateLifetime).
	StateLifetime time.Duration
	// MaxUsedStates bounds the memory of used states kept to refuse
	// replays (default DefaultMaxUsedStates; the oldest is forgotten
	// first, after which the code's single use at ZITADEL still refuses
	// the replay).
	MaxUsedStates int
	// Clock is the time source (default time.Now).
	Clock func() time.Time
	// VerifierOptions are added to those of the ID token Verifier (which
	// uses discovery's jwks_uri, ClientID as audience and HTTPClient).
	VerifierOptions []shadow.VerifierOption
}

// Defaults of Config.
const (
	// DefaultStateLifetime is how long a started sign-in stays valid: 10 minutes.
	DefaultStateLifetime = 10 * time.Minute
	// DefaultMaxUsedStates is how many used states a Flow remembers.
	DefaultMaxUsedStates = 10000
)

// Flow signs users in with ZITADEL by the OpenID Connect authorization code
// flow with PKCE (S256) and a nonce, and merges the guest that started the
// sign-in into the signed-in account. Create it with [New]. It is safe for
// concurrent use; it keeps no request context.
//
// Each sign-in attempt has its own state: a random id, sent as "state", and
// a cookie of that name's suffix sealing (JWE, dir + A256GCM) the PKCE
// verifier, the nonce, the guest id from the sealed guest session, the
// return path, the expiry and the value of the browser's own cookie
// (__Host-shadow-browser over https, set once per browser). Any number of
// tabs can sign in at once, the server keeps nothing per started sign-in,
// and a callback is accepted only in the browser that started it.
type Flow struct {
	cfg      Config
	oauth    oauth2.Config
	verifier *shadow.Verifier
	discover discovery
	client   *http.Client
	now      func() time.Time
	seal     *sealer
	used     *usedStates
	secure   bool
	cookie   string // state cookie name prefix
	pending  string // pending-merge cookie name
	browser  string // browser cookie name (see browserID)
	path     string // state cookie path: the redirect URL's
}

// discovery is the part of the OpenID Provider Metadata (OpenID Connect
// Discovery 1.0 §3) a Flow uses.
type discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
}

// New reads the provider's discovery document at
// <Issuer without trailing slash>/.well-known/openid-configuration (one GET,
// not retried; OpenID Connect Discovery 1.0 §4) and returns a Flow. ctx
// bounds that request only.
//
// Errors: invalid configuration (all problems at once); the discovery
// request's failure; [ErrIssuerMismatch] when the document's issuer differs
// from cfg.Issuer in any byte.
func New(ctx context.Context, cfg Config) (*Flow, error) {
	f, err := newFlow(cfg)
	if err != nil {
		return nil, err
	}
	if err := f.fetchDiscovery(ctx); err != nil {
		return nil, err
	}
	d := f.discover
	f.oauth = oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		RedirectURL:  cfg.RedirectURL,
		Scopes:       f.cfg.Scopes,
		Endpoint:     oauth2.Endpoint{AuthURL: d.AuthorizationEndpoint, TokenURL: d.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams},
	}
	if cfg.ClientSecret != "" {
		f.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	}
	vopts := append([]shadow.VerifierOption{shadow.WithAudience(cfg.ClientID), shadow.WithJWKSURL(d.JWKSURI),
		shadow.WithVerifierHTTPClient(f.client), shadow.WithVerifierClock(f.now)}, cfg.VerifierOptions...)
	if f.verifier, err = shadow.NewVerifier(d.Issuer, vopts...); err != nil {
		return nil, err
	}
	return f, nil
}

// newFlow checks cfg and fills defaults; it makes no network call.
func newFlow(cfg Config) (*Flow, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("shadow: sign-in: "+format, a...)) }
	if u, err := url.Parse(cfg.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		bad("Issuer %q is not an https URL (http only for localhost)", cfg.Issuer)
	}
	if cfg.ClientID == "" {
		bad("ClientID is required")
	}
	redirect, err := url.Parse(cfg.RedirectURL)
	switch {
	case err != nil || redirect.Host == "" || redirect.Fragment != "":
		bad("RedirectURL %q is not an absolute URL without fragment", cfg.RedirectURL)
	case redirect.Scheme != "https" && !(redirect.Scheme == "http" && isLoopback(redirect.Hostname())):
		bad("RedirectURL %q must use https (http only for localhost)", cfg.RedirectURL)
	}
	if cfg.PostLogoutRedirectURL != "" {
		if u, err := url.Parse(cfg.PostLogoutRedirectURL); err != nil || u.Host == "" ||
			(u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			bad("PostLogoutRedirectURL %q is not an absolute https URL (http only for localhost)", cfg.PostLogoutRedirectURL)
		}
	}
	if len(cfg.Secrets) == 0 {
		bad("Secrets are required (32 random bytes or more)")
	}
	for i, s := range cfg.Secrets {
		if len(s) < 32 {
			bad("Secrets[%d] has %d bytes, want at least 32", i, len(s))
		}
	}
	if cfg.StateLifetime < 0 || cfg.MaxUsedStates < 0 {
		bad("StateLifetime and MaxUsedStates must not be negative")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.StateLifetime == 0 {
		cfg.StateLifetime = DefaultStateLifetime
	}
	if cfg.MaxUsedStates == 0 {
		cfg.MaxUsedStates = DefaultMaxUsedStates
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"openid", "profile", "email"}
	} else if !containsString(cfg.Scopes, "openid") {
		cfg.Scopes = append([]string{"openid"}, cfg.Scopes...)
	}
	f := &Flow{cfg: cfg, client: cfg.HTTPClient, now: cfg.Clock, secure: redirect.Scheme == "https"}
	if f.client == nil {
		f.client = &http.Client{Timeout: 30 * time.Second}
	}
	if f.now == nil {
		f.now = time.Now
	}
	keys := make([][]byte, len(cfg.Secrets))
	for i, s := range cfg.Secrets {
		k, err := hkdf.Key(sha256.New, s, []byte("shadow sign-in state v1"), "A256GCM", 32)
		if err != nil {
			return nil, fmt.Errorf("shadow: sign-in: derive state key: %w", err)
		}
		keys[i] = k
	}
	f.seal = newSealer(keys)
	f.used = newUsedStates(cfg.MaxUsedStates)
	f.path = redirect.EscapedPath()
	if f.path == "" {
		f.path = "/"
	}
	if f.secure {
		f.cookie, f.pending, f.browser = "__Secure-shadow-signin-", "__Host-shadow-merge", "__Host-shadow-browser"
	} else {
		f.cookie, f.pending, f.browser = "shadow-signin-", "shadow-merge", "shadow-browser"
	}
	return f, nil
}

// maxDiscoveryBytes bounds the discovery document read.
const maxDiscoveryBytes = 1 << 20

func (f *Flow) fetchDiscovery(ctx context.Context) error {
	u := strings.TrimSuffix(f.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("shadow: sign-in: discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("shadow: sign-in: discovery: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBytes))
	if err != nil {
		return fmt.Errorf("shadow: sign-in: discovery: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("shadow: sign-in: discovery: %s answered HTTP %d", u, resp.StatusCode)
	}
	var d discovery
	if err := json.Unmarshal(body, &d); err != nil {
		return fmt.Errorf("shadow: sign-in: discovery: %s: %v", u, err)
	}
	if d.Issuer != f.cfg.Issuer {
		return fmt.Errorf("%w: document says %q, configured %q", ErrIssuerMismatch, d.Issuer, f.cfg.Issuer)
	}
	if d.AuthorizationEndpoint == "" || d.TokenEndpoint == "" || d.JWKSURI == "" {
		return fmt.Errorf("shadow: sign-in: discovery: %s lacks authorization_endpoint, token_endpoint or jwks_uri", u)
	}
	if len(d.CodeChallengeMethods) > 0 && !containsString(d.CodeChallengeMethods, "S256") {
		return fmt.Errorf("shadow: sign-in: discovery: provider does not support PKCE S256")
	}
	f.discover = d
	return nil
}

// Verifier returns the Verifier that checks the ID tokens of this Flow.
func (f *Flow) Verifier() *shadow.Verifier { return f.verifier }

func containsString(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// isLoopback reports whether host (a URL's Hostname) is "localhost" or a
// loopback IP address; a name such as 127.example.com is not.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
