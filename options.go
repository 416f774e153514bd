package shadow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/oauth2"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// Option configures a Manager; see [New].
type Option func(*config)

type config struct {
	issuer          string // base URL of the endpoints: the issuer without a trailing slash
	exactIssuer     string // the issuer as given: tokens' "iss" and assertions' "aud"
	orgID           string
	clientID        string
	projectID       string
	creds           Credentials
	clientAuth      clientAuth
	tokens          oauth2.TokenSource
	retryClient     *retryablehttp.Client
	store           CartStore
	data            []namedData
	codec           SessionCodec
	sessionKeys     []SessionKey
	httpClient      *http.Client
	now             func() time.Time
	emailDomain     string
	tagKey          string
	dailyTags       bool
	guestName       [2]string
	mergePolicy     MergePolicy
	sessionLifetime time.Duration
	idleTimeout     time.Duration
	renewBefore     time.Duration
	trustedOrigins  []string
	cookieName      string
	insecureCookies bool
	retry           RetryOptions
	legacyMetadata  bool
	observer        Observer
	tracer          Tracer
	logger          *slog.Logger
	limits          ProvisionLimits
	guestLocker     Locker
	egress          EgressBudget
	budget          *zitadel.Budget // every request to ZITADEL waits for it (httpClient's transport)
	pool            *PoolOptions    // nil: no guest pool
	errs            []error
}

// RetryOptions bound the retries of idempotent requests (reads, DeleteUser,
// CreateUser with the SDK's own user id, token requests). Non-idempotent
// requests (UpdateUser) are never retried.
type RetryOptions struct {
	MaxAttempts int           // attempts in all, the first included; default 4, 1 disables retries
	MinWait     time.Duration // base of the exponential backoff; default 100 ms
	MaxWait     time.Duration // longest single wait, Retry-After included; default 5 s
}

// Defaults of the options.
const (
	// DefaultEmailDomain is the domain of guests' synthetic addresses.
	DefaultEmailDomain = "guest.invalid"
	// DefaultTagKey is the metadata key of the guest tag.
	DefaultTagKey = "GUEST_CREATED_AT"
	// DefaultSessionLifetime is the absolute lifetime of a session, however
	// active: 400 days, the longest Max-Age browsers keep (RFC 6265bis
	// §5.6.2).
	DefaultSessionLifetime = 400 * 24 * time.Hour
	// DefaultIdleTimeout is how long a session lives past its last
	// activity: 30 days.
	DefaultIdleTimeout = 30 * 24 * time.Hour
	// DefaultRenewBefore is how long before its expiry a guest token is
	// renewed: 5 minutes.
	DefaultRenewBefore = 5 * time.Minute
	// DefaultCookieName is the session cookie's name; the __Host- prefix
	// makes browsers insist on Secure, Path=/ and no Domain.
	DefaultCookieName = "__Host-shadow"
	// DefaultInsecureCookieName is the default cookie name with
	// WithInsecureCookies: browsers refuse the __Host- prefix without Secure.
	DefaultInsecureCookieName = "shadow"
)

// WithOrganization sets the ZITADEL organization id guests are created in. Required.
func WithOrganization(orgID string) Option { return func(c *config) { c.orgID = orgID } }

// WithClientID sets the client id of the OIDC application that performs
// the token exchange; the application needs the Token Exchange grant type.
// Required for Impersonate, the cookie helpers and the guest pool; a
// Manager that only provisions, upgrades, merges or sweeps does without
// (Impersonate then fails with [ErrNoClientID]).
func WithClientID(clientID string) Option { return func(c *config) { c.clientID = clientID } }

// WithProjectID sets the id of the ZITADEL project of the OIDC application.
// Required with WithClientID and KeyFile or ClientCredentials credentials: their tokens ask
// for this project's audience, which ZITADEL ≥ v4.15.3 requires of a
// token-exchange actor (docs/zitadel.md §5.5). PATs need no project.
func WithProjectID(projectID string) Option { return func(c *config) { c.projectID = projectID } }

// WithClientSecret authenticates the OIDC application at the token
// endpoint with its client secret, by HTTP Basic (AuthClientSecretBasic,
// URL-encoded as RFC 6749 §2.3.1 asks) or in the form
// (AuthClientSecretPost). Without it or WithClientKey the application is a
// public client (AuthNone); ZITADEL recommends a confidential client for
// token exchange.
func WithClientSecret(secret string, method ClientAuthMethod) Option {
	return func(c *config) {
		if secret == "" || (method != AuthClientSecretBasic && method != AuthClientSecretPost) {
			c.errs = append(c.errs, errors.New("shadow: WithClientSecret needs a secret and AuthClientSecretBasic or AuthClientSecretPost"))
			return
		}
		c.clientAuth = clientAuth{method: method, secret: secret}
	}
}

