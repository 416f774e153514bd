package shadow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// ReadSession opens the session cookie of r. It returns [ErrNoSession]
// when r has no such cookie; a [*GuestEndedError] (matching ErrNoSession
// and [ErrGuestEnded]) when the session's guest was upgraded, merged or
// swept, so that an app can tell an upgraded visitor to sign in; and an
// error wrapping [ErrInvalidSession] when the value is tampered, forged,
// expired, idle past WithIdleTimeout, sealed with an unknown key or for
// another cookie name. It makes no ZITADEL call; with a store that retires
// owners ([Retirer]) or records ended guests ([GuestEnder]) it asks the
// stores whether the guest ended at most every DefaultEndedCheckInterval
// per guest.
func (m *Manager) ReadSession(r *http.Request) (Session, error) {
	if m.codec == nil {
		return Session{}, ErrNoSessionCodec
	}
	c, err := r.Cookie(m.cfg.cookieName)
	if err != nil {
		return Session{}, ErrNoSession
	}
	s, err := m.codec.Decode(m.cfg.cookieName, c.Value)
	if err != nil {
		return Session{}, err
	}
	if !s.Seen.IsZero() && !m.now().Before(s.Seen.Add(m.cfg.idleTimeout)) {
		return Session{}, fmt.Errorf("%w: idle for longer than %v", ErrInvalidSession, m.cfg.idleTimeout)
	}
	if s.GuestID != "" {
		if reason, ended := m.guestEnded(r.Context(), s.GuestID); ended {
			return Session{}, &GuestEndedError{GuestID: s.GuestID, Reason: reason}
		}
	}
	return s, nil
}

// WriteSession seals s and sets it as the session cookie on w: HttpOnly,
// Secure (unless WithInsecureCookies), SameSite=Lax, Path=/, Max-Age up to
// s.Expiry and at most the idle timeout (WithIdleTimeout). It fails,
// setting nothing, when the sealed value would exceed 4096 bytes
// ([ErrSessionTooLarge]). Apps write a signed-in user's session with it
// (UserID set, GuestID empty) to reuse the sealed cookie for their logins.
func (m *Manager) WriteSession(w http.ResponseWriter, s Session) error {
	if m.codec == nil {
		return ErrNoSessionCodec
	}
	v, err := m.codec.Encode(m.cfg.cookieName, s)
	if err != nil {
		return err
	}
	http.SetCookie(w, m.cookie(m.cfg.cookieName, v, maxAge(min(s.Expiry.Sub(m.now()), m.cfg.idleTimeout))))
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

// SessionFromContext returns the session the Middleware, GuestRequired or
// EnsureGuest found for the request: a guest's, or a signed-in user's
// (Session.SignedIn).
func SessionFromContext(ctx context.Context) (Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(Session)
	return s, ok
}

// ErrCrossSite is returned by EnsureGuest (and answered 403 by
// GuestRequired) for a cross-site request with an unsafe method, judged as
// net/http's CrossOriginProtection judges it: Sec-Fetch-Site, else Origin
// against Host; WithTrustedOrigins names exceptions. Such a request does
// not carry the SameSite=Lax session cookie, so serving it would create a
// guest and replace the visitor's session.
var ErrCrossSite = errors.New("shadow: cross-site request refused")

// Middleware opens the session cookie of each request and passes the
// session to next in the request context ([SessionFromContext]). For a
// guest it renews the token when it expires within WithRenewBefore: at
// most one token exchange per guest per renewal window in this process,
// however many requests or replayed cookies carry it, and at most
// ProvisionLimits.RenewalsPerClientPerMinute per client. It re-seals the
// cookie of an active visitor at most every few minutes (WithIdleTimeout)
// and records the guest's activity in the stores that keep it.
//
// It never creates a guest: that happens on the first intent, in
// EnsureGuest. A missing, invalid or idle cookie, and one whose guest was
// upgraded, merged or swept ([ErrGuestEnded]), leave the request
// anonymous (the bad cookie cleared). A browser without a session gets a
// random browser-id cookie only on a page navigation that succeeds (GET
// or HEAD, Sec-Fetch-Mode navigate or an HTML Accept header, status below
// 400), which lets EnsureGuest create one guest for the concurrent first
// intents that page fires. If renewal fails while the old token is still
// valid, the old token is kept.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	m.mustHaveCodec("Middleware")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.ReadSession(r)
		switch {
		case err == nil:
			if s, err = m.fresh(w, r, s); err == nil {
				r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
			}
		case errors.Is(err, ErrGuestEnded):
			m.ClearSession(w)
		case errors.Is(err, ErrNoSession):
			if m.needsBrowserID(r) {
				w = &browserIDWriter{ResponseWriter: w, set: func(w http.ResponseWriter) { m.setBrowserID(w) }}
			}
		default:
			m.ClearSession(w)
		}
		next.ServeHTTP(w, r)
	})
}

