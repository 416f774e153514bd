package shadow

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ReadSession opens the guest session cookie of r. It returns
// [ErrNoSession] when r has no such cookie and an error wrapping
// [ErrInvalidSession] when the value is tampered, forged, expired, sealed
// with an unknown key or for another cookie name. It makes no network call.
func (m *Manager) ReadSession(r *http.Request) (Session, error) {
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
	v, err := m.codec.Encode(m.cfg.cookieName, s)
	if err != nil {
		return err
	}
	maxAge := int(s.Expiry.Sub(m.now()) / time.Second)
	if maxAge < 1 {
		maxAge = 1
	}
	http.SetCookie(w, m.cookie(v, maxAge))
	return nil
}

// ClearSession tells the browser to drop the session cookie, as after an
// Upgrade or a MergeInto.
func (m *Manager) ClearSession(w http.ResponseWriter) {
	http.SetCookie(w, m.cookie("", -1))
}

func (m *Manager) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     m.cfg.cookieName,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   !m.cfg.insecureCookies,
		SameSite: http.SameSiteLaxMode,
	}
}

type sessionKey struct{}

// SessionFromContext returns the guest session the Middleware or
// EnsureGuest found for the request.
func SessionFromContext(ctx context.Context) (Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(Session)
	return s, ok
}

// Middleware opens the guest session cookie of each request, renews the
// guest token when it expires within WithRenewBefore (re-impersonation,
// re-sealing the cookie), and passes the session to next in the request
// context ([SessionFromContext]). It never creates a guest: that happens
// on the first intent, in EnsureGuest. An invalid cookie is cleared and
// the request goes on anonymous; so does a session whose user is no longer
// a guest. If renewal fails while the old token is still valid, the old
// token is kept.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.ReadSession(r)
		switch {
		case errors.Is(err, ErrNoSession):
		case err != nil:
			m.ClearSession(w)
		default:
			if s, err = m.fresh(r.Context(), w, s); err == nil {
				r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// EnsureGuest returns the request's guest session, creating the guest on
// this first intent when there is none: Provision, then Impersonate (with
// bounded retries of ZITADEL's projection lag), then the sealed cookie is
// set on w. A missing, invalid or expired cookie, or one whose user is no
// longer a guest, gets a new guest: never someone else's. When renewing an
// existing guest's token fails, the error comes back and no new guest is
// made, so the guest keeps its cart. Call it before writing the response
// body. Errors are those of Provision, Impersonate and WriteSession.
func (m *Manager) EnsureGuest(w http.ResponseWriter, r *http.Request) (Session, error) {
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
	g, err := m.Provision(ctx)
	if err != nil {
		return Session{}, err
	}
	tok, err := m.impersonate(ctx, g.ID, true)
	if err != nil {
		// The tagged guest stays behind for the Sweep; delete it now when we
		// can, so a misconfiguration does not leave one guest per request.
		m.discard(ctx, g.ID)
		return Session{}, err
	}
	tok.IDToken = "" // keeps the cookie well under 4096 bytes
	s := Session{GuestID: g.ID, Token: tok, Expiry: m.now().Add(m.cfg.sessionLifetime)}
	if err := m.WriteSession(w, s); err != nil {
		m.discard(ctx, g.ID)
		return Session{}, err
	}
	return s, nil
}

// fresh renews s's token when it expires within the renewal window. It
// returns ErrInvalidSession when the user is no longer a guest (clearing
// the cookie), and the old session when renewal fails but its token is
// still valid.
func (m *Manager) fresh(ctx context.Context, w http.ResponseWriter, s Session) (Session, error) {
	if m.now().Add(m.cfg.renewBefore).Before(s.Token.Expiry) {
		return s, nil
	}
	tok, err := m.Impersonate(ctx, s.GuestID)
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
	tok.IDToken = ""
	s.Token = tok
	if err := m.WriteSession(w, s); err != nil {
		return Session{}, err
	}
	return s, nil
}

// discard deletes a guest the SDK created moments ago and could not hand
// out; failures are left to the Sweep, which finds the guest by its tag.
func (m *Manager) discard(ctx context.Context, guestID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = m.deleteUser(ctx, guestID)
}
