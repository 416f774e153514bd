package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"div": func(a, b int) int { return a / b },
	"mod": func(a, b int) int { return a % b },
}).ParseFS(templateFS, "templates/*.html"))

type product struct {
	SKU, Name string
	Cents     int
}

var catalog = []product{
	{"mug", "Shadow mug", 1200},
	{"tee", "Guest T-shirt", 2500},
	{"sticker", "ZITADEL sticker", 300},
}

func productName(sku string) string {
	for _, p := range catalog {
		if p.SKU == sku {
			return p.Name
		}
	}
	return sku
}

// login is a signed-in customer, known from the OIDC login.
type login struct {
	UserID, Name, Email string
}

// pendingLogin is an authorization request on its way through ZITADEL.
type pendingLogin struct {
	verifier string
	created  time.Time
}

// shop is the web app. Carts live in memstore; signed-in customers in an
// in-memory session table (a real shop would use its own session store).
type shop struct {
	mgr     *shadow.Manager
	store   shadow.CartStore
	oauth   *oauth2.Config
	issuer  string
	client  *http.Client
	secure  bool
	demo    bool // on the embedded fake: the admin page is served
	mu      sync.Mutex
	logins  map[string]login        // login cookie value → customer
	pending map[string]pendingLogin // OAuth state → PKCE verifier
}

const (
	loginCookie = "shop_login"
	stateCookie = "shop_oauth_state"
)

func newShop(cfg config, baseURL string, demo bool) (*shop, error) {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("base URL: %w", err)
	}
	secure := u.Scheme == "https"
	opts := []shadow.Option{
		shadow.WithOrganization(cfg.OrgID),
		shadow.WithClientID(cfg.ClientID),
		shadow.WithCredentials(shadow.PAT(cfg.PAT)),
		shadow.WithSessionKeys(cfg.SessionKey),
		shadow.WithHTTPClient(hc),
	}
	if !secure {
		if !isLocalhost(u.Hostname()) {
			return nil, fmt.Errorf("base URL %s: plain http is only for localhost; serve the shop behind TLS", baseURL)
		}
		opts = append(opts, shadow.WithInsecureCookies())
	}
	store := memstore.New()
	opts = append(opts, shadow.WithCartStore(store))
	mgr, err := shadow.New(cfg.Issuer, opts...)
	if err != nil {
		return nil, err
	}
	issuer := strings.TrimSuffix(cfg.Issuer, "/")
	return &shop{
		mgr: mgr, store: store, issuer: issuer, client: hc, secure: secure, demo: demo,
		oauth: &oauth2.Config{
			ClientID:    cfg.ClientID,
			RedirectURL: strings.TrimSuffix(baseURL, "/") + "/callback",
			Scopes:      []string{"openid", "profile", "email"},
			Endpoint: oauth2.Endpoint{AuthURL: issuer + "/oauth/v2/authorize", TokenURL: issuer + "/oauth/v2/token",
				AuthStyle: oauth2.AuthStyleInParams},
		},
		logins:  map[string]login{},
		pending: map[string]pendingLogin{},
	}, nil
}

func isLocalhost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Handler serves the shop; the shadow middleware opens guest sessions.
func (s *shop) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("POST /cart/add", s.addToCart)
	mux.HandleFunc("GET /register", s.registerForm)
	mux.HandleFunc("POST /register", s.register)
	mux.HandleFunc("GET /login", s.startLogin)
	mux.HandleFunc("GET /callback", s.callback)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /admin", s.admin)
	if s.demo {
		// The sweep button has no authentication: it exists only on the
		// embedded fake. Against a real ZITADEL, sweep with examples/sweep.
		mux.HandleFunc("POST /admin/sweep", s.sweep)
	}
	return s.mgr.Middleware(mux)
}

// cartLine is a cart item for display.
type cartLine struct {
	SKU, Name string
	Quantity  int
}

type homePage struct {
	Products []product
	Login    *login
	Guest    *guestView
	Cart     []cartLine
	Flash    string
}

// guestView is the debug panel: the guest token's claims, decoded for
// display only (a resource server verifies the signature first).
type guestView struct {
	ID       string
	Subject  string
	Actor    string
	Expiry   time.Time
	Metadata map[string]string
}

func (s *shop) home(w http.ResponseWriter, r *http.Request) {
	p := homePage{Products: catalog, Login: s.currentLogin(r), Flash: r.URL.Query().Get("flash")}
	owner := ""
	if p.Login != nil {
		owner = p.Login.UserID
	} else if sess, ok := shadow.SessionFromContext(r.Context()); ok {
		owner = sess.GuestID
		p.Guest = decodeGuestToken(sess)
	}
	if owner != "" {
		cart, err := s.store.Get(r.Context(), owner)
		if err != nil {
			s.fail(w, "read cart", err)
			return
		}
		for _, it := range cart.Items {
			p.Cart = append(p.Cart, cartLine{SKU: it.SKU, Name: productName(it.SKU), Quantity: it.Quantity})
		}
	}
	render(w, "home.html", p)
}

