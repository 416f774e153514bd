package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// TestPendingLoginsBounded: starting sign-ins keeps nothing on the server
// (50,000 GET /login once cost 18 MB): each attempt's state is a sealed
// cookie of its own browser, and a flood of starts leaves the next sign-in
// working.
func TestPendingLoginsBounded(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	handler := h.shop.Handler()
	for i := range 3000 {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), h.demo.fake.Issuer()) {
			t.Fatalf("GET /login #%d: HTTP %d to %q", i, rec.Code, rec.Header().Get("Location"))
		}
		states := 0
		for _, c := range rec.Result().Cookies() {
			if strings.Contains(c.Name, "signin") {
				states++
				if c.MaxAge <= 0 || c.MaxAge > 600 || !c.HttpOnly {
					t.Fatalf("state cookie %+v: want HttpOnly and expiring within 10 minutes", c)
				}
			}
		}
		if states != 1 {
			t.Fatalf("GET /login #%d set %d state cookies, want 1", i, states)
		}
	}
	if n := h.shop.customers.Len(); n != 0 {
		t.Errorf("%d sessions after starting sign-ins only", n)
	}
	b := h.newBrowser()
	if page := b.login(demoEmail, demoPassword); !strings.Contains(page, `id="who">Dana Demo<`) {
		t.Errorf("sign-in after the flood failed:\n%s", page)
	}
}

func TestBoundedMap(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := newBoundedMap[int](3, time.Minute)
	m.now = func() time.Time { return now }
	for i, k := range []string{"a", "b", "c", "d"} {
		m.Put(k, i)
	}
	if _, ok := m.Get("a"); ok || m.Len() != 3 {
		t.Errorf("full map kept the oldest entry (len %d)", m.Len())
	}
	if v, ok := m.Take("b"); !ok || v != 1 {
		t.Errorf("Take(b) = %d, %t", v, ok)
	}
	if _, ok := m.Take("b"); ok {
		t.Error("a second Take found the entry again")
	}
	now = now.Add(2 * time.Minute)
	if _, ok := m.Get("c"); ok {
		t.Error("an expired entry was returned")
	}
	m.Put("e", 5)
	if m.Len() != 1 {
		t.Errorf("expired entries not evicted: len %d", m.Len())
	}
	for i := range 100 { // Put and Take churn keeps the order slice bounded
		m.Put(fmt.Sprint(i), i)
		m.Take(fmt.Sprint(i))
	}
	if len(m.order) > 2*m.max+1 {
		t.Errorf("order holds %d stamps for %d entries", len(m.order), m.Len())
	}
	s := newOnceSet(2)
	if !s.Add("x") || s.Add("x") || !s.Has("x") {
		t.Error("onceSet does not remember x once")
	}
}

// TestServerTimeouts: the server bounds every phase of a connection, and a
// client that stalls mid-body is disconnected (100 such connections were
// once held for over a minute).
func TestServerTimeouts(t *testing.T) {
	t.Parallel()
	srv := newServer(http.NotFoundHandler())
	got := []time.Duration{srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout}
	want := []time.Duration{readHeaderTimeout, readTimeout, writeTimeout, idleTimeout}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("timeouts (-want +got):\n%s", diff)
	}
	for _, d := range got {
		if d <= 0 || d > 2*time.Minute {
			t.Errorf("timeout %v is not a bound", d)
		}
	}
	// The mechanism, with a short read timeout: the stalled client's
	// connection ends (the read below returns) instead of hanging.
	srv.ReadTimeout = 200 * time.Millisecond
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /cart/add HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nsku=")
	if err := conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(conn); err != nil {
		t.Errorf("stalled connection was not closed by the server: %v", err)
	}
}

// TestPortTaken: a taken port is a clear error before anything starts.
func TestPortTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out bytes.Buffer
	err = run(t.Context(), ln.Addr().String(), "", func(string) string { return "" }, &out)
	if err == nil || !strings.Contains(err.Error(), "the port is taken") || !strings.Contains(err.Error(), "-addr") {
		t.Errorf("run on a taken port: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("run printed %q on a taken port", out.String())
	}
}

