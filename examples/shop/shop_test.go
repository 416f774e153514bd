package main

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// handlerProxy lets the test know the shop's URL before building the shop.
type handlerProxy struct {
	mu sync.Mutex
	h  http.Handler
}

func (p *handlerProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	h := p.h
	p.mu.Unlock()
	h.ServeHTTP(w, r)
}

type harness struct {
	t    *testing.T
	shop *shop
	demo *embedded
	url  string
}

func startShop(t *testing.T) *harness {
	t.Helper()
	proxy := &handlerProxy{h: http.NotFoundHandler()}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	demo, err := startEmbedded(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(demo.Close)
	s, err := newShop(demo.cfg, srv.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.seedCart(t.Context(), s.store); err != nil {
		t.Fatal(err)
	}
	proxy.mu.Lock()
	proxy.h = s.Handler()
	proxy.mu.Unlock()
	return &harness{t: t, shop: s, demo: demo, url: srv.URL}
}

// browser is a cookie-keeping client that trusts the fake's TLS.
type browser struct {
	h      *harness
	client *http.Client
}

func (h *harness) newBrowser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &browser{h: h, client: &http.Client{Jar: jar, Transport: h.demo.fake.Client().Transport}}
}

// do sends a request, follows redirects, and returns the final page.
func (b *browser) do(method, path string, form url.Values) (int, string, *url.URL) {
	b.h.t.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = b.h.url + path
	}
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = b.client.PostForm(target, form)
	} else {
		resp, err = b.client.Get(target)
	}
	if err != nil {
		b.h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.h.t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Request.URL
}

func (b *browser) get(path string) string {
	b.h.t.Helper()
	code, body, _ := b.do(http.MethodGet, path, nil)
	if code != http.StatusOK {
		b.h.t.Fatalf("GET %s: HTTP %d\n%s", path, code, body)
	}
	return body
}

func (b *browser) post(path string, form url.Values) string {
	b.h.t.Helper()
	code, body, _ := b.do(http.MethodPost, path, form)
	if code != http.StatusOK {
		b.h.t.Fatalf("POST %s: HTTP %d\n%s", path, code, body)
	}
	return body
}

var (
	hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
	formAction  = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
)

// login fills in the fake ZITADEL's login page reached from the shop.
func (b *browser) login(startPath, loginName, password string) string {
	b.h.t.Helper()
	code, page, at := b.do(http.MethodGet, startPath, nil)
	if code != http.StatusOK || !strings.Contains(at.String(), b.h.demo.fake.Issuer()) {
		b.h.t.Fatalf("GET %s ended at %s with HTTP %d, want the fake's login page", startPath, at, code)
	}
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		b.h.t.Fatalf("no form on the login page:\n%s", page)
	}
	action, err := at.Parse(html.UnescapeString(m[1]))
	if err != nil {
		b.h.t.Fatal(err)
	}
	form := url.Values{"loginName": {loginName}, "password": {password}}
	for _, f := range hiddenField.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return b.post(action.String(), form)
}

var qtyCell = regexp.MustCompile(`<tr data-sku="([^"]+)"><td>[^<]*</td><td class="qty">(\d+)</td>`)

// cart reads the cart table off the home page.
func cart(page string) map[string]string {
	out := map[string]string{}
	for _, m := range qtyCell.FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2]
	}
	return out
}

func (h *harness) guests() []zitadeltest.User {
	var out []zitadeltest.User
	for _, u := range h.demo.fake.Users() {
		if _, ok := u.Metadata[shadow.DefaultTagKey]; ok {
			out = append(out, u)
		}
	}
	return out
}