// WithClientKey authenticates the OIDC application with private_key_jwt
// (RFC 7523 §2.2), using an application key file as ZITADEL downloads it:
// {"type":"application","keyId","key","appId","clientId"}. Its clientId
// must equal WithClientID's.
func WithClientKey(keyFileJSON []byte) Option {
	return func(c *config) {
		kf, err := parseKeyFile(keyFileJSON, "application")
		if err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.clientAuth = clientAuth{method: AuthPrivateKeyJWT, key: kf}
	}
}

// WithCredentials sets the machine user the SDK acts as. It needs
// IAM_USER_MANAGER (or ORG_USER_MANAGER on the guests' organization) and
// IAM_END_USER_IMPERSONATOR (or ORG_END_USER_IMPERSONATOR). Required.
func WithCredentials(cr Credentials) Option { return func(c *config) { c.creds = cr } }

// WithCartStore sets where carts live (memstore for tests, pgstore in
// production). It is optional: an app without carts configures none, and
// other data a guest owns comes with WithGuestData. MergeInto merges the
// cart with the policy of WithMergePolicy (CartStore.Merge, or
// CartRetirer.MergeGuest when the store has it) and Sweep deletes it
// (CartStore.Delete, or CartRetirer.DeleteGuest); the store appears as
// CartStoreName in MergeResult.Stores.
func WithCartStore(s CartStore) Option { return func(c *config) { c.store = s } }

// WithSessionKeys makes the default [JWECodec] seal cookies with primary
// and still open cookies sealed with any of previous (key rotation).
// The cookie helpers (EnsureGuest, Middleware, GuestRequired, ReadSession,
// WriteSession) need it or WithSessionCodec; a Manager that only sweeps or
// upgrades does not.
func WithSessionKeys(primary SessionKey, previous ...SessionKey) Option {
	return func(c *config) { c.sessionKeys = append([]SessionKey{primary}, previous...) }
}

// WithSessionCodec replaces the default codec.
func WithSessionCodec(sc SessionCodec) Option { return func(c *config) { c.codec = sc } }

// WithHTTPClient sets the one *http.Client every request to ZITADEL goes
// through (default: a 30 s timeout and up to 64 idle connections to
// ZITADEL). The SDK adds retries on top of it. Give its transport at least
// as many idle connections per host (MaxIdleConnsPerHost; Go's default is
// 2) as the Sweep concurrency and the requests you expect at once, or most
// requests pay for a new TLS handshake.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithClock sets the Manager's clock (default time.Now): tag times,
// sweep cutoffs, token expiry, provisioning limits, and everything the
// Manager builds follows it: the default session codec (WithSessionKeys)
// and the Verifiers of [Manager.Verifier]. It is the one clock of a test:
// hand over zitadeltest's, WithClock(fake.Now), and move time with
// fake.Advance or fake.SetTime instead of sleeping. (A codec given with
// WithSessionCodec or a Verifier built with NewVerifier keeps its own.)
// The egress budget and retry waits run on real time: they pace real
// requests.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithGuestEmailDomain sets the domain of guests' synthetic e-mail
// addresses, guest-<id>@<domain> (default "guest.invalid", a TLD RFC 2606
// reserves, so no mail can ever be delivered).
func WithGuestEmailDomain(domain string) Option { return func(c *config) { c.emailDomain = domain } }

// WithGuestName sets the given and family name of new guests (default "Guest" "User").
func WithGuestName(given, family string) Option {
	return func(c *config) { c.guestName = [2]string{given, family} }
}

// WithTagKey sets the metadata key of the guest tag (default
// GUEST_CREATED_AT); its value is the RFC 3339 UTC creation time.
func WithTagKey(key string) Option { return func(c *config) { c.tagKey = key } }

// WithDailyTags writes the official demo's daily keys, GUEST_YY_MM_DD in
// UTC, instead of one fixed key. The SDK recognizes both styles either way.
func WithDailyTags() Option { return func(c *config) { c.dailyTags = true } }

// WithMergePolicy sets how MergeInto combines a SKU present in both carts
// (default SumQuantities).
func WithMergePolicy(p MergePolicy) Option { return func(c *config) { c.mergePolicy = p } }

// WithSessionLifetime sets the absolute lifetime of a session, counted
// from its creation and not extended by activity (default 400 days, like
// scs's Lifetime). See WithIdleTimeout for the sliding limit.
func WithSessionLifetime(d time.Duration) Option { return func(c *config) { c.sessionLifetime = d } }

