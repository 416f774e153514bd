package shadow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// ReadSession opens the guest session cookie of r. It returns
// [ErrNoSession] when r has no such cookie and an error wrapping
// [ErrInvalidSession] when the value is tampered, forged, expired, sealed
// with an unknown key or for another cookie name. It makes no network call.
func (m *Manager) ReadSession(r *http.Request) (Session, error) {
	if m.codec == nil {
		return Session{}, ErrNoSessionCodec
	}
	c, err := r.Cookie(m.cfg.cookieName)
	if err != nil {
		return Session{}, ErrNoSession
	}
	return m.codec.Decode(m.cfg.cookieName, c.Value)
}

// WriteSession seals s and sets it as the session cookie on w: HttpOnly,
// Secure (unless WithInsecureCookies), SameSite=Lax, Path=/, Max-Age up to
// s.Expiry. It fails, setting nothing, when the sealed value would exceed
// 4096 bytes ([ErrSessionTooLarge]).
func (m *Manager) WriteSession(w http.ResponseWriter, s Session) error {
	if m.codec == nil {
		return ErrNoSessionCodec
	}
	v, err := m.codec.Encode(m.cfg.cookieName, s)
	if err != nil {
		return err
	}
	http.SetCookie(w, m.cookie(m.cfg.cookieName, v, maxAge(s.Expiry.Sub(m.now()))))
	return nil
}

// ClearSession tells the browser to drop the session cookie, as after an
// Upgrade or a MergeInto.
func (m *Manager) ClearSession(w http.ResponseWriter) {
	http.SetCookie(w, m.cookie(m.cfg.cookieName, "", -1))
}

func maxAge(d time.Duration) int { return max(1, int(d/time.Second)) }

func (m *Manager) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   !m.cfg.insecureCookies,
		SameSite: http.SameSiteLaxMode,
	}
}

type sessionKey struct{}

// SessionFromContext returns the guest session the Middleware, GuestRequired
// or EnsureGuest found for the request.
func SessionFromContext(ctx context.Context) (Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(Session)
	return s, ok
}

