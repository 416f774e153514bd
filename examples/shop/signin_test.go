package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow/zitadeltest"
)

// TestHostedSignUpMerges: "Register at ZITADEL" (prompt=create) creates the
// account on ZITADEL's page, and the guest's cart moves into it.
func TestHostedSignUpMerges(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	b := h.newBrowser()
	b.add("tee")
	b.add("tee")
	guest := h.guests()[0].ID
	code, _, at := b.do(http.MethodPost, "/signup", url.Values{})
	if code != http.StatusOK || at.Query().Get("authRequestID") == "" && !strings.Contains(at.Path, "register") {
		t.Fatalf("POST /signup ended at %s (HTTP %d), want the fake's registration page", at, code)
	}
	authURL := b.lastAuthURL(t, "/signup")
	back, err := h.demo.fake.SignUp(b.client, authURL, zitadeltest.Registration{GivenName: "Hana", FamilyName: "Hosted",
		Email: "hana@example.com", Password: "Hosted-Passw0rd!"})
	if err != nil {
		t.Fatal(err)
	}
	page := b.get(back)
	if !strings.Contains(page, `id="who">Hana Hosted<`) {
		t.Fatalf("not signed in after the hosted sign-up: %q", flashOf(page))
	}
	if diff := cmp.Diff(map[string]string{"tee": "2 50.00 €"}, cart(page)); diff != "" {
		t.Errorf("cart after the hosted sign-up (-want +got):\n%s", diff)
	}
	if _, ok := h.demo.fake.User(guest); ok {
		t.Error("the guest still exists after its cart moved")
	}
}

// lastAuthURL starts a sign-in at path without following ZITADEL's pages
// and returns the authorization URL the shop sent the browser to.
func (b *browser) lastAuthURL(t *testing.T, path string) string {
	t.Helper()
	noFollow := *b.client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.PostForm(b.h.url+path, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("POST %s: HTTP %d without a redirect", path, resp.StatusCode)
	}
	return loc.String()
}

var inviteLink = regexp.MustCompile(`action="(/demo/invite/[^"]+)"`)

// TestPasswordlessUpgrade: registering without a password keeps the user
// id and the cart; the invite sets the password; the sign-in finds the
// same account.
func TestPasswordlessUpgrade(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	b := h.newBrowser()
	b.add("mug")
	guest := h.guests()[0].ID
	page := b.post("/register/passwordless", url.Values{"given_name": {"Pat"}, "family_name": {"Less"}, "email": {"pat@example.com"}})
	u, ok := h.demo.fake.User(guest)
	if !ok || u.Username != "pat@example.com" || u.HasPassword || len(u.Metadata) != 0 {
		t.Fatalf("upgraded user = %+v", u)
	}
	if _, ok := h.demo.fake.InviteCode(guest); !ok {
		t.Error("no invite code was created")
	}
	m := inviteLink.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no invite form:\n%s", page)
	}
	code, page, _ := b.do(http.MethodPost, m[1], url.Values{"password": {"weak"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(page, "stronger password") {
		t.Errorf("weak password at the invite: HTTP %d", code)
	}
	code, page, at := b.do(http.MethodPost, m[1], url.Values{"password": {"Pass-Less-42"}})
	if code != http.StatusOK || !strings.HasPrefix(at.String(), h.demo.fake.Issuer()) {
		t.Fatalf("after setting the password: HTTP %d at %s", code, at)
	}
	page = b.get(b.fillLogin(page, at, "pat@example.com", "Pass-Less-42").String())
	if sub(page) != guest || !strings.Contains(page, `id="same-sub">same user id`) {
		t.Errorf("signed in as %q, want the guest's id %s", sub(page), guest)
	}
	if diff := cmp.Diff(map[string]string{"mug": "1 12.00 €"}, cart(page)); diff != "" {
		t.Errorf("cart (-want +got):\n%s", diff)
	}
}

// TestSignOutAtZitadel: signing out ends the ZITADEL session too, so the
// next sign-in asks for the password again (clearing only the shop's
// cookie would let ZITADEL sign the browser straight back in).
func TestSignOutAtZitadel(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	b := h.newBrowser()
	b.login(demoEmail, demoPassword)
	shopURL, _ := url.Parse(h.url)

	// Only the shop's cookie gone: ZITADEL's session signs in silently.
	b.client.Jar.SetCookies(shopURL, []*http.Cookie{{Name: customerCookie, Value: "", MaxAge: -1}})
	back, err := h.demo.fake.SignInSilently(b.client, b.lastAuthURL(t, "/login"))
	if err != nil {
		t.Fatalf("without sign-out at ZITADEL the sign-in should be silent: %v", err)
	}
	if page := b.get(back); !strings.Contains(page, `id="who">Dana Demo<`) {
		t.Fatalf("silent sign-in failed: %q", flashOf(page))
	}

	// Sign out: the shop's session and ZITADEL's end.
	code, page, at := b.do(http.MethodPost, "/logout", url.Values{})
	if code != http.StatusOK || at.String() != h.url+"/" || strings.Contains(page, `id="who"`) ||
		flashOf(page) != "ok: You are signed out." {
		t.Fatalf("sign-out ended at %s (HTTP %d), flash %q", at, code, flashOf(page))
	}
	if _, err := h.demo.fake.SignInSilently(b.client, b.lastAuthURL(t, "/login")); err != zitadeltest.ErrPasswordRequired {
		t.Errorf("after signing out, the sign-in did not ask for the password: %v", err)
	}
}

// TestSameGuestNotReused: a visitor who registers and signs out within
// seconds gets a new guest for the next cart, never the account's id.
func TestSameGuestNotReused(t *testing.T) {
	t.Parallel()
	h := startShop(t)
	b := h.newBrowser()
	b.add("mug")
	guest := h.guests()[0].ID
	_, page, at := b.do(http.MethodPost, "/register", url.Values{"given_name": {"Quick"}, "family_name": {"Q"},
		"email": {"quick@example.com"}, "password": {"Quick-Passw0rd!"}})
	b.get(b.fillLogin(page, at, "quick@example.com", "Quick-Passw0rd!").String())
	b.post("/logout", url.Values{})
	page = b.add("sticker")
	if s := sub(page); s == "" || s == guest {
		t.Errorf("the new cart's guest is %q, the registered account is %s", s, guest)
	}
	if c, _ := h.shop.store.Get(t.Context(), guest); itemCount(c) != 1 {
		t.Errorf("the account's cart changed: %+v", c)
	}
	if _, ok := h.demo.fake.User(guest); !ok {
		t.Error("the account is gone")
	}
}