func (s *shop) addToCart(w http.ResponseWriter, r *http.Request) {
	sku := r.FormValue("sku")
	if productName(sku) == sku {
		http.Error(w, "unknown product", http.StatusBadRequest)
		return
	}
	owner := ""
	if l := s.currentLogin(r); l != nil {
		owner = l.UserID
	} else {
		sess, err := s.mgr.EnsureGuest(w, r) // the first intent creates the guest
		if err != nil {
			s.fail(w, "create guest", err)
			return
		}
		owner = sess.GuestID
	}
	if err := s.store.Add(r.Context(), owner, shadow.Item{SKU: sku, Quantity: 1}); err != nil {
		s.fail(w, "add to cart", err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

type registerPage struct {
	Error                 string
	GivenName, FamilyName string
	Email                 string
	OfferLogin            bool
}

func (s *shop) registerForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := shadow.SessionFromContext(r.Context()); !ok {
		http.Redirect(w, r, "/?flash="+url.QueryEscape("Add something to your cart first."), http.StatusSeeOther)
		return
	}
	render(w, "register.html", registerPage{})
}

func (s *shop) register(w http.ResponseWriter, r *http.Request) {
	sess, ok := shadow.SessionFromContext(r.Context())
	if !ok {
		http.Redirect(w, r, "/?flash="+url.QueryEscape("Your guest session has ended."), http.StatusSeeOther)
		return
	}
	p := shadow.Profile{GivenName: r.FormValue("given_name"), FamilyName: r.FormValue("family_name"),
		Email: r.FormValue("email"), Password: r.FormValue("password")}
	_, err := s.mgr.Upgrade(r.Context(), sess.GuestID, p)
	if err != nil {
		page := registerPage{GivenName: p.GivenName, FamilyName: p.FamilyName, Email: p.Email, Error: upgradeMessage(err)}
		page.OfferLogin = errors.Is(err, shadow.ErrEmailTaken)
		if !errors.Is(err, shadow.ErrInvalidProfile) && !errors.Is(err, shadow.ErrEmailTaken) && !isBadRequest(err) {
			log.Printf("shop: upgrade: %v", err)
		}
		w.WriteHeader(http.StatusUnprocessableEntity)
		render(w, "register.html", page)
		return
	}
	// The guest is now a registered user with the same id (and cart):
	// drop the guest cookie and log in for real.
	s.mgr.ClearSession(w)
	http.Redirect(w, r, "/login?hint="+url.QueryEscape(p.Email), http.StatusSeeOther)
}

func upgradeMessage(err error) string {
	switch {
	case errors.Is(err, shadow.ErrEmailTaken):
		return "An account with this e-mail exists. Sign in to it and your cart comes along."
	case errors.Is(err, shadow.ErrInvalidProfile):
		return strings.TrimPrefix(err.Error(), "shadow: invalid profile: ")
	case isBadRequest(err):
		var ae *shadow.APIError
		errors.As(err, &ae)
		return "ZITADEL refused this: " + ae.Message
	}
	return "Registration failed; please try again."
}

func isBadRequest(err error) bool {
	var ae *shadow.APIError
	return errors.As(err, &ae) && ae.HTTPStatus == http.StatusBadRequest
}

// startLogin sends the browser to ZITADEL's authorization endpoint with
// PKCE (S256); ?hint= becomes the login_hint.
func (s *shop) startLogin(w http.ResponseWriter, r *http.Request) {
	state := randomString()
	verifier := oauth2.GenerateVerifier()
	s.mu.Lock()
	for k, p := range s.pending { // forget abandoned logins
		if time.Since(p.created) > 10*time.Minute {
			delete(s.pending, k)
		}
	}
	s.pending[state] = pendingLogin{verifier: verifier, created: time.Now()}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: state, Path: "/", MaxAge: 600,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if hint := r.URL.Query().Get("hint"); hint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", hint))
	}
	http.Redirect(w, r, s.oauth.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback finishes the login; a guest session present at this point is
// merged into the account and the guest deleted.
func (s *shop) callback(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	c, err := r.Cookie(stateCookie)
	if err != nil || state == "" || c.Value != state {
		http.Error(w, "login state mismatch; start again", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	p, ok := s.pending[state]
	delete(s.pending, state)
	s.mu.Unlock()
	if !ok {
		http.Error(w, "login expired; start again", http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Path: "/", MaxAge: -1})
	if e := r.URL.Query().Get("error"); e != "" {
		http.Error(w, "login failed: "+e, http.StatusBadRequest)
		return
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, s.client)
	tok, err := s.oauth.Exchange(ctx, r.URL.Query().Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		s.fail(w, "exchange code", err)
		return
	}
	user, err := s.userinfo(ctx, tok.AccessToken)
	if err != nil {
		s.fail(w, "userinfo", err)
		return
	}
	flash := "Welcome, " + user.Name + "."
	if sess, err := s.mgr.ReadSession(r); err == nil {
		if sess.GuestID != user.UserID {
			res, err := s.mgr.MergeInto(r.Context(), sess.GuestID, user.UserID)
			switch {
			case err == nil:
				flash += fmt.Sprintf(" We moved %d item(s) from your guest cart into your account.", len(res.Merged.Items))
			case errors.Is(err, shadow.ErrNotGuest), errors.Is(err, shadow.ErrNotFound):
			default:
				// The guest keeps its tag and cart; the sweep or the next
				// login finishes the merge.
				log.Printf("shop: merge guest %s into %s: %v", sess.GuestID, user.UserID, err)
			}
		}
		s.mgr.ClearSession(w)
	}
	id := randomString()
	s.mu.Lock()
	s.logins[id] = user
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: id, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/?flash="+url.QueryEscape(flash), http.StatusSeeOther)
}

// userinfo asks ZITADEL who the access token belongs to (OIDC Core §5.3).
func (s *shop) userinfo(ctx context.Context, accessToken string) (login, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.issuer+"/oidc/v1/userinfo", nil)
	if err != nil {
		return login{}, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := s.client.Do(req)
	if err != nil {
		return login{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return login{}, fmt.Errorf("userinfo: HTTP %d", resp.StatusCode)
	}
	var claims struct {
		Sub   string `json:"sub"`
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&claims); err != nil {
		return login{}, fmt.Errorf("userinfo: %w", err)
	}
	if claims.Sub == "" {
		return login{}, errors.New("userinfo without sub")
	}
	if claims.Name == "" {
		claims.Name = claims.Email
	}
	return login{UserID: claims.Sub, Name: claims.Name, Email: claims.Email}, nil
}

func (s *shop) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(loginCookie); err == nil {
		s.mu.Lock()
		delete(s.logins, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *shop) currentLogin(r *http.Request) *login {
	c, err := r.Cookie(loginCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.logins[c.Value]; ok {
		return &l
	}
	return nil
}

type adminPage struct {
	Demo      bool
	OlderThan string
	Report    *shadow.SweepReport
	Error     string
}

func (s *shop) admin(w http.ResponseWriter, r *http.Request) {
	render(w, "admin.html", adminPage{Demo: s.demo, OlderThan: "720h"})
}

// sweep runs Sweep with the form's age. A real shop runs it from cron
// (see examples/sweep) and guards the admin page.
func (s *shop) sweep(w http.ResponseWriter, r *http.Request) {
	p := adminPage{Demo: true, OlderThan: r.FormValue("older_than")}
	d, err := time.ParseDuration(p.OlderThan)
	if err != nil || d <= 0 {
		p.Error = "older than: give a positive duration such as 720h or 1s"
		w.WriteHeader(http.StatusBadRequest)
		render(w, "admin.html", p)
		return
	}
	// A demo on the embedded fake: sweeping guests younger than their
	// cookies is allowed here to show the effect at once.
	rep, err := s.mgr.Sweep(r.Context(), shadow.SweepOptions{OlderThan: d, AllowLiveSessions: true})
	p.Report = &rep
	if err != nil {
		p.Error = err.Error()
	}
	render(w, "admin.html", p)
}

func (s *shop) fail(w http.ResponseWriter, what string, err error) {
	var rl *shadow.RateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(rl.RetryAfter.Seconds()+0.999))))
		http.Error(w, "Too many new carts from your network; please try again in a minute.", http.StatusTooManyRequests)
		return
	}
	log.Printf("shop: %s: %v", what, err)
	http.Error(w, "Sorry, "+what+" failed. Please try again.", http.StatusBadGateway)
}

func render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		log.Printf("shop: render %s: %v", name, err)
	}
}

func randomString() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeGuestToken reads the guest access token's claims for the debug
// panel without verifying them.
func decodeGuestToken(sess shadow.Session) *guestView {
	v := &guestView{ID: sess.GuestID, Expiry: sess.Token.Expiry}
	parts := strings.Split(sess.Token.AccessToken, ".")
	if len(parts) != 3 {
		return v
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return v
	}
	var c struct {
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
		Act struct {
			Sub string `json:"sub"`
		} `json:"act"`
		Metadata map[string]string `json:"urn:zitadel:iam:user:metadata"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return v
	}
	v.Subject, v.Actor, v.Expiry = c.Sub, c.Act.Sub, time.Unix(c.Exp, 0)
	v.Metadata = map[string]string{}
	for k, val := range c.Metadata {
		b, err := base64.RawURLEncoding.DecodeString(val)
		if err != nil {
			b = []byte(val)
		}
		v.Metadata[k] = string(b)
	}
	return v
}