// GuestRequired is middleware for intent endpoints (add to cart, save a
// draft): it calls EnsureGuest and passes the session to next in the
// request context; a signed-in user's session passes as it is. A
// cross-site unsafe request gets 403 ([ErrCrossSite]); when a provisioning
// limit is reached, 429 with Retry-After; when ZITADEL fails, 503, with
// Retry-After while the egress breaker holds requests back after a 429 of
// ZITADEL ([EgressBudget]).
func (m *Manager) GuestRequired(next http.Handler) http.Handler {
	m.mustHaveCodec("GuestRequired")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.EnsureGuest(w, r)
		var rl *RateLimitError
		switch {
		case errors.Is(err, ErrCrossSite):
			http.Error(w, "cross-site request refused", http.StatusForbidden)
			return
		case errors.As(err, &rl):
			w.Header().Set("Retry-After", retryAfterSeconds(rl.RetryAfter))
			http.Error(w, "too many requests; try again later", http.StatusTooManyRequests)
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

// EnsureGuest returns the request's session, creating a guest on this
// first intent when there is none: a ready guest of the pool
// (WithGuestPool), with no request to ZITADEL, or else Provision, then
// Impersonate (with bounded retries of ZITADEL's projection lag); then the
// sealed cookie is set on w. A signed-in user's session (Session.SignedIn) is returned as
// it is, without a guest. A missing, invalid, idle or expired cookie, or
// one whose guest ended ([ErrGuestEnded]: upgraded, merged or swept), gets
// a new guest: never someone else's. When renewing an existing guest's
// token fails, the error comes back and no new guest is made, so the guest
// keeps its data.
//
// A cross-site request with an unsafe method is refused with
// [ErrCrossSite] before anything else (see WithTrustedOrigins): it neither
// creates a guest nor replaces a session.
//
// Concurrent first intents of one browser create one guest. With the
// browser-id cookie (set by the Middleware on the page the visitor came
// from), the calls share one provisioning, and a call arriving up to 10 s
// later, before the browser stored the session cookie, gets the same
// session. Without it (a single-page app served elsewhere, or a first
// request that is itself the intent), requests of the same client key,
// User-Agent and Accept-Language share a provisioning while it is in
// flight only (a few hundred milliseconds). Limits: two browsers that match
// on all three (one NAT, the same browser build) and click within that
// moment share a guest; a request arriving after the provisioning ended,
// without any cookie, gets a new guest. These are the only places where a
// session goes to a request that did not carry it sealed; the browser id
// is a random HttpOnly cookie, as secret as the session cookie itself, but
// unsealed — behind a proxy, supply a ProvisionLimits.ClientKey that reads
// the client address the proxy vouches for.
//
// New guests are subject to WithProvisionLimits: a refusal is a
// [*RateLimitError] matching [ErrRateLimited]. While the egress breaker
// holds requests back after a 429 of ZITADEL for longer than a retry
// waits, a new guest fails at once with [*UnavailableError]. Call it
// before writing the response body. Other errors are those of Provision, Impersonate and
// WriteSession.
func (m *Manager) EnsureGuest(w http.ResponseWriter, r *http.Request) (Session, error) {
	if m.codec == nil {
		return Session{}, ErrNoSessionCodec
	}
	if err := m.cop.Check(r); err != nil {
		return Session{}, fmt.Errorf("%w: %v", ErrCrossSite, err)
	}
	if m.cfg.clientID == "" {
		return Session{}, ErrNoClientID
	}
	ctx := r.Context()
	if s, ok := SessionFromContext(ctx); ok {
		return s, nil
	}
	if s, err := m.ReadSession(r); err == nil {
		s, err = m.fresh(w, r, s)
		if err == nil || !errors.Is(err, ErrInvalidSession) && !errors.Is(err, ErrNoSession) {
			// A transient failure keeps the guest (and its data) for the
			// next request instead of replacing it.
			return s, err
		}
	}
	key, durable := m.browserKey(r)
	if durable {
		if s, ok := m.recent.get(key, m.now()); ok {
			if _, ended := m.tombs.get(s.GuestID); !ended {
				return s, m.WriteSession(w, s)
			}
		}
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
		if err == nil && durable {
			m.recent.put(key, s, m.now())
		}
		return s, err
	}
	v, err, _ := m.flights.Do(key, func() (any, error) { return provision() })
	if err != nil {
		return Session{}, err
	}
	s := v.(Session)
	if err := m.WriteSession(w, s); err != nil {
		if errors.Is(err, ErrSessionTooLarge) {
			m.deleteUnusable(ctx, s.GuestID) // no cookie can ever carry it
		}
		return Session{}, err
	}
	s.Seen = m.now()
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
	now := m.now()
	m.renewed.put(g.ID, renewal{tok: tok, at: now}, m.cfg.renewBefore)
	return Session{GuestID: g.ID, Token: tok, Expiry: now.Add(m.cfg.sessionLifetime)}, nil
}

// fresh keeps an open session current: it renews a guest's token when it
// expires within the renewal window (renew), re-seals the cookie when the
// last seal is older than resealEvery, and records the guest's activity.
// It returns a [*GuestEndedError] when the user is no longer a guest
// (clearing the cookie), and the old session when renewal fails but its
// token is still valid.
func (m *Manager) fresh(w http.ResponseWriter, r *http.Request, s Session) (Session, error) {
	now := m.now()
	reseal := !s.Seen.IsZero() && now.Sub(s.Seen) >= m.resealEvery()
	if s.GuestID != "" && !now.Add(m.cfg.renewBefore).Before(s.Token.Expiry) {
		tok, err := m.renew(r, s.GuestID)
		switch {
		case errors.Is(err, ErrNotGuest) || errors.Is(err, ErrNotFound):
			reason := EndDeleted
			if errors.Is(err, ErrNotGuest) {
				reason = EndUpgraded
			}
			m.tombs.bury(s.GuestID, reason, now, m.cfg.idleTimeout)
			m.renewed.forget(s.GuestID)
			m.ClearSession(w)
			return Session{}, &GuestEndedError{GuestID: s.GuestID, Reason: reason}
		case err != nil:
			if !now.Before(s.Token.Expiry) {
				return Session{}, err
			}
		default:
			s.Token, reseal = tok, true
		}
	}
	if !reseal {
		return s, nil
	}
	if err := m.WriteSession(w, s); err != nil {
		return Session{}, err
	}
	s.Seen = now
	if s.GuestID != "" {
		m.noteActivity(r.Context(), s.GuestID, now)
	}
	return s, nil
}

// renew returns a token for guestID outside the renewal window. A token
// another request of this process obtained within the window is reused,
// and a failure is remembered for renewRetryAfter (renewalMemory);
// otherwise the client's renewal budget is charged and one token exchange
// runs, shared by the guest's concurrent requests.
func (m *Manager) renew(r *http.Request, guestID string) (Token, error) {
	if e, ok := m.renewed.get(guestID, m.now(), m.cfg.renewBefore); ok {
		return e.tok, e.err
	}
	v, err, _ := m.renewals.Do(guestID, func() (any, error) {
		now := m.now()
		if e, ok := m.renewed.get(guestID, now, m.cfg.renewBefore); ok {
			return e.tok, e.err // a flight that just ended
		}
		if err := m.renewLim.allow(r, now); err != nil {
			return Token{}, err
		}
		// Shared by the guest's waiting requests: not cancelled when the
		// first one leaves; traced and observed once, by this caller. It
		// waits for the egress budget after first intents, and fails at
		// once while the breaker is open for longer than a retry waits.
		ctx := zitadel.WithPriority(m.failFast(context.WithoutCancel(r.Context())), zitadel.PriorityRenewal)
		ctx, cancel := context.WithTimeout(ctx, provisionTimeout)
		defer cancel()
		ctx = m.begin(ctx, EventRenewed)
		start := time.Now()
		tok, err := m.impersonate(ctx, guestID, false, sessionScope)
		m.emit(ctx, Event{Kind: EventRenewed, GuestID: guestID, Duration: time.Since(start), Err: err})
		if !errors.Is(err, ErrNotGuest) && !errors.Is(err, ErrNotFound) {
			m.renewed.put(guestID, renewal{tok: tok, err: err, at: m.now()}, m.cfg.renewBefore)
		}
		return tok, err
	})
	return v.(Token), err
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

// browserID returns r's browser id, empty when it has none.
func (m *Manager) browserID(r *http.Request) string {
	if c, err := r.Cookie(m.browserCookieName()); err == nil && len(c.Value) >= 16 && len(c.Value) <= 64 {
		return c.Value
	}
	return ""
}

// needsBrowserID reports whether r is an anonymous page navigation of a
// browser without a browser id: the page from which a visitor's first
// intents (concurrent saves of a single-page app) will come.
func (m *Manager) needsBrowserID(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		if mode != "navigate" {
			return false
		}
	} else if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		return false
	}
	return m.browserID(r) == ""
}

// setBrowserID gives the response's browser a random browser id.
func (m *Manager) setBrowserID(w http.ResponseWriter) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, m.cookie(m.browserCookieName(), id, maxAge(m.cfg.idleTimeout)))
}