// TestRunServes: run starts on a free port, says where, and stops with ctx.
func TestRunServes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{lines: make(chan string, 10)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", "", func(string) string { return "" }, out) }()
	var shopURL string
	for shopURL == "" {
		select {
		case line := <-out.lines:
			if u, ok := strings.CutPrefix(line, "Shop running at "); ok {
				shopURL = strings.TrimSpace(u)
			}
		case err := <-done:
			t.Fatalf("run ended: %v", err)
		}
	}
	resp, err := http.Get(shopURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /: HTTP %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel: %v", err)
	}
}

type syncBuffer struct{ lines chan string }

func (b *syncBuffer) Write(p []byte) (int, error) {
	for _, l := range strings.SplitAfter(string(p), "\n") {
		if l != "" {
			b.lines <- l
		}
	}
	return len(p), nil
}

// TestDeadGuestBrowserIsClean: once its guest is swept, a browser is an
// anonymous visitor again (no guest panel for a deleted user) and can
// register.
func TestDeadGuestBrowserIsClean(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	b := h.newBrowser()
	b.add("mug")
	h.newBrowser().post("/admin/sweep", url.Values{"older_than": {"1ns"}})
	if n := len(h.guests()); n != 0 {
		t.Fatalf("%d guests after the sweep", n)
	}
	page := b.get("/")
	if strings.Contains(page, `id="debug"`) || strings.Contains(page, "shopping as a <strong>guest") || len(cart(page)) != 0 {
		t.Errorf("swept guest's browser still shows the guest:\n%s", page)
	}
	u, _ := url.Parse(h.url)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == shadow.DefaultInsecureCookieName {
			t.Errorf("swept guest's cookie kept: %s", c.Name)
		}
	}
	// With no guests left, the admin's preview says why it scanned none.
	if page := h.newBrowser().post("/admin/preview", url.Values{"older_than": {"1ns"}}); !strings.Contains(page, `<span id="scanned">0</span>`) ||
		!strings.Contains(page, `id="scanned-hint"`) {
		t.Errorf("an empty preview gives no hint:\n%s", page)
	}
	code, _, at := b.do(http.MethodPost, "/register", url.Values{"given_name": {"Sam"}, "family_name": {"Swept"},
		"email": {"sam@example.com"}, "password": {"Swept-Away-1"}})
	if code != http.StatusOK || !strings.HasPrefix(at.String(), h.demo.fake.Issuer()) {
		t.Errorf("register after the sweep: HTTP %d at %s, want the login page", code, at)
	}
}

// TestDoubleSubmit: a double click sends the same form twice; it counts
// once.
func TestDoubleSubmit(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	b := h.newBrowser()
	form := url.Values{"sku": {"tee"}, "form_id": {"double-click-1"}}
	b.post("/cart/add", form)
	page := b.post("/cart/add", form)
	if diff := cmp.Diff(map[string]string{"tee": "1 25.00 €"}, cart(page)); diff != "" {
		t.Errorf("cart after a double submit (-want +got):\n%s", diff)
	}
	page = b.post("/cart/add", url.Values{"sku": {"tee"}, "form_id": {"second-click"}})
	if diff := cmp.Diff(map[string]string{"tee": "2 50.00 €"}, cart(page)); diff != "" {
		t.Errorf("cart after a second add (-want +got):\n%s", diff)
	}
	page = b.post("/cart/remove", url.Values{"sku": {"tee"}, "form_id": {"rm-1"}})
	if len(cart(page)) != 0 || !strings.Contains(page, `id="cart-empty"`) {
		t.Errorf("remove left %v", cart(page))
	}
}

// TestLoginCSRF: an attacker's finished sign-in, sent to a victim's
// browser, neither signs the victim in nor merges the victim's guest.
func TestLoginCSRF(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	victim := h.newBrowser()
	victim.add("mug")
	guest := h.guests()[0].ID
	attacker := h.newBrowser()
	page, at := attacker.openLogin(http.MethodPost, "/login", url.Values{})
	callback := attacker.fillLogin(page, at, demoEmail, demoPassword)
	page = victim.get(callback.String())
	if strings.Contains(page, `id="who"`) {
		t.Error("the victim was signed into the attacker's account")
	}
	if got := flashOf(page); !strings.Contains(got, "another browser") {
		t.Errorf("flash = %q", got)
	}
	if _, ok := h.demo.fake.User(guest); !ok {
		t.Error("the victim's guest was merged away")
	}
	if diff := cmp.Diff(map[string]string{"mug": "1 12.00 €"}, cart(page)); diff != "" {
		t.Errorf("victim's cart (-want +got):\n%s", diff)
	}
	// The attacker's own browser still signs in with it: it started it.
	if page := attacker.get(callback.String()); !strings.Contains(page, `id="who">Dana Demo<`) {
		t.Errorf("the attacker's own callback failed: %q", flashOf(page))
	}
	// Replayed there, it is spent.
	if got := flashOf(attacker.get(callback.String())); got == "" || strings.Contains(got, "Welcome") {
		t.Errorf("replayed callback: flash %q", got)
	}
}

