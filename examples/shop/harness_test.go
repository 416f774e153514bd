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
	t    testing.TB
	shop *shop
	demo *embedded
	url  string
}

// startShop runs the shop on the embedded fake, as `go run` does, on a
// test server.
func startShop(t testing.TB) *harness {
	t.Helper()
	proxy := &handlerProxy{h: http.NotFoundHandler()}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	demo, err := startEmbedded(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(demo.Close)
	cfg := demo.cfg
	// Each test browser is its own visitor for the guest-creation limits,
	// as if it came from its own address.
	cfg.ClientKey = func(r *http.Request) string { return r.Header.Get("X-Test-Visitor") + "@" + shadow.ClientIP(r) }
	s, err := newShop(t.Context(), cfg, srv.URL, demo)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.seedCart(t.Context(), s.store); err != nil {
		t.Fatal(err)
	}
	proxy.mu.Lock()
	proxy.h = newServer(s.Handler()).Handler
	proxy.mu.Unlock()
	return &harness{t: t, shop: s, demo: demo, url: srv.URL}
}

// browser is a cookie-keeping client, like a browser without JavaScript.
type browser struct {
	h       *harness
	client  *http.Client
	header  http.Header // sent with every request
	visitor string      // who the guest-creation limits see
}

func (h *harness) newBrowser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &browser{h: h, client: &http.Client{Jar: jar}, header: http.Header{}, visitor: randomString()}
}

// do sends a request, follows redirects, and returns the final page.
func (b *browser) do(method, path string, form url.Values) (int, string, *url.URL) {
	b.h.t.Helper()
	resp := b.send(method, path, form)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.h.t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Request.URL
}

func (b *browser) send(method, path string, form url.Values) *http.Response {
	b.h.t.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = b.h.url + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.h.t.Context(), method, target, body)
	if err != nil {
		b.h.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	req.Header.Set("X-Test-Visitor", b.visitor)
	resp, err := b.client.Do(req)
	if err != nil {
		b.h.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
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

func (b *browser) add(sku string) string {
	b.h.t.Helper()
	return b.post("/cart/add", url.Values{"sku": {sku}})
}

var (
	hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
	formAction  = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
)

// fillLogin fills in the fake ZITADEL's login page and returns the
// response to the form, without following its redirect to the callback.
func (b *browser) fillLogin(page string, at *url.URL, loginName, password string) *url.URL {
	b.h.t.Helper()
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		b.h.t.Fatalf("no form on the login page at %s:\n%s", at, page)
	}
	action, err := at.Parse(html.UnescapeString(m[1]))
	if err != nil {
		b.h.t.Fatal(err)
	}
	form := url.Values{"loginName": {loginName}, "password": {password}}
	for _, f := range hiddenField.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	noFollow := *b.client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.PostForm(action.String(), form)
	if err != nil {
		b.h.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		b.h.t.Fatalf("login form: HTTP %d without a redirect", resp.StatusCode)
	}
	return loc
}

// openLogin starts a sign-in and returns the fake's login page.
func (b *browser) openLogin(method, path string, form url.Values) (string, *url.URL) {
	b.h.t.Helper()
	code, page, at := b.do(method, path, form)
	if code != http.StatusOK || !strings.HasPrefix(at.String(), b.h.demo.fake.Issuer()) {
		b.h.t.Fatalf("%s %s ended at %s with HTTP %d, want the fake's login page", method, path, at, code)
	}
	return page, at
}

// login signs in through the fake's login page and returns the shop page
// the callback leads to.
func (b *browser) login(loginName, password string) string {
	b.h.t.Helper()
	page, at := b.openLogin(http.MethodPost, "/login", url.Values{})
	return b.get(b.fillLogin(page, at, loginName, password).String())
}

var cartRow = regexp.MustCompile(`(?s)<tr data-sku="([^"]+)">.*?<td class="num qty">(\d+)</td>.*?<td class="num line-total">([^<]+)</td>`)

// cart reads the cart table off the home page: sku → "qty line-total".
func cart(page string) map[string]string {
	out := map[string]string{}
	for _, m := range cartRow.FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2] + " " + m[3]
	}
	return out
}

var (
	subSpan  = regexp.MustCompile(`<code id="sub">([^<]*)</code>`)
	flashDiv = regexp.MustCompile(`(?s)<div class="flash (ok|error)" id="flash" role="(?:alert|status)">(.*?)</div>`)
)

func sub(page string) string {
	if m := subSpan.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

func flashOf(page string) string {
	if m := flashDiv.FindStringSubmatch(page); m != nil {
		return m[1] + ": " + html.UnescapeString(m[2])
	}
	return ""
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

// inLayout reports whether page is a full shop page with a way back.
func inLayout(page string) bool {
	return strings.Contains(page, `<header class="site">`) && strings.Contains(page, `href="/"`) &&
		strings.Contains(page, `<meta name="viewport"`)
}
