package shadow

import (
	"context"
	"net/http"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// Guest is a guest user the SDK created in ZITADEL.
type Guest struct {
	ID             string    // ZITADEL user id, chosen by the SDK (32 lowercase hex digits)
	OrganizationID string    // the organization the guest lives in
	CreatedAt      time.Time // the time in the guest tag, UTC, second precision
}

// Token is an impersonation token of a guest, issued by ZITADEL's token
// exchange (RFC 8693 §2.2.1).
type Token struct {
	// AccessToken is a JWT signed by ZITADEL: "sub" is the guest, "act"
	// names the service account, and the "urn:zitadel:iam:user:metadata"
	// claim carries the guest tag. ZITADEL's own APIs refuse it; it is for
	// the app's resource servers.
	AccessToken string
	// IDToken is the OIDC ID token issued with it (scope "openid").
	IDToken string
	// TokenType is "Bearer".
	TokenType string
	// IssuedTokenType is the RFC 8693 type of AccessToken,
	// "urn:ietf:params:oauth:token-type:jwt".
	IssuedTokenType string
	// Scope is the space-delimited scope ZITADEL granted.
	Scope string
	// Expiry is when AccessToken expires (ZITADEL's default lifetime is 12 h).
	Expiry time.Time
}

// Profile is what a guest gives when registering (Upgrade).
type Profile struct {
	GivenName  string // 1 to 200 characters
	FamilyName string // 1 to 200 characters
	Email      string // becomes the username and the e-mail address
	Password   string // must satisfy the organization's password complexity policy
	// Verification says how the address is verified: SendCode (the
	// default), ReturnCode or VerifiedByApp.
	Verification EmailVerification
	// VerificationURL is ZITADEL's URL template for the link in the code
	// mail ({{.UserID}}, {{.Code}}, {{.OrgID}}); empty for ZITADEL's own.
	VerificationURL string
}

// Manager runs the guest lifecycle against one ZITADEL instance:
// Provision, Impersonate, Upgrade, MergeInto and Sweep, plus the session
// cookie helpers of http.go. Create it with [New]. It is safe for
// concurrent use and keeps no request context.
type Manager struct {
	cfg     config
	api     *zitadel.Client
	codec   SessionCodec
	data    []dataStore // stores of data guests own, the cart store first
	limiter *limiter

	flights  singleflight.Group // provisioning, by browser key
	renewals singleflight.Group // token renewal, by guest id
	renewed  renewalMemory      // last renewal per guest, shared by the process
	renewLim *limiter           // renewals per client
	recent   recentSessions
	guests   guestLocks // per-guest lock of Upgrade, MergeInto and Sweep
	lag      lagMonitor // when ZITADEL's projection last lagged
	pool     *guestPool // nil without WithGuestPool
	tombs    tombstones // guests seen to end: no session of theirs is a guest session
	cop      *http.CrossOriginProtection

	active activityMemory // last activity write per guest

	hasRetirer  bool // some store retires owners: the shared ended-guest check
	hasActivity bool // some store keeps activity
}

// New builds a Manager for the ZITADEL instance at issuer (for example
// "https://my-instance.zitadel.cloud"). The options WithOrganization
// and WithCredentials are required; the stores of data guests own
// (WithCartStore, WithGuestData) are optional; Impersonate and the cookie
// helpers also need WithClientID, and the cookie helpers WithSessionKeys or
// WithSessionCodec (a Manager that only sweeps needs neither). Every invalid or
// missing option is reported at once, joined in one error. New makes no
// network call.
func New(issuer string, opts ...Option) (*Manager, error) {
	cfg, err := newConfig(issuer, opts)
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, codec: cfg.codec, data: dataStores(cfg.store, cfg.mergePolicy, cfg.data), limiter: newLimiter(cfg.limits, 10, 5)}
	m.renewLim = newLimiter(ProvisionLimits{PerClientPerMinute: cfg.limits.RenewalsPerClientPerMinute,
		PerClientBurst: cfg.limits.RenewalBurst, GlobalPerMinute: -1, ClientKey: cfg.limits.ClientKey},
		defaultRenewalsPerClientPerMinute, defaultRenewalBurst)
	m.cop = http.NewCrossOriginProtection()
	for _, o := range cfg.trustedOrigins {
		_ = m.cop.AddTrustedOrigin(o) // checked in newConfig
	}
	for _, d := range m.data {
		m.hasRetirer = m.hasRetirer || d.retirer != nil
		m.hasActivity = m.hasActivity || d.activity != nil
	}
	m.api = &zitadel.Client{BaseURL: cfg.issuer, HTTP: cfg.retryClient, Bearer: m.cfg.bearer, UserAgent: userAgent}
	if m.codec == nil && len(cfg.sessionKeys) > 0 {
		m.codec, err = NewJWECodec(cfg.sessionKeys[0], cfg.sessionKeys[1:], WithCodecClock(cfg.now),
			WithMaxAge(cfg.idleTimeout))
		if err != nil {
			return nil, err
		}
	}
	if cfg.pool != nil { // last: nothing may fail after its goroutine starts
		m.pool = newGuestPool(m, *cfg.pool)
	}
	return m, nil
}

// userAgent names the SDK in requests to ZITADEL.
const userAgent = "shadow-go"

// now is the Manager's clock (WithClock).
func (m *Manager) now() time.Time { return m.cfg.now() }

// call sends one user-service RPC and converts its error; within a Sweep
// it first waits for the run's pacer.
func (m *Manager) call(ctx context.Context, method string, in, out any) error {
	if err := pace(ctx); err != nil {
		return apiErr(ctx, method, err)
	}
	return apiErr(ctx, method, m.api.Call(ctx, method, in, out))
}