// TestTwoTabs: two sign-ins started in one browser both complete.
func TestTwoTabs(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	b := h.newBrowser()
	b.add("sticker")
	page1, at1 := b.openLogin(http.MethodPost, "/login", url.Values{})
	page2, at2 := b.openLogin(http.MethodPost, "/login", url.Values{})
	cb2 := b.fillLogin(page2, at2, demoEmail, demoPassword)
	cb1 := b.fillLogin(page1, at1, demoEmail, demoPassword)
	page := b.get(cb1.String())
	if !strings.Contains(page, `id="who">Dana Demo<`) {
		t.Fatalf("first tab not signed in: %q", flashOf(page))
	}
	if diff := cmp.Diff(map[string]string{"mug": "1 12.00 €", "sticker": "1 3.00 €"}, cart(page)); diff != "" {
		t.Errorf("merged cart (-want +got):\n%s", diff)
	}
	page = b.get(cb2.String())
	if flashOf(page) != "ok: You are already signed in." && !strings.Contains(page, `id="who">Dana Demo<`) {
		t.Errorf("second tab: %q", flashOf(page))
	}
}

// TestMergeFailureKeepsGuest: when the merge fails, the guest, its cart
// and its cookie stay, and signing out (or in again) moves the cart.
func TestMergeFailureKeepsGuest(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	b := h.newBrowser()
	b.add("tee")
	guest := h.guests()[0].ID
	h.demo.fake.SetFault(zitadeltest.OpListUserMetadata, zitadeltest.APIError(zitadeltest.CodeInternal, "X-1", "boom"))
	page := b.login(demoEmail, demoPassword)
	h.demo.fake.ClearFaults()
	if got := flashOf(page); !strings.HasPrefix(got, "error: ") || !strings.Contains(got, "when you sign out or sign in again") {
		t.Errorf("flash = %q", got)
	}
	if _, ok := h.demo.fake.User(guest); !ok {
		t.Fatal("the guest was deleted although the merge failed")
	}
	if c, _ := h.shop.store.Get(t.Context(), guest); itemCount(c) != 1 {
		t.Errorf("guest cart after the failed merge: %+v", c)
	}
	u, _ := url.Parse(h.url)
	kept := false
	for _, c := range b.client.Jar.Cookies(u) {
		kept = kept || c.Name == shadow.DefaultInsecureCookieName
	}
	if !kept {
		t.Error("the guest cookie was cleared after a failed merge")
	}
	b.post("/logout", url.Values{})
	page = b.login(demoEmail, demoPassword)
	if diff := cmp.Diff(map[string]string{"mug": "1 12.00 €", "tee": "1 25.00 €"}, cart(page)); diff != "" {
		t.Errorf("cart after the next sign-in (-want +got):\n%s", diff)
	}
}

var errorIDs = regexp.MustCompile(`\b[A-Z]{3,}-[A-Za-z0-9]{4,}\b`)