// TestShopEndToEnd drives the shop through all four phases over real HTTP
// and checks the state in the fake ZITADEL.
func TestShopEndToEnd(t *testing.T) {
	h := startShop(t)
	fake := h.demo.fake
	users := len(fake.Users())

	// Phase 1: browsing creates nobody; the first "add to cart" does.
	alice := h.newBrowser()
	alice.get("/")
	if n := len(fake.Users()); n != users {
		t.Fatalf("a page view created %d users", n-users)
	}
	alice.post("/cart/add", url.Values{"sku": {"mug"}})
	guests := h.guests()
	if len(guests) != 1 {
		t.Fatalf("%d guests after the first add, want 1", len(guests))
	}
	g1 := guests[0]
	if g1.EmailVerified || !strings.HasSuffix(g1.Email, "@guest.invalid") {
		t.Errorf("guest = %+v", g1)
	}
	alice.post("/cart/add", url.Values{"sku": {"mug"}})
	page := alice.get("/")
	if diff := cmp.Diff(map[string]string{"mug": "2"}, cart(page)); diff != "" {
		t.Errorf("guest cart (-want +got):\n%s", diff)
	}
	if len(h.guests()) != 1 {
		t.Error("a second add created another guest")
	}
	if !strings.Contains(page, `<span id="sub">`+g1.ID+`</span>`) ||
		!strings.Contains(page, `<span id="act">`+fake.ServiceAccount().ID+`</span>`) ||
		!strings.Contains(page, "GUEST_CREATED_AT") {
		t.Errorf("debug panel lacks sub, act or the tag:\n%s", page)
	}

	// Phase 2: register upgrades the guest in place, then log in.
	page = alice.post("/register", url.Values{"given_name": {"Alice"}, "family_name": {"Liddell"},
		"email": {"alice@example.com"}, "password": {"Wonder-Land-42"}})
	if !strings.Contains(page, "loginName") {
		t.Fatalf("register did not lead to the login page:\n%s", page)
	}
	page = alice.login("/login?hint=alice%40example.com", "alice@example.com", "Wonder-Land-42")
	if !strings.Contains(page, "Signed in as <strong>Alice Liddell</strong>") {
		t.Fatalf("not signed in after registering:\n%s", page)
	}
	if diff := cmp.Diff(map[string]string{"mug": "2"}, cart(page)); diff != "" {
		t.Errorf("registered user's cart (-want +got):\n%s", diff)
	}
	up, _ := fake.User(g1.ID)
	if len(up.Metadata) != 0 || up.Username != "alice@example.com" || up.EmailVerified || !fake.CheckPassword(g1.ID, "Wonder-Land-42") {
		t.Errorf("upgraded user = %+v", up)
	}

	// Phase 3: a guest who signs in to an existing account brings the cart.
	bob := h.newBrowser()
	bob.post("/cart/add", url.Values{"sku": {"mug"}})
	bob.post("/cart/add", url.Values{"sku": {"sticker"}})
	guests = h.guests()
	if len(guests) != 1 {
		t.Fatalf("%d guests, want Bob's", len(guests))
	}
	g2 := guests[0]
	page = bob.login("/login", demoEmail, demoPassword)
	if diff := cmp.Diff(map[string]string{"mug": "2", "sticker": "1"}, cart(page)); diff != "" {
		t.Errorf("merged cart (-want +got):\n%s", diff)
	}
	if _, ok := fake.User(g2.ID); ok {
		t.Error("merged guest still exists")
	}

	// Phase 4: the sweep deletes abandoned guests and nobody else.
	carol := h.newBrowser()
	carol.post("/cart/add", url.Values{"sku": {"tee"}})
	if len(h.guests()) != 1 {
		t.Fatal("Carol's guest missing")
	}
	registered := map[string]zitadeltest.User{}
	for _, u := range fake.Users() {
		if _, ok := u.Metadata[shadow.DefaultTagKey]; !ok {
			registered[u.ID] = u
		}
	}
	page = h.newBrowser().post("/admin/sweep", url.Values{"older_than": {"1ns"}})
	if !strings.Contains(page, `<td id="deleted">1</td>`) {
		t.Errorf("sweep report:\n%s", page)
	}
	if len(h.guests()) != 0 {
		t.Error("guests survived the sweep")
	}
	for id, before := range registered {
		after, ok := fake.User(id)
		if !ok {
			t.Errorf("registered user %s was deleted", id)
			continue
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("registered user %s changed (-before +after):\n%s", id, diff)
		}
	}
	if len(cart(carol.get("/"))) != 0 {
		t.Error("Carol still sees the swept guest's cart")
	}
}

// TestShopIgnoresForgedCookies: a guest cookie from elsewhere neither
// breaks the page nor reveals another cart.
func TestShopIgnoresForgedCookies(t *testing.T) {
	h := startShop(t)
	alice := h.newBrowser()
	alice.post("/cart/add", url.Values{"sku": {"mug"}})
	u, _ := url.Parse(h.url)
	mallory := h.newBrowser()
	mallory.client.Jar.SetCookies(u, []*http.Cookie{{Name: shadow.DefaultInsecureCookieName, Value: h.guests()[0].ID}})
	code, page, _ := mallory.do(http.MethodGet, "/", nil)
	if code != http.StatusOK || len(cart(page)) != 0 {
		t.Errorf("forged cookie: HTTP %d, cart %v", code, cart(page))
	}
}
