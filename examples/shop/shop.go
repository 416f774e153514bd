package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/signin"
)

// shop is the web app. Carts live in memstore; signed-in customers in a
// bounded in-memory session table (a real shop would use its own session
// store). It is safe for concurrent use.
type shop struct {
	mgr     *shadow.Manager
	store   shadow.CartStore
	flow    *signin.Flow
	issuer  string
	client  *http.Client
	baseURL string
	secure  bool      // served over https: Secure, __Host- cookies
	demo    *embedded // the embedded fake; nil against a real ZITADEL
	actor   string    // the service account's user id, for the debug panel

	flash     *flasher
	customers *boundedMap[customer] // customer cookie value → signed-in customer
	forms     *onceSet              // form ids already handled (double submits)
	reports   *boundedMap[sweepRun] // admin sweep results for Post/Redirect/Get
	dead      *onceSet              // guests upgraded, merged or deleted by this process
	upgraded  *onceSet              // of them, those upgraded in place (same user id)
	invites   *boundedMap[invite]   // passwordless registrations on the embedded fake
	cartMu    sync.Mutex            // serializes the shop's cart changes (remove rebuilds a cart)
	budget    time.Duration         // each request's deadline (requestBudget)
}

// Limits of the in-memory tables: old entries make room for new ones, so
// no number of requests grows them beyond these.
const (
	maxCustomers = 10000
	customerTTL  = 12 * time.Hour
	maxForms     = 4096
	maxReports   = 64
	maxDead      = 10000
	maxFormBytes = 64 << 10
)

// newShop builds the shop; ctx bounds the sign-in's OIDC discovery request.
func newShop(ctx context.Context, cfg config, baseURL string, demo *embedded) (*shop, error) {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("base URL %q: want http(s)://host[:port]", baseURL)
	}
	secure := u.Scheme == "https"
	s := &shop{
		store: memstore.New(), issuer: strings.TrimSuffix(cfg.Issuer, "/"), client: hc,
		baseURL: strings.TrimSuffix(baseURL, "/"), secure: secure, demo: demo,
		flash:     newFlasher(secure),
		customers: newBoundedMap[customer](maxCustomers, customerTTL),
		forms:     newOnceSet(maxForms),
		reports:   newBoundedMap[sweepRun](maxReports, time.Hour),
		dead:      newOnceSet(maxDead),
		upgraded:  newOnceSet(maxDead),
		invites:   newBoundedMap[invite](maxReports, time.Hour),
		budget:    requestBudget,
	}
	if demo != nil {
		s.actor = demo.fake.ServiceAccount().ID
	}
	opts := []shadow.Option{
		shadow.WithOrganization(cfg.OrgID),
		shadow.WithClientID(cfg.ClientID),
		shadow.WithCredentials(shadow.PAT(cfg.PAT)),
		shadow.WithSessionKeys(cfg.SessionKey),
		shadow.WithHTTPClient(hc),
		shadow.WithCartStore(s.store),
		shadow.WithObserver(s.observe),
	}
	if cfg.ClientKey != nil {
		opts = append(opts, shadow.WithProvisionLimits(shadow.ProvisionLimits{ClientKey: cfg.ClientKey}))
	}
	if !secure {
		if !isLocalhost(u.Hostname()) {
			return nil, fmt.Errorf("base URL %s: plain http is only for localhost; serve the shop behind TLS", baseURL)
		}
		opts = append(opts, shadow.WithInsecureCookies())
	}
	s.mgr, err = shadow.New(cfg.Issuer, opts...)
	if err != nil {
		return nil, err
	}
	s.flow, err = signin.New(ctx, signin.Config{
		Issuer: cfg.Issuer, ClientID: cfg.ClientID,
		RedirectURL: s.baseURL + "/callback", PostLogoutRedirectURL: s.baseURL + "/",
		Secrets: [][]byte{cfg.SigninSecret}, Manager: s.mgr, HTTPClient: hc,
	})
	if err != nil {
		return nil, fmt.Errorf("sign-in: %w", err)
	}
	return s, nil
}

func isLocalhost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// observe remembers guests that stopped being guests, so their browsers
// return to a clean anonymous state on their next request.
func (s *shop) observe(e shadow.Event) {
	if e.Err != nil || e.GuestID == "" {
		return
	}
	switch e.Kind {
	case shadow.EventUpgraded:
		s.upgraded.Add(e.GuestID)
		s.dead.Add(e.GuestID)
	case shadow.EventMerged, shadow.EventDeleted:
		s.dead.Add(e.GuestID)
	}
}

// cookieName gives the shop's own cookies the __Host- prefix over https
// (Secure, Path=/, no Domain: no other host can set or read them).
func (s *shop) cookieName(name string) string {
	if s.secure {
		return "__Host-" + name
	}
	return name
}

