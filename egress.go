package shadow

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// EgressBudget bounds the requests one Manager sends to ZITADEL: the user
// service, the token endpoint (token exchange and service-token fetches)
// and the JWKS of the Verifiers it builds, retries included. ZITADEL Cloud
// limits all of its APIs together to 50 requests per second per client IP,
// averaged over a minute, and bans the IP for a minute when that rate holds
// for three minutes (docs/zitadel.md §3.5); the default stays under it.
//
// Requests waiting for the budget are served by priority: first intents
// and the calls an app makes for a waiting visitor (Provision,
// Impersonate, Upgrade, MergeInto) first, then token renewals, then the
// background work (Sweep, pool refills). SweepOptions.RequestsPerSecond
// can slow a sweep further, never speed it past the budget.
//
// After a 429 the breaker holds every request back for the answer's
// Retry-After, or BreakerWait when there is none, instead of piling on.
// The cookie helpers, for whom a visitor waits, fail at once with
// [*UnavailableError] when the wait is longer than a retry's
// (RetryOptions.MaxWait); GuestRequired answers 503 with Retry-After.
// Other calls wait it out unless their ctx's deadline comes first.
//
// Size it per replica: every replica behind one egress IP shares ZITADEL's
// limit, so give each RequestsPerSecond = (the limit's share for this app)
// / replicas, e.g. 40 / 4 = 10 for four replicas behind one NAT. Replicas
// with their own IPs may each keep the default.
type EgressBudget struct {
	// RequestsPerSecond is the steady rate (default 40; negative: no bound).
	RequestsPerSecond float64
	// Burst is how many requests may go at once after a quiet spell
	// (default RequestsPerSecond rounded up).
	Burst int
	// BreakerWait is how long a 429 without Retry-After holds requests
	// back (default 1 minute, ZITADEL Cloud's ban; negative: no breaker).
	// A Retry-After is honoured up to 10 minutes.
	BreakerWait time.Duration
}

// Defaults of the egress budget.
const (
	DefaultRequestsPerSecond = 40
	DefaultBreakerWait       = time.Minute
	maxBreakerWait           = 10 * time.Minute
)

// WithEgressBudget sets the Manager's budget of requests to ZITADEL; zero
// fields keep their defaults.
func WithEgressBudget(b EgressBudget) Option { return func(c *config) { c.egress = b } }

// newBudget validates b and builds the budget it describes.
func newBudget(b EgressBudget) (*zitadel.Budget, error) {
	if math.IsNaN(b.RequestsPerSecond) || math.IsInf(b.RequestsPerSecond, 0) || b.Burst < 0 {
		return nil, errors.New("shadow: WithEgressBudget: RequestsPerSecond must be finite and Burst not negative")
	}
	rps := b.RequestsPerSecond
	if rps == 0 {
		rps = DefaultRequestsPerSecond
	}
	burst := b.Burst
	if burst == 0 {
		burst = int(math.Ceil(max(rps, 1)))
	}
	wait := b.BreakerWait
	if wait == 0 {
		wait = DefaultBreakerWait
	}
	return zitadel.NewBudget(rps, burst, wait, maxBreakerWait), nil
}

// failFast marks ctx for the request path: while the breaker stays open
// for longer than a retry would wait (RetryOptions.MaxWait), its requests
// fail at once with *UnavailableError.
func (m *Manager) failFast(ctx context.Context) context.Context {
	return zitadel.FailFast(ctx, m.cfg.retry.MaxWait)
}

// retryAfter is how long a caller should wait before trying again after
// err: the breaker's remaining wait when err is ZITADEL's rate limit or an
// outage and the breaker is open; 0 when unknown.
func (m *Manager) retryAfter(err error) time.Duration {
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return ue.RetryAfter
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRateLimited) {
		return m.cfg.budget.OpenFor()
	}
	return 0
}