// TestRegisterErrors: every refusal is explained in the visitor's words,
// inside the form, with what was typed kept (but never the password).
func TestRegisterErrors(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	tests := []struct {
		name  string
		form  url.Values
		fault *zitadeltest.Fault
		want  string
	}{
		{"weak password", url.Values{"given_name": {"W"}, "family_name": {"P"}, "email": {"w@example.com"}, "password": {"short"}}, nil,
			"choose a stronger password"},
		{"taken e-mail", url.Values{"given_name": {"D"}, "family_name": {"D"}, "email": {demoEmail}, "password": {"Other-Passw0rd!"}}, nil,
			"exists already"},
		{"bad e-mail", url.Values{"given_name": {"B"}, "family_name": {"E"}, "email": {"not an address"}, "password": {"Good-Passw0rd!"}}, nil,
			"plain e-mail address"},
		{"missing names", url.Values{"email": {"n@example.com"}, "password": {"Good-Passw0rd!"}}, nil, "first name is needed"},
		{"ZITADEL's DOMAIN-VoaRj", url.Values{"given_name": {"U"}, "family_name": {"C"}, "email": {"u@example.com"}, "password": {"Good-Passw0rd!"}},
			ptr(zitadeltest.APIError(zitadeltest.CodeInvalidArgument, "DOMAIN-VoaRj", "Password must contain upper case")), "an upper-case letter"},
		{"ZITADEL refuses", url.Values{"given_name": {"Z"}, "family_name": {"R"}, "email": {"z@example.com"}, "password": {"Good-Passw0rd!"}},
			ptr(zitadeltest.APIError(zitadeltest.CodeInvalidArgument, "COMMAND-x9Kq2", "Errors.User.Invalid")), "were not accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := h.newBrowser()
			b.add("mug")
			if tt.fault != nil {
				h.demo.fake.FailNext(zitadeltest.OpUpdateUser, *tt.fault)
			}
			code, page, _ := b.do(http.MethodPost, "/register", tt.form)
			if code != http.StatusUnprocessableEntity || !inLayout(page) || !strings.Contains(page, `role="alert"`) {
				t.Fatalf("HTTP %d:\n%s", code, page)
			}
			if !strings.Contains(strings.ToLower(page), strings.ToLower(tt.want)) {
				t.Errorf("page lacks %q:\n%s", tt.want, page)
			}
			if m := errorIDs.FindString(page); m != "" || strings.Contains(page, "shadow:") {
				t.Errorf("an error id or SDK text reached the visitor: %q", m)
			}
			if strings.Contains(page, tt.form.Get("password")) {
				t.Error("the password was echoed back")
			}
			if e := tt.form.Get("email"); e != "" && !strings.Contains(page, `value="`+e+`"`) {
				t.Error("the e-mail typed was lost")
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestHostCookiesOverHTTPS: behind TLS every cookie of the shop and the
// SDK carries the __Host- prefix and Secure.
func TestHostCookiesOverHTTPS(t *testing.T) {
	t.Parallel()
	fake := zitadeltest.Start(t, zitadeltest.WithPlainHTTP())
	demo := &embedded{fake: fake}
	key, err := shadow.NewSessionKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := newShop(t.Context(), config{Issuer: fake.Issuer(), OrgID: fake.OrganizationID(), ClientID: fake.ClientID(),
		PAT: fake.ServiceAccount().PAT, SessionKey: key, SigninSecret: bytes.Repeat([]byte{8}, 32),
		HTTPClient: fake.Client()}, "https://shop.example", demo)
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	var names []string
	for _, path := range []string{"/cart/add", "/login"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "https://shop.example"+path, strings.NewReader("sku=mug"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.ServeHTTP(rec, req)
		for _, c := range rec.Result().Cookies() {
			names = append(names, c.Name)
			host := strings.HasPrefix(c.Name, "__Host-") && c.Path == "/"
			secure := strings.HasPrefix(c.Name, "__Secure-") // the sign-in state, scoped to /callback
			if !host && !secure || !c.Secure || c.Domain != "" || !c.HttpOnly {
				t.Errorf("POST %s set cookie %+v", path, c)
			}
		}
	}
	if len(names) < 3 {
		t.Errorf("cookies set: %v, want the guest session, the flash and the browser binding", names)
	}
}

// TestAdminRefused: the admin page answers only with the embedded fake,
// only to this machine and only from the shop's own pages.
func TestAdminRefused(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	tests := []struct {
		name   string
		method string
		path   string
		remote string
		header http.Header
		noDemo bool
		want   int
	}{
		{"allowed", http.MethodGet, "/admin", "127.0.0.1:5000", nil, false, http.StatusOK},
		{"another machine", http.MethodGet, "/admin", "203.0.113.9:5000", nil, false, http.StatusForbidden},
		{"linked from another site", http.MethodGet, "/admin", "127.0.0.1:5000", http.Header{"Sec-Fetch-Site": {"cross-site"}}, false, http.StatusForbidden},
		{"sweep from another machine", http.MethodPost, "/admin/sweep", "[2001:db8::1]:5000", nil, false, http.StatusForbidden},
		{"real ZITADEL", http.MethodGet, "/admin", "127.0.0.1:5000", nil, true, http.StatusNotFound},
		{"sweep on real ZITADEL", http.MethodPost, "/admin/sweep", "127.0.0.1:5000", nil, true, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := h.shop
			if tt.noDemo {
				var err error
				if s, err = newShop(t.Context(), h.demo.cfg, h.url, nil); err != nil {
					t.Fatal(err)
				}
			}
			req := httptest.NewRequest(tt.method, "http://localhost"+tt.path, strings.NewReader("older_than=1ns"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.RemoteAddr = tt.remote
			for k, v := range tt.header {
				req.Header[k] = v
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("HTTP %d, want %d\n%s", rec.Code, tt.want, rec.Body)
			}
			if tt.want != http.StatusOK && !inLayout(rec.Body.String()) {
				t.Errorf("refusal not inside the layout:\n%s", rec.Body)
			}
		})
	}
}

// TestAdminRefusesForeignHost: a page of another site whose name the
// attacker re-points at 127.0.0.1 (DNS rebinding) is same-origin with
// itself and reaches the shop from this machine; the admin page must still
// refuse it, by its Host.
func TestAdminRefusesForeignHost(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	tests := []struct {
		name, method, path, host string
		want                     int
	}{
		{"loopback name", http.MethodGet, "/admin", "localhost:8080", http.StatusOK},
		{"loopback address", http.MethodGet, "/admin", "127.0.0.1:8080", http.StatusOK},
		{"IPv6 loopback", http.MethodGet, "/admin", "[::1]:8080", http.StatusOK},
		{"rebound name", http.MethodGet, "/admin", "rebind.attacker.example:8080", http.StatusForbidden},
		{"rebound name, sweep", http.MethodPost, "/admin/sweep", "rebind.attacker.example:8080", http.StatusForbidden},
		{"rebound name, preview", http.MethodPost, "/admin/preview", "rebind.attacker.example", http.StatusForbidden},
		{"rebound name, report", http.MethodGet, "/admin/report/x", "localhost.attacker.example", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, "http://"+tt.host+tt.path, strings.NewReader("older_than=1ns"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin") // the rebound page is its own origin
			req.RemoteAddr = "127.0.0.1:5000"
			rec := httptest.NewRecorder()
			h.shop.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("HTTP %d, want %d\n%s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == http.StatusForbidden && !inLayout(rec.Body.String()) {
				t.Errorf("refusal not inside the layout:\n%s", rec.Body)
			}
		})
	}
}

func FuzzFlash(f *testing.F) {
	fl := newFlasher(false)
	rec := httptest.NewRecorder()
	fl.Set(rec, "ok", "hello")
	f.Add(rec.Result().Cookies()[0].Value)
	f.Add("e30.x")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(&http.Cookie{Name: flashCookie, Value: v})
		got := fl.Take(httptest.NewRecorder(), req)
		if got != nil && got.Text != "hello" {
			t.Errorf("forged flash accepted: %+v", got)
		}
	})
}

func FuzzDecodeJWT(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIiwiZXhwIjoxfQ.c2ln")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		if d := decodeJWT(raw); d != nil && d.Raw != raw {
			t.Errorf("decoded %q as %q", raw, d.Raw)
		}
	})
}

// TestRateLimitPage: beyond the guest-creation limit a visitor gets a page
// of the shop with Retry-After, not a bare 429.
func TestRateLimitPage(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	var code int
	var page string
	for range 10 { // fresh cookies each time, one visitor: the burst is 5
		b := h.newBrowser()
		b.visitor = "script"
		resp := b.send(http.MethodPost, "/cart/add", url.Values{"sku": {"mug"}})
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		code, page = resp.StatusCode, string(body)
		if code == http.StatusTooManyRequests {
			if resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			break
		}
	}
	if code != http.StatusTooManyRequests || !inLayout(page) || !strings.Contains(page, "wait a minute") {
		t.Errorf("HTTP %d:\n%s", code, page)
	}
}

func FuzzSweepParams(f *testing.F) {
	f.Add("720h", "")
	f.Add("1ns", "10m")
	f.Add("-1s", "x")
	f.Fuzz(func(t *testing.T, older, idle string) {
		o, i, problem := parseSweepParams(sweepParams{OlderThan: older, IdleFor: idle})
		if problem == "" && (o <= 0 || i < 0) {
			t.Errorf("accepted older %v idle %v", o, i)
		}
	})
}
