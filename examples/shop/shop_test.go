package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// TestShopEndToEnd drives the shop through all four phases over real HTTP
// and checks the state in the fake ZITADEL.
func TestShopEndToEnd(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	fake := h.demo.fake
	users := len(fake.Users())

	// Phase 1: browsing creates nobody; the first "add to cart" does.
	alice := h.newBrowser()
	page := alice.get("/")
	if n := len(fake.Users()); n != users {
		t.Fatalf("a page view created %d users", n-users)
	}
	if strings.Contains(page, `id="debug"`) {
		t.Error("an anonymous visitor sees a debug panel")
	}
	alice.add("mug")
	guests := h.guests()
	if len(guests) != 1 {
		t.Fatalf("%d guests after the first add, want 1", len(guests))
	}
	g1 := guests[0]
	if g1.EmailVerified || !strings.HasSuffix(g1.Email, "@guest.invalid") {
		t.Errorf("guest = %+v", g1)
	}
	page = alice.add("mug")
	if diff := cmp.Diff(map[string]string{"mug": "2 24.00 €"}, cart(page)); diff != "" {
		t.Errorf("guest cart (-want +got):\n%s", diff)
	}
	if !strings.Contains(page, `<span class="badge" id="cart-count">2</span>`) ||
		!strings.Contains(page, `<td class="num" id="cart-total">24.00 €</td>`) {
		t.Errorf("header count or total wrong:\n%s", page)
	}
	if len(h.guests()) != 1 {
		t.Error("a second add created another guest")
	}
	if sub(page) != g1.ID || !strings.Contains(page, `<code id="act">`+fake.ServiceAccount().ID+`</code>`) ||
		!strings.Contains(page, "GUEST_CREATED_AT") || !strings.Contains(page, `id="jwt-header"`) ||
		!strings.Contains(page, `&#34;alg&#34;`) || !strings.Contains(page, `id="raw-token"`) ||
		!strings.Contains(page, `id="cart-json"`) || !strings.Contains(page, `data-exp="`) {
		t.Errorf("debug panel lacks sub, act, tag, header, raw token, cart or expiry:\n%s", page)
	}

	// Phase 2: register upgrades the guest in place, then signs in.
	code, page, at := alice.do(http.MethodPost, "/register", url.Values{"given_name": {"Alice"},
		"family_name": {"Liddell"}, "email": {"alice@example.com"}, "password": {"Wonder-Land-42"}})
	if code != http.StatusOK || !strings.HasPrefix(at.String(), fake.Issuer()) {
		t.Fatalf("register did not lead to the login page: HTTP %d at %s", code, at)
	}
	page = alice.get(alice.fillLogin(page, at, "alice@example.com", "Wonder-Land-42").String())
	if !strings.Contains(page, `<span class="who" id="who">Alice Liddell</span>`) {
		t.Fatalf("not signed in after registering:\n%s", page)
	}
	if diff := cmp.Diff(map[string]string{"mug": "2 24.00 €"}, cart(page)); diff != "" {
		t.Errorf("registered user's cart (-want +got):\n%s", diff)
	}
	if sub(page) != g1.ID || !strings.Contains(page, `<code id="former-guest">`+g1.ID+`</code>`) ||
		!strings.Contains(page, `id="same-sub">same user id`) {
		t.Errorf("debug panel after registering does not show the same sub %s:\n%s", g1.ID, page)
	}
	up, _ := fake.User(g1.ID)
	if len(up.Metadata) != 0 || up.Username != "alice@example.com" || up.EmailVerified || !fake.CheckPassword(g1.ID, "Wonder-Land-42") {
		t.Errorf("upgraded user = %+v", up)
	}

	// Phase 3: a guest who signs in to an existing account brings the cart.
	bob := h.newBrowser()
	bob.add("mug")
	bob.add("sticker")
	bob.add("sticker")
	guests = h.guests()
	if len(guests) != 1 {
		t.Fatalf("%d guests, want Bob's", len(guests))
	}
	g2 := guests[0]
	page = bob.login(demoEmail, demoPassword)
	if diff := cmp.Diff(map[string]string{"mug": "2 24.00 €", "sticker": "2 6.00 €"}, cart(page)); diff != "" {
		t.Errorf("merged cart (-want +got):\n%s", diff)
	}
	if got := flashOf(page); !strings.Contains(got, "We moved 3 items") {
		t.Errorf("merge message %q does not count the 3 items", got)
	}
	if _, ok := fake.User(g2.ID); ok {
		t.Error("merged guest still exists")
	}

	// Phase 4: a preview deletes nothing; the sweep deletes abandoned
	// guests and nobody else; reloading the report sweeps nothing.
	carol := h.newBrowser()
	carol.add("tee")
	registered := map[string]zitadeltest.User{}
	for _, u := range fake.Users() {
		if _, ok := u.Metadata[shadow.DefaultTagKey]; !ok {
			registered[u.ID] = u
		}
	}
	admin := h.newBrowser()
	page = admin.get("/admin")
	if !strings.Contains(page, `<table class="guests" id="guests">`) || !strings.Contains(page, h.guests()[0].ID) {
		t.Errorf("admin page does not list Carol's guest:\n%s", page)
	}
	_, page, at = admin.do(http.MethodPost, "/admin/preview", url.Values{"older_than": {"1ns"}})
	if !strings.Contains(page, `<span id="eligible">1</span>`) || !strings.Contains(page, `id="confirm-sweep"`) || len(h.guests()) != 1 {
		t.Errorf("preview at %s:\n%s", at, page)
	}
	_, page, at = admin.do(http.MethodPost, "/admin/sweep", url.Values{"older_than": {"1ns"}})
	if !strings.Contains(page, `<span id="deleted">1</span>`) || !strings.HasPrefix(at.Path, "/admin/report/") {
		t.Errorf("sweep report at %s:\n%s", at, page)
	}
	if len(h.guests()) != 0 {
		t.Error("guests survived the sweep")
	}
	carol.add("tee") // a new guest, which a reload must not sweep
	if page := admin.get(at.Path); !strings.Contains(page, `<span id="deleted">1</span>`) || len(h.guests()) != 1 {
		t.Errorf("reloading the report swept again: %d guests", len(h.guests()))
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
}

// TestFlashNotFromURL: only the server writes flash messages; a query
// parameter or a forged cookie shows nothing.
func TestFlashNotFromURL(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	b := h.newBrowser()
	u, _ := url.Parse(h.url)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: flashCookie, Value: "eyJrIjoib2siLCJ0IjoiUGhpc2gifQ.forged"}})
	page := b.get("/?flash=" + url.QueryEscape("Your account is locked, call 555"))
	if strings.Contains(page, "555") || strings.Contains(page, "Phish") || flashOf(page) != "" {
		t.Errorf("flash from the URL or a forged cookie shown:\n%s", page)
	}
	if got := flashOf(b.add("tee")); got != "ok: Guest T-shirt is in your cart." {
		t.Errorf("server flash = %q", got)
	}
	if got := flashOf(b.get("/")); got != "" {
		t.Errorf("flash shown twice: %q", got)
	}
}