// WithIdleTimeout sets how long a session lives past its last activity
// (default 30 days, like scs's IdleTimeout). The Middleware re-seals the
// cookie of an active visitor at most every few minutes (the idle timeout
// divided by 8, at most 5 minutes), which moves its Max-Age, and records
// the guest's activity in the data stores that keep it ([ActivityRecorder])
// so that SweepOptions.IdleFor measures real activity. Sweep's
// AllowLiveSessions guard and PruneRetired's retention are measured
// against it: an unused cookie dies with it.
func WithIdleTimeout(d time.Duration) Option { return func(c *config) { c.idleTimeout = d } }

// WithTrustedOrigins names origins ("https://shop.example", scheme, host and
// optional port) whose cross-site unsafe requests EnsureGuest and
// GuestRequired accept; see [ErrCrossSite].
func WithTrustedOrigins(origins ...string) Option {
	return func(c *config) { c.trustedOrigins = append(c.trustedOrigins, origins...) }
}

// WithRenewBefore sets how long before its expiry a guest token is renewed
// by re-impersonation (default 5 minutes).
func WithRenewBefore(d time.Duration) Option { return func(c *config) { c.renewBefore = d } }

// WithCookieName sets the session cookie's name (default "__Host-shadow").
func WithCookieName(name string) Option { return func(c *config) { c.cookieName = name } }

// WithInsecureCookies drops the Secure attribute so the session cookie
// works over plain http on localhost during development. Never use it in
// production. The default cookie name becomes "shadow".
func WithInsecureCookies() Option { return func(c *config) { c.insecureCookies = true } }

// WithLegacyMetadata adapts the SDK to ZITADEL v4.1 to v4.12, whose
// CreateUser has no root metadata and whose UpdateUser has no metadata at
// all: Provision writes the tag in human.metadata, and Upgrade removes it
// with DeleteUserMetadata after the UpdateUser succeeded (two calls instead
// of one atomic batch; see Upgrade for why the order is safe).
func WithLegacyMetadata() Option { return func(c *config) { c.legacyMetadata = true } }

// WithRetry bounds retries; zero fields keep their defaults.
func WithRetry(r RetryOptions) Option { return func(c *config) { c.retry = r } }

func newConfig(issuer string, opts []Option) (config, error) {
	c := config{
		issuer:          strings.TrimSuffix(issuer, "/"),
		exactIssuer:     issuer,
		now:             time.Now,
		emailDomain:     DefaultEmailDomain,
		tagKey:          DefaultTagKey,
		guestName:       [2]string{"Guest", "User"},
		mergePolicy:     SumQuantities,
		sessionLifetime: DefaultSessionLifetime,
		idleTimeout:     DefaultIdleTimeout,
		renewBefore:     DefaultRenewBefore,
		retry:           RetryOptions{MaxAttempts: 4, MinWait: 100 * time.Millisecond, MaxWait: 5 * time.Second},
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	errs := c.errs
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("shadow: "+format, a...)) }
	if err := checkIssuer(c.issuer); err != nil {
		errs = append(errs, err)
	}
	if c.orgID == "" {
		bad("WithOrganization is required")
	}
	c.clientAuth.clientID = c.clientID
	switch k := c.clientAuth.key; {
	case c.clientID == "" && c.clientAuth.method != AuthNone:
		bad("WithClientSecret and WithClientKey authenticate the application of WithClientID, which is missing")
	case k != nil && k.ClientID != c.clientID:
		bad("WithClientKey: the key file is for client %q, not WithClientID's %q", k.ClientID, c.clientID)
	}
	if c.clientID != "" && c.creds.kind != "" && c.creds.kind != "PAT" && c.projectID == "" {
		bad("WithProjectID is required with %s credentials: the token-exchange actor needs the project's audience", c.creds.kind)
	}
	switch {
	case c.creds.err != nil:
		errs = append(errs, c.creds.err)
	case c.creds.source == nil:
		bad("WithCredentials is required (for example shadow.PAT(token))")
	}
	errs = append(errs, checkDataStores(c.store, c.data)...)
	for i, k := range c.sessionKeys {
		if len(k.key) == 0 {
			bad("session key %d is empty; build keys with NewSessionKey or SessionKeyFromPassphrase", i)
		}
	}
	if c.httpClient == nil {
		c.httpClient = defaultHTTPClient()
	}
	if b, err := newBudget(c.egress); err != nil {
		errs = append(errs, err)
	} else {
		c.budget = b
		c.httpClient = zitadel.WithBudget(c.httpClient, b)
	}
	if c.now == nil {
		bad("WithClock: nil clock")
	}
	if !validDomain(c.emailDomain) {
		bad("WithGuestEmailDomain: %q is not a domain name", c.emailDomain)
	}
	if c.tagKey == "" || len(c.tagKey) > 200 || isDailyTagKey(c.tagKey) {
		bad("WithTagKey: %q must be 1 to 200 bytes and not of the daily form GUEST_YY_MM_DD", c.tagKey)
	}
	if c.guestName[0] == "" || c.guestName[1] == "" {
		bad("WithGuestName: given and family name must not be empty")
	}
	if c.mergePolicy == nil {
		bad("WithMergePolicy: nil policy")
	}
	if c.sessionLifetime <= 0 {
		bad("WithSessionLifetime: %v must be positive", c.sessionLifetime)
	}
	if c.idleTimeout <= 0 {
		bad("WithIdleTimeout: %v must be positive", c.idleTimeout)
	}
	if c.renewBefore < 0 {
		bad("WithRenewBefore: %v must not be negative", c.renewBefore)
	}
	for _, o := range c.trustedOrigins {
		if err := http.NewCrossOriginProtection().AddTrustedOrigin(o); err != nil {
			bad("WithTrustedOrigins: %v", err)
		}
	}
	if c.cookieName == "" {
		c.cookieName = DefaultCookieName
		if c.insecureCookies {
			c.cookieName = DefaultInsecureCookieName
		}
	}
	if !validCookieName(c.cookieName) {
		bad("WithCookieName: %q is not a valid cookie name", c.cookieName)
	} else if c.insecureCookies && (strings.HasPrefix(c.cookieName, "__Host-") || strings.HasPrefix(c.cookieName, "__Secure-")) {
		bad("WithCookieName: %q needs Secure, which WithInsecureCookies drops", c.cookieName)
	}
	if c.pool != nil {
		if err := checkPool(c.pool, c.clientID != ""); err != nil {
			errs = append(errs, err)
		}
		if c.codec == nil && len(c.sessionKeys) == 0 {
			bad("WithGuestPool serves EnsureGuest, which needs WithSessionKeys or WithSessionCodec")
		}
	}
	if c.retry.MaxAttempts == 0 {
		c.retry.MaxAttempts = 4
	}
	if c.retry.MinWait == 0 {
		c.retry.MinWait = 100 * time.Millisecond
	}
	if c.retry.MaxWait == 0 {
		c.retry.MaxWait = 5 * time.Second
	}
	if c.retry.MaxAttempts < 1 || c.retry.MinWait < 0 || c.retry.MaxWait < c.retry.MinWait {
		bad("WithRetry: %+v needs MaxAttempts ≥ 1 and 0 ≤ MinWait ≤ MaxWait", c.retry)
	}
	if len(errs) == 0 {
		c.retryClient = zitadel.NewRetryClient(c.httpClient, zitadel.RetryPolicy{
			MaxAttempts: c.retry.MaxAttempts, MinWait: c.retry.MinWait, MaxWait: c.retry.MaxWait})
		ts, err := c.creds.source(&c)
		if err != nil {
			errs = append(errs, err)
		}
		c.tokens = ts
	}
	if len(errs) > 0 {
		return config{}, errors.Join(errs...)
	}
	return c, nil
}

