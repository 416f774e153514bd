package signin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/signin"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// testApp is a small web app on the sign-in helper, served over real HTTP
// against a zitadeltest fake, as an adopter would write it.
type testApp struct {
	fake  *zitadeltest.Server
	mgr   *shadow.Manager
	store *memstore.Store
	flow  *signin.Flow
	srv   *httptest.Server

	mu      sync.Mutex
	lastErr error                   // the last Callback or ConfirmMerge error
	logins  map[string]*signin.User // app login cookie → user
}

// appOptions adjust newApp.
type appOptions struct {
	fakeOpts []zitadeltest.Option
	config   func(*signin.Config)
}

var secret = bytes.Repeat([]byte{42}, 32)

func newApp(t *testing.T, o appOptions) *testApp {
	t.Helper()
	a := &testApp{fake: zitadeltest.Start(t, o.fakeOpts...), store: memstore.New(), logins: map[string]*signin.User{}}
	key, err := shadow.NewSessionKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	a.mgr, err = shadow.New(a.fake.Issuer(), shadow.WithOrganization(a.fake.OrganizationID()),
		shadow.WithClientID(a.fake.ClientID()), shadow.WithCredentials(shadow.PAT(a.fake.ServiceAccount().PAT)),
		shadow.WithCartStore(a.store), shadow.WithSessionKeys(key), shadow.WithHTTPClient(a.fake.Client()),
		shadow.WithInsecureCookies(), shadow.WithRetry(shadow.RetryOptions{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(a.mgr.Middleware(a.routes()))
	t.Cleanup(a.srv.Close)
	if err := a.fake.SetRedirectURIs(a.fake.ClientID(), a.srv.URL+"/callback", a.srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	cfg := signin.Config{
		Issuer: a.fake.Issuer(), ClientID: a.fake.ClientID(), RedirectURL: a.srv.URL + "/callback",
		PostLogoutRedirectURL: a.srv.URL + "/", Secrets: [][]byte{secret}, Manager: a.mgr, HTTPClient: a.fake.Client(),
	}
	if o.config != nil {
		o.config(&cfg)
	}
	a.flow, err = signin.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("signin.New: %v", err)
	}
	return a
}

// callbackBody is what the app's callback answers.
type callbackBody struct {
	UserID   string `json:"user"`
	Status   string `json:"status"`
	GuestID  string `json:"guest"`
	Moved    int    `json:"moved"`
	MergeErr string `json:"mergeError"`
	ReturnTo string `json:"returnTo"`
	Error    string `json:"error"`
}

func (a *testApp) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		owner := ""
		if u := a.login(r); u != nil {
			owner = u.ID
		} else {
			s, err := a.mgr.EnsureGuest(w, r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			owner = s.GuestID
		}
		if err := a.store.Add(r.Context(), owner, shadow.Item{SKU: r.FormValue("sku"), Quantity: 1}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		var opts []signin.AuthOption
		if p := r.URL.Query().Get("prompt"); p != "" {
			opts = append(opts, signin.WithPrompt(signin.Prompt(p)))
		}
		if h := r.URL.Query().Get("hint"); h != "" {
			opts = append(opts, signin.WithLoginHint(h))
		}
		if ret := r.URL.Query().Get("return"); ret != "" {
			opts = append(opts, signin.WithReturnTo(ret))
		}
		if err := a.flow.Start(w, r, opts...); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		res, err := a.flow.Callback(w, r)
		a.mu.Lock()
		a.lastErr = err
		a.mu.Unlock()
		if err != nil {
			status := http.StatusUnauthorized
			switch {
			case signin.IsBadRequest(err):
				status = http.StatusBadRequest
			case errors.Is(err, signin.ErrExchange):
				status = http.StatusBadGateway
			}
			writeJSON(w, status, callbackBody{Error: err.Error()})
			return
		}
		id := res.User.ID + "-session"
		a.mu.Lock()
		a.logins[id] = res.User
		a.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "app_login", Value: id, Path: "/", HttpOnly: true})
		writeJSON(w, http.StatusOK, outcomeBody(res.User.ID, res.Merge, res.ReturnTo))
	})
	mux.HandleFunc("POST /merge", func(w http.ResponseWriter, r *http.Request) {
		u := a.login(r)
		if u == nil {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		out, err := a.flow.ConfirmMerge(w, r, u.ID)
		a.mu.Lock()
		a.lastErr = err
		a.mu.Unlock()
		if err != nil {
			writeJSON(w, http.StatusBadRequest, callbackBody{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, outcomeBody(u.ID, out, ""))
	})
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		u := a.login(r)
		http.SetCookie(w, &http.Cookie{Name: "app_login", Path: "/", MaxAge: -1})
		hint := ""
		if u != nil {
			hint = u.IDToken
		}
		target, err := a.flow.LogoutURL(hint, "bye")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, target, http.StatusFound)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "home") })
	return mux
}