func (s *shop) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// Handler serves the shop. Every POST passes net/http's cross-origin
// protection; the shadow middleware opens guest sessions; unknown paths
// and methods get pages inside the layout.
func (s *shop) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("POST /cart/add", s.addToCart)
	mux.HandleFunc("POST /cart/remove", s.removeFromCart)
	mux.HandleFunc("GET /register", s.registerForm)
	mux.HandleFunc("POST /register", s.register)
	mux.HandleFunc("POST /register/passwordless", s.registerPasswordless)
	mux.HandleFunc("POST /signup", s.startSignUp)
	mux.HandleFunc("GET /demo/invite/{token}", s.demoInvite)
	mux.HandleFunc("POST /demo/invite/{token}", s.demoInviteSet)
	mux.HandleFunc("POST /login", s.startLogin)
	mux.HandleFunc("GET /login", s.startLogin) // links from elsewhere; starting a sign-in changes no data
	mux.HandleFunc("GET /callback", s.callback)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /admin", s.admin)
	mux.HandleFunc("POST /admin/preview", s.adminSweep)
	mux.HandleFunc("POST /admin/sweep", s.adminSweep)
	mux.HandleFunc("GET /admin/report/{id}", s.adminReport)
	mux.Handle("GET /static/", http.FileServerFS(staticFS))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	})

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "This form was sent from another site, so the shop ignored it. Use the shop's own pages.")
	}))
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		if _, pattern := mux.Handler(r); pattern == "" {
			s.noRoute(w, r, mux)
			return
		}
		mux.ServeHTTP(w, r)
	})
	h = s.mgr.Middleware(h)
	h = s.forgetDeadGuests(h)
	h = cop.Handler(h)
	h = s.withBudget(h)
	return securityHeaders(s.issuer, h)
}

// withBudget gives each request a deadline of s.budget, below the server's
// write timeout: calls to ZITADEL that outlast it fail with the context's
// error, and the visitor gets the shop's page saying so instead of a cut
// connection.
func (s *shop) withBudget(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.budget)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// noRoute answers a path the shop does not serve (404) or a method it
// does not take there (405, as after reloading a form's address), inside
// the layout.
func (s *shop) noRoute(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := mux.Handler(probe); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		s.errorPage(w, r, http.StatusNotFound, "There is no page at this address.")
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.errorPage(w, r, http.StatusMethodNotAllowed, "This address belongs to a form: it cannot be opened or reloaded on its own.")
}

// forgetDeadGuests turns a browser whose guest was upgraded, merged or
// swept back into an anonymous one: the stale cookie is cleared and the
// request goes on without it.
func (s *shop) forgetDeadGuests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sess, err := s.mgr.ReadSession(r); err == nil && s.dead.Has(sess.GuestID) {
			s.mgr.ClearSession(w)
			r = withoutCookie(r, s.guestCookie())
		}
		next.ServeHTTP(w, r)
	})
}

// ensureGuest is Manager.EnsureGuest that never hands back a guest this
// process saw upgraded, merged or deleted: EnsureGuest remembers the guest
// it created for a browser for a few seconds (so that concurrent first
// clicks share one), and a visitor who registers or signs in and out within
// them would otherwise write into the account's id. The browser then gets a
// new browser id and a new guest.
func (s *shop) ensureGuest(w http.ResponseWriter, r *http.Request) (shadow.Session, error) {
	sess, err := s.mgr.EnsureGuest(w, r)
	if err != nil || !s.dead.Has(sess.GuestID) {
		return sess, err
	}
	r = withoutCookie(r, s.guestCookie())
	r = withoutCookie(r, s.guestCookie()+"-b")
	return s.mgr.EnsureGuest(w, r)
}

// guestCookie is the name of the SDK's guest session cookie.
func (s *shop) guestCookie() string {
	if s.secure {
		return shadow.DefaultCookieName
	}
	return shadow.DefaultInsecureCookieName
}

// withoutCookie is r without the cookie named name.
func withoutCookie(r *http.Request, name string) *http.Request {
	r = r.Clone(r.Context())
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name != name {
			r.AddCookie(c)
		}
	}
	return r
}

// securityHeaders forbids framing, sniffing and foreign scripts; forms may
// go to the shop and to ZITADEL only.
func securityHeaders(issuer string, next http.Handler) http.Handler {
	origin := issuer
	if u, err := url.Parse(issuer); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	csp := "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
		"form-action 'self' " + origin + "; frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// fail shows a friendly page for an error of the SDK or ZITADEL; the
// details go to the log only.
func (s *shop) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	var rl *shadow.RateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", fmt.Sprint(max(1, int(rl.RetryAfter.Seconds()+0.999))))
		s.errorPage(w, r, http.StatusTooManyRequests, "Many new visitors are arriving from your network right now. Please wait a minute and try again.")
		return
	}
	log.Printf("shop: %s: %v", what, err)
	s.errorPage(w, r, http.StatusServiceUnavailable, "Sorry, we could not "+what+" just now. Nothing was lost; please try again in a moment.")
}