// TestErrorPagesInLayout: every error is a page of the shop with a title
// and a way back.
func TestErrorPagesInLayout(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	tests := []struct {
		method, path string
		header       http.Header
		status       int
		allow        string
	}{
		{http.MethodGet, "/no-such-page", nil, http.StatusNotFound, ""},
		{http.MethodGet, "/cart/add", nil, http.StatusMethodNotAllowed, "POST"},    // reloading a form's address
		{http.MethodGet, "/admin/sweep", nil, http.StatusMethodNotAllowed, "POST"}, // ditto
		{http.MethodDelete, "/register", nil, http.StatusMethodNotAllowed, "GET, POST"},
		{http.MethodPost, "/cart/add", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			b := h.newBrowser()
			b.header = tt.header
			var form url.Values
			if tt.method == http.MethodPost {
				form = url.Values{"sku": {"mug"}}
			}
			resp := b.send(tt.method, tt.path, form)
			defer resp.Body.Close()
			body := new(strings.Builder)
			if _, err := io.Copy(body, resp.Body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || resp.Header.Get("Allow") != tt.allow {
				t.Errorf("HTTP %d Allow %q, want %d %q", resp.StatusCode, resp.Header.Get("Allow"), tt.status, tt.allow)
			}
			if !inLayout(body.String()) || !strings.Contains(body.String(), `role="alert"`) ||
				!strings.Contains(body.String(), "<title>"+http.StatusText(tt.status)+"</title>") {
				t.Errorf("not a page of the shop:\n%s", body)
			}
		})
	}
}

// TestCrossSitePostsRefused: a form posted from another site neither
// creates a guest nor sweeps.
func TestCrossSitePostsRefused(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	victim := h.newBrowser()
	victim.add("mug")
	tests := []struct {
		name   string
		header http.Header
		path   string
		form   url.Values
	}{
		{"sweep via Sec-Fetch-Site", http.Header{"Sec-Fetch-Site": {"cross-site"}}, "/admin/sweep", url.Values{"older_than": {"1ns"}}},
		{"sweep via Origin", http.Header{"Origin": {"https://evil.example"}}, "/admin/sweep", url.Values{"older_than": {"1ns"}}},
		{"add to cart", http.Header{"Sec-Fetch-Site": {"same-site"}}, "/cart/add", url.Values{"sku": {"tee"}}},
		{"register", http.Header{"Origin": {"http://evil.localhost"}}, "/register", url.Values{"email": {"x@example.com"}}},
		{"sign out", http.Header{"Sec-Fetch-Site": {"cross-site"}}, "/logout", url.Values{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := h.newBrowser()
			b.header = tt.header
			if code, _, _ := b.do(http.MethodPost, tt.path, tt.form); code != http.StatusForbidden {
				t.Errorf("HTTP %d, want 403", code)
			}
		})
	}
	if n := len(h.guests()); n != 1 {
		t.Errorf("%d guests after the cross-site posts, want the victim's only", n)
	}
	if diff := cmp.Diff(map[string]string{"mug": "1 12.00 €"}, cart(victim.get("/"))); diff != "" {
		t.Errorf("victim's cart (-want +got):\n%s", diff)
	}
}