func outcomeBody(userID string, m signin.MergeOutcome, returnTo string) callbackBody {
	b := callbackBody{UserID: userID, Status: m.Status.String(), GuestID: m.GuestID, Moved: len(m.Result.Merged.Items), ReturnTo: returnTo}
	if m.Err != nil {
		b.MergeErr = m.Err.Error()
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *testApp) login(r *http.Request) *signin.User {
	c, err := r.Cookie("app_login")
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.logins[c.Value]
}

func (a *testApp) err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastErr
}

// browser is a test browser with its own cookie jar.
type browser struct {
	t *testing.T
	a *testApp
	c *http.Client
}

func (a *testApp) browser(t *testing.T) *browser {
	return &browser{t: t, a: a, c: a.fake.NewBrowser()}
}

// addToCart adds sku to the cart, creating a guest on the first intent,
// and returns the guest id of the browser's session (or "").
func (b *browser) addToCart(sku string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.a.srv.URL+"/cart", url.Values{"sku": {sku}})
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("add to cart: %d", resp.StatusCode)
	}
}

// guestID opens the browser's guest session cookie with the Manager.
func (b *browser) guestID() string {
	b.t.Helper()
	u, _ := url.Parse(b.a.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == shadow.DefaultInsecureCookieName {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.AddCookie(c)
			s, err := b.a.mgr.ReadSession(r)
			if err != nil {
				b.t.Fatalf("guest session cookie: %v", err)
			}
			return s.GuestID
		}
	}
	return ""
}

// startLogin opens the app's /login (with query q) and returns the
// authorization URL the app redirected to.
func (b *browser) startLogin(q string) string {
	b.t.Helper()
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(b.a.srv.URL + "/login?" + q)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("/login: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// get opens u in the browser (following redirects) and decodes the
// app's JSON answer.
func (b *browser) get(u string) (int, callbackBody) {
	b.t.Helper()
	return b.do(http.MethodGet, u)
}

func (b *browser) do(method, u string) (int, callbackBody) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), method, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body callbackBody
	raw, _ := io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &body); err != nil {
			b.t.Fatalf("%s: %v: %s", u, err, raw)
		}
	}
	return resp.StatusCode, body
}

// signIn runs a whole sign-in in the browser as loginName.
func (b *browser) signIn(loginName, password string) (int, callbackBody) {
	b.t.Helper()
	cb, err := b.a.fake.SignIn(b.c, b.startLogin(""), loginName, password)
	if err != nil {
		b.t.Fatalf("SignIn: %v", err)
	}
	return b.get(cb)
}

func (a *testApp) customer(t *testing.T, email string) string {
	t.Helper()
	id, err := a.fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Reg", FamilyName: "User", Email: email,
		EmailVerified: true, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

const password = "Secr3t!Passw0rd"

func (a *testApp) cart(t *testing.T, owner string) map[string]int {
	t.Helper()
	c, err := a.store.Get(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, it := range c.Items {
		out[it.SKU] = it.Quantity
	}
	return out
}

func (a *testApp) exists(id string) bool {
	_, ok := a.fake.User(id)
	return ok
}

var _ = time.Second