// bearer returns the service token for the user service and the exchange.
// oauth2.TokenSource takes no ctx, so a token request runs on its own
// timeout (tokenTimeout); the caller stops waiting for it when ctx ends,
// and the request goes on for the next caller.
func (c *config) bearer(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if c.creds.kind == "PAT" { // static: nothing to wait for
		t, err := c.tokens.Token()
		if err != nil {
			return "", err
		}
		return t.AccessToken, nil
	}
	type result struct {
		t   *oauth2.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		t, err := c.tokens.Token()
		done <- result{t, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return "", r.err
		}
		return r.t.AccessToken, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// defaultHTTPClient is http.DefaultTransport with room for 64 idle
// connections to ZITADEL, and a 30 s timeout.
func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// tokenClient sends token requests; they carry client or assertion
// credentials, never the service token.
func (c *config) tokenClient() *zitadel.Client {
	return &zitadel.Client{BaseURL: c.issuer, HTTP: c.retryClient, UserAgent: userAgent}
}

// ErrInsecureIssuer is returned (wrapped, with the issuer) by New and
// NewVerifier for an http:// issuer whose host is not loopback. ZITADEL is
// reached over https; plain http is accepted only for 127.0.0.0/8, ::1 and
// localhost, such as a local ZITADEL or zitadeltest.WithPlainHTTP, where no
// token crosses a network.
var ErrInsecureIssuer = errors.New("shadow: issuer must use https (plain http only on loopback: 127.0.0.0/8, ::1, localhost)")

func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || issuer == "" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("shadow: issuer %q is not an absolute URL such as https://my-instance.zitadel.cloud", issuer)
	}
	if u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%w: %q", ErrInsecureIssuer, issuer)
}

// isLoopback reports whether host names this machine: localhost or an
// address in 127.0.0.0/8 or ::1. Other names that resolve to loopback (such
// as *.localhost or nip.io names) are not trusted: their resolution is not
// ours to check.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func validCookieName(n string) bool {
	if n == "" {
		return false
	}
	for _, r := range n {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return true
}
