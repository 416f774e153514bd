package shadow

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ProvisionLimits bound how fast EnsureGuest creates guests, so a script
// cannot fill ZITADEL with users. Zero fields take the defaults; a negative
// rate turns that limit off.
type ProvisionLimits struct {
	// PerClientPerMinute is the steady rate of new guests per client
	// (default 10), with PerClientBurst at once (default 5).
	PerClientPerMinute float64
	PerClientBurst     int
	// GlobalPerMinute is the budget of new guests per minute for this
	// Manager, whatever the client (default 600, the burst as well).
	GlobalPerMinute float64
	// RenewalsPerClientPerMinute bounds the guest-token renewals (token
	// exchanges) the cookie helpers make for one client (default 60, with
	// RenewalBurst at once, default 20). A guest is renewed at most once
	// per renewal window anyway; this bounds a client cycling through many
	// captured cookies. Beyond it a request keeps its still-valid token, or
	// gets a [*RateLimitError].
	RenewalsPerClientPerMinute float64
	RenewalBurst               int
	// ClientKey names the client of a request (default ClientIP: the
	// RemoteAddr's IP, IPv6 grouped by /64). Behind a reverse proxy, supply
	// one that reads the address your proxy vouches for.
	ClientKey func(r *http.Request) string
}

// WithProvisionLimits sets the abuse controls of EnsureGuest.
func WithProvisionLimits(l ProvisionLimits) Option { return func(c *config) { c.limits = l } }

// ClientIP is the default ProvisionLimits.ClientKey: the IP of
// r.RemoteAddr; IPv6 addresses are grouped by their /64 prefix, which one
// subscriber usually holds whole.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() != nil {
		return ip.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// RateLimitError is returned by EnsureGuest when a provisioning limit is
// reached; it matches ErrRateLimited.
type RateLimitError struct {
	RetryAfter time.Duration // when a new guest will be allowed
	Global     bool          // the global budget, not the client's, ran out
}

func (e *RateLimitError) Error() string {
	who := "client"
	if e.Global {
		who = "global"
	}
	return fmt.Sprintf("shadow: %s guest creation limit reached; retry in %v", who, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// retryAfterSeconds is the Retry-After value for d, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// limiter applies ProvisionLimits. It is safe for concurrent use.
type limiter struct {
	perClient rate.Limit
	burst     int
	global    *rate.Limiter
	key       func(*http.Request) string

	mu        sync.Mutex
	clients   map[string]*rate.Limiter
	lastPrune time.Time
}

// maxTrackedClients bounds the per-client table; idle clients are pruned
// beyond it.
const maxTrackedClients = 50_000

// Default renewal bounds per client (ProvisionLimits.RenewalsPerClientPerMinute).
const (
	defaultRenewalsPerClientPerMinute = 60
	defaultRenewalBurst               = 20
)

// newLimiter applies l's per-client and global limits, with defPerMin and
// defBurst for a zero per-client rate and burst.
func newLimiter(l ProvisionLimits, defPerMin float64, defBurst int) *limiter {
	perMin, burst, global := l.PerClientPerMinute, l.PerClientBurst, l.GlobalPerMinute
	if perMin == 0 {
		perMin = defPerMin
	}
	if burst <= 0 {
		burst = defBurst
	}
	if global == 0 {
		global = 600
	}
	lim := &limiter{burst: burst, key: l.ClientKey, clients: map[string]*rate.Limiter{}}
	if lim.key == nil {
		lim.key = ClientIP
	}
	if perMin > 0 {
		lim.perClient = rate.Limit(perMin / 60)
	}
	if global > 0 {
		lim.global = rate.NewLimiter(rate.Limit(global/60), int(math.Max(1, global)))
	}
	return lim
}

// allow takes one guest from the client's and the global bucket at now,
// or says how long to wait. A refused request consumes nothing.
func (l *limiter) allow(r *http.Request, now time.Time) error {
	var client *rate.Reservation
	if l.perClient > 0 {
		client = l.clientLimiter(l.key(r), now).ReserveN(now, 1)
		if d := client.DelayFrom(now); d > 0 {
			client.CancelAt(now)
			return &RateLimitError{RetryAfter: d}
		}
	}
	if l.global != nil {
		g := l.global.ReserveN(now, 1)
		if d := g.DelayFrom(now); d > 0 {
			g.CancelAt(now)
			if client != nil {
				client.CancelAt(now)
			}
			return &RateLimitError{RetryAfter: d, Global: true}
		}
	}
	return nil
}

func (l *limiter) clientLimiter(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cl, ok := l.clients[key]; ok {
		return cl
	}
	if len(l.clients) >= maxTrackedClients && now.Sub(l.lastPrune) > time.Second {
		l.lastPrune = now
		for k, cl := range l.clients {
			if cl.TokensAt(now) >= float64(l.burst) { // full again: same as a new one
				delete(l.clients, k)
			}
		}
	}
	cl := rate.NewLimiter(l.perClient, l.burst)
	l.clients[key] = cl
	return cl
}