// browserIDWriter sets the browser-id cookie when the response starts with
// a status below 400, so that error pages (404s of scanners) set nothing.
type browserIDWriter struct {
	http.ResponseWriter
	set     func(http.ResponseWriter)
	started bool
}

func (b *browserIDWriter) WriteHeader(code int) {
	if !b.started && code >= 200 {
		b.started = true
		if code < 400 {
			b.set(b.ResponseWriter)
		}
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *browserIDWriter) Write(p []byte) (int, error) {
	if !b.started {
		b.WriteHeader(http.StatusOK)
	}
	return b.ResponseWriter.Write(p)
}

// Flush implements http.Flusher for handlers that assert it.
func (b *browserIDWriter) Flush() {
	if !b.started {
		b.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(b.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (b *browserIDWriter) Unwrap() http.ResponseWriter { return b.ResponseWriter }

// browserKey identifies the browser of r for sharing one provisioning.
// With a browser id it is that id and the client key, hashed, and durable
// (the recent-session cache may answer it). Without, it is the client key,
// User-Agent and Accept-Language, hashed, for sharing an in-flight
// provisioning only.
func (m *Manager) browserKey(r *http.Request) (key string, durable bool) {
	h := sha256.New()
	if id := m.browserID(r); id != "" {
		h.Write([]byte("b\x00" + id + "\x00" + m.limiter.key(r)))
		durable = true
	} else {
		h.Write([]byte("f\x00" + m.limiter.key(r) + "\x00" + r.UserAgent() + "\x00" + r.Header.Get("Accept-Language")))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)), durable
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