// Middleware opens the guest session cookie of each request, renews the
// guest token when it expires within WithRenewBefore (re-impersonation,
// one renewal in flight per guest, re-sealing the cookie), and passes the
// session to next in the request context ([SessionFromContext]). It never
// creates a guest: that happens on the first intent, in EnsureGuest. It
// gives a browser without a session a random browser-id cookie, which lets
// EnsureGuest create one guest for concurrent first intents. An invalid
// cookie is cleared and the request goes on anonymous; so does a session
// whose user is no longer a guest. If renewal fails while the old token is
// still valid, the old token is kept.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	m.mustHaveCodec("Middleware")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.ReadSession(r)
		switch {
		case errors.Is(err, ErrNoSession):
			m.ensureBrowserID(w, r)
		case err != nil:
			m.ClearSession(w)
			m.ensureBrowserID(w, r)
		default:
			if s, err = m.fresh(r.Context(), w, s); err == nil {
				r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// GuestRequired is middleware for intent endpoints (add to cart, save a
// draft): it calls EnsureGuest and passes the session to next in the
// request context. When a provisioning limit is reached it answers 429
// with Retry-After; when ZITADEL fails, 503, with Retry-After while the
// egress breaker holds requests back after a 429 of ZITADEL ([EgressBudget]).
func (m *Manager) GuestRequired(next http.Handler) http.Handler {
	m.mustHaveCodec("GuestRequired")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.EnsureGuest(w, r)
		var rl *RateLimitError
		switch {
		case errors.As(err, &rl):
			w.Header().Set("Retry-After", retryAfterSeconds(rl.RetryAfter))
			http.Error(w, "too many new sessions; try again later", http.StatusTooManyRequests)
			return
		case err != nil:
			if d := m.retryAfter(err); d > 0 {
				w.Header().Set("Retry-After", retryAfterSeconds(d))
			}
			m.log().Warn("shadow: guest session unavailable", "err", err)
			http.Error(w, "session service unavailable; try again", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	})
}

// EnsureGuest returns the request's guest session, creating the guest on
// this first intent when there is none: a ready guest of the pool
// (WithGuestPool), with no request to ZITADEL, or else Provision, then
// Impersonate (with bounded retries of ZITADEL's projection lag); then the
// sealed cookie is set on w. A missing, invalid or expired cookie, or one whose user is no
// longer a guest, gets a new guest: never someone else's. When renewing an
// existing guest's token fails, the error comes back and no new guest is
// made, so the guest keeps its cart.
//
// Concurrent first intents of one browser (same browser-id cookie, set by
// the Middleware, and same client key) create one guest: the calls share
// one provisioning, and a call arriving up to 10 s later, before the
// browser stored the cookie, gets the same session. This is the one place
// where a session goes to a request that did not carry it sealed; the
// browser id is a random HttpOnly cookie, as secret as the session cookie
// itself, but unsealed — behind a proxy, supply a ProvisionLimits.ClientKey
// that reads the client address the proxy vouches for, or the client key
// adds nothing to it. New guests are subject to
// WithProvisionLimits: a refusal is a [*RateLimitError] matching
// [ErrRateLimited]. While the egress breaker holds requests back after a
// 429 of ZITADEL for longer than a retry waits, a new guest fails at once
// with [*UnavailableError]. Call it before writing the response body. Other errors
// are those of Provision, Impersonate and WriteSession.
func (m *Manager) EnsureGuest(w http.ResponseWriter, r *http.Request) (Session, error) {
	if m.codec == nil {
		return Session{}, ErrNoSessionCodec
	}
	if m.cfg.clientID == "" {
		return Session{}, ErrNoClientID
	}
	ctx := r.Context()
	if s, ok := SessionFromContext(ctx); ok {
		return s, nil
	}
	if s, err := m.ReadSession(r); err == nil {
		s, err = m.fresh(ctx, w, s)
		if !errors.Is(err, ErrInvalidSession) {
			// A transient failure keeps the guest (and its cart) for the
			// next request instead of replacing it.
			return s, err
		}
	}
	key := m.browserKey(w, r)
	if s, ok := m.recent.get(key, m.now()); ok {
		return s, m.WriteSession(w, s)
	}
	provision := func() (Session, error) {
		if err := m.limiter.allow(r, m.now()); err != nil {
			return Session{}, err
		}
		// Shared by every waiter: not cancelled when the first one leaves;
		// fails at once while the egress breaker is open for longer than a retry waits.
		ctx, cancel := context.WithTimeout(m.failFast(context.WithoutCancel(ctx)), provisionTimeout)
		defer cancel()
		s, err := m.newSession(ctx) // from the pool (WithGuestPool) when it has one
		if err == nil {
			m.recent.put(key, s, m.now())
		}
		return s, err
	}
	var s Session
	var err error
	if key == "" {
		s, err = provision()
	} else {
		v, shareErr, _ := m.flights.Do(key, func() (any, error) { return provision() })
		s, err = v.(Session), shareErr
	}
	if err != nil {
		return Session{}, err
	}
	if err := m.WriteSession(w, s); err != nil {
		if errors.Is(err, ErrSessionTooLarge) {
			m.deleteUnusable(ctx, s.GuestID) // no cookie can ever carry it
		}
		return Session{}, err
	}
	return s, nil
}

// ErrNoSessionCodec is returned by the cookie helpers of a Manager built
// without WithSessionKeys or WithSessionCodec.
var ErrNoSessionCodec = errors.New("shadow: no session codec: configure WithSessionKeys or WithSessionCodec")

// mustHaveCodec panics when a middleware is built on a Manager without a
// session codec or a client id: a setup mistake, caught at start-up.
func (m *Manager) mustHaveCodec(what string) {
	if m.codec == nil {
		panic("shadow: " + what + " needs WithSessionKeys or WithSessionCodec")
	}
	if m.cfg.clientID == "" {
		panic("shadow: " + what + " needs WithClientID")
	}
}

// provisionTimeout bounds one shared provisioning.
const provisionTimeout = 30 * time.Second

// newGuestSession provisions and impersonates a guest. A guest it cannot
// hand out is deleted at once, so a misconfiguration does not leave one
// guest per request (the Sweep would find it by its tag otherwise).
func (m *Manager) newGuestSession(ctx context.Context) (Session, error) {
	g, err := m.Provision(ctx)
	if err != nil {
		return Session{}, err
	}
	start := time.Now()
	ictx := m.begin(ctx, EventImpersonated)
	tok, err := m.impersonate(ictx, g.ID, true, sessionScope)
	m.emit(ictx, Event{Kind: EventImpersonated, GuestID: g.ID, Duration: time.Since(start), Err: err})
	if err != nil {
		m.deleteUnusable(ctx, g.ID)
		return Session{}, err
	}
	return Session{GuestID: g.ID, Token: tok, Expiry: m.now().Add(m.cfg.sessionLifetime)}, nil
}

// fresh renews s's token when it expires within the renewal window; one
// renewal per guest runs at a time and concurrent requests share it. It
// returns ErrInvalidSession when the user is no longer a guest (clearing
// the cookie), and the old session when renewal fails but its token is
// still valid.
func (m *Manager) fresh(ctx context.Context, w http.ResponseWriter, s Session) (Session, error) {
	if m.now().Add(m.cfg.renewBefore).Before(s.Token.Expiry) {
		return s, nil
	}
	start := time.Now()
	ctx = m.begin(ctx, EventRenewed)
	v, err, shared := m.renewals.Do(s.GuestID, func() (any, error) {
		ctx = zitadel.WithPriority(m.failFast(context.WithoutCancel(ctx)), zitadel.PriorityRenewal)
		ctx, cancel := context.WithTimeout(ctx, provisionTimeout)
		defer cancel()
		return m.impersonate(ctx, s.GuestID, false, sessionScope)
	})
	if e := (Event{Kind: EventRenewed, GuestID: s.GuestID, Duration: time.Since(start), Err: err}); !shared {
		m.emit(ctx, e)
	} else {
		m.endTrace(ctx, e) // the renewal's outcome, observed once by the caller that ran it
	}
	switch {
	case errors.Is(err, ErrNotGuest) || errors.Is(err, ErrNotFound):
		m.ClearSession(w)
		return Session{}, ErrInvalidSession
	case err != nil:
		if m.now().Before(s.Token.Expiry) {
			return s, nil
		}
		return Session{}, err
	}
	s.Token = v.(Token)
	if err := m.WriteSession(w, s); err != nil {
		return Session{}, err
	}
	return s, nil
}

// deleteUnusable deletes a guest the SDK created moments ago and could not
// hand out; failures are left to the Sweep, which finds the guest by its tag.
func (m *Manager) deleteUnusable(ctx context.Context, guestID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := m.deleteUser(ctx, guestID); err != nil {
		m.log().Warn("shadow: could not delete an unusable guest; the sweep will", "guest", guestID, "err", err)
	}
}

// browserCookieName is the name of the browser-id cookie.
func (m *Manager) browserCookieName() string { return m.cfg.cookieName + "-b" }

// ensureBrowserID gives r's browser a random browser id unless it has
// one; it returns the id.
func (m *Manager) ensureBrowserID(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(m.browserCookieName()); err == nil && len(c.Value) >= 16 && len(c.Value) <= 64 {
		return c.Value
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return ""
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, m.cookie(m.browserCookieName(), id, maxAge(m.cfg.sessionLifetime)))
	return id
}

// browserKey identifies the browser of r for sharing one provisioning: its
// browser id and client key, hashed. It is empty for a browser without an
// id yet (it gets one now), which then shares nothing.
func (m *Manager) browserKey(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(m.browserCookieName())
	if err != nil || len(c.Value) < 16 || len(c.Value) > 64 {
		m.ensureBrowserID(w, r)
		return ""
	}
	sum := sha256.Sum256([]byte(c.Value + "\x00" + m.limiter.key(r)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// recentSessions remembers sessions created in the last recentTTL by
// browser key, so that a request sent before the browser stored the new
// cookie gets the same guest. It is bounded and safe for concurrent use.
type recentSessions struct {
	mu sync.Mutex
	m  map[string]recentSession
}

type recentSession struct {
	s       Session
	expires time.Time
}

const (
	recentTTL = 10 * time.Second
	maxRecent = 10_000
)

func (c *recentSessions) get(key string, now time.Time) (Session, bool) {
	if key == "" {
		return Session{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.After(e.expires) {
		return Session{}, false
	}
	return e.s, true
}

func (c *recentSessions) put(key string, s Session, now time.Time) {
	if key == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]recentSession{}
	}
	if len(c.m) >= maxRecent {
		for k, e := range c.m {
			if now.After(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxRecent {
			return // full of live entries: skip, dedupe is best effort
		}
	}
	c.m[key] = recentSession{s: s, expires: now.Add(recentTTL)}
}
