package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// TestCallbackOutageKeepsGuest: ZITADEL failing while the callback redeems
// the code or fetches its signing keys ends on the shop's page with a
// friendly message and no ZITADEL words; the guest, its cart and its
// cookie survive, and the next sign-in merges the cart.
func TestCallbackOutageKeepsGuest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		op    zitadeltest.Operation
		fault zitadeltest.Fault
		// again: sign in again at once. The Verifier repeats a failed JWKS
		// fetch's error for its refresh interval (1 s), so after a keys
		// outage the retry is left to the visitor's next click.
		again bool
	}{
		{"token endpoint unavailable", zitadeltest.OpTokenAuthorizationCode, zitadeltest.Unavailable(), true},
		{"token endpoint drops the connection", zitadeltest.OpTokenAuthorizationCode, zitadeltest.DropConnection(), true},
		{"token endpoint internal error", zitadeltest.OpTokenAuthorizationCode, zitadeltest.APIError(zitadeltest.CodeInternal, "OIDC-AhX2u", "Errors.Internal"), true},
		{"signing keys unavailable", zitadeltest.OpKeys, zitadeltest.Unavailable(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := startShop(t)
			b := h.newBrowser()
			b.add("tee")
			guest := h.guests()[0].ID
			page, at := b.openLogin(http.MethodPost, "/login", url.Values{})
			callback := b.fillLogin(page, at, demoEmail, demoPassword)
			h.demo.fake.SetFault(tt.op, tt.fault)
			page = b.get(callback.String())
			h.demo.fake.ClearFaults()
			if !inLayout(page) {
				t.Fatalf("not the shop's page:\n%s", page)
			}
			if got := flashOf(page); !strings.HasPrefix(got, "error: ") || !strings.Contains(got, "cart is still here") ||
				errorIDs.MatchString(got) || strings.Contains(got, "Errors.") {
				t.Errorf("flash = %q, want a friendly error that the cart is kept", got)
			}
			if diff := cmp.Diff(map[string]string{"tee": "1 25.00 €"}, cart(page)); diff != "" {
				t.Errorf("cart after the failed callback (-want +got):\n%s", diff)
			}
			if got := sub(page); got != guest {
				t.Errorf("debug panel sub = %q, want the guest %s", got, guest)
			}
			u, _ := url.Parse(h.url)
			kept := false
			for _, c := range b.client.Jar.Cookies(u) {
				kept = kept || c.Name == shadow.DefaultInsecureCookieName
			}
			if !kept {
				t.Error("the guest cookie was cleared by a failed callback")
			}
			if !tt.again {
				return
			}
			// ZITADEL's session of the first attempt signs the browser in
			// without the form.
			_, page, _ = b.do(http.MethodPost, "/login", url.Values{})
			if diff := cmp.Diff(map[string]string{"mug": "1 12.00 €", "tee": "1 25.00 €"}, cart(page)); diff != "" {
				t.Errorf("cart after signing in again (flash %q) (-want +got):\n%s", flashOf(page), diff)
			}
			if _, ok := h.demo.fake.User(guest); ok {
				t.Error("the guest still exists after the merge")
			}
		})
	}
}

// TestSlowZitadelAnswersInTime: a ZITADEL that hangs must not keep a
// handler past the server's write timeout, after which the browser gets
// an empty reply instead of the shop's page: every request has a budget
// below it (requestBudget, shortened here), and the callback and the cart
// end on the friendly page with the guest and its cart kept.
func TestSlowZitadelAnswersInTime(t *testing.T) {
	t.Parallel()
	if requestBudget >= writeTimeout {
		t.Fatalf("requestBudget %v is not below the server's write timeout %v", requestBudget, writeTimeout)
	}
	h := startShop(t)
	h.shop.budget = 3 * time.Second // ample for the rest, even on a loaded machine
	b := h.newBrowser()
	b.add("tee")
	guest := h.guests()[0].ID
	page, at := b.openLogin(http.MethodPost, "/login", url.Values{})
	callback := b.fillLogin(page, at, demoEmail, demoPassword)
	h.demo.fake.SetFault(zitadeltest.OpTokenAuthorizationCode, zitadeltest.Latency(time.Hour))
	page = b.get(callback.String())
	h.demo.fake.ClearFaults()
	if got := flashOf(page); !strings.HasPrefix(got, "error: ") || !strings.Contains(got, "cart is still here") {
		t.Errorf("flash after a hanging token endpoint = %q, want a friendly error", got)
	}
	if diff := cmp.Diff(map[string]string{"tee": "1 25.00 €"}, cart(page)); diff != "" {
		t.Errorf("cart after the hanging callback (-want +got):\n%s", diff)
	}
	if _, ok := h.demo.fake.User(guest); !ok {
		t.Error("the guest was deleted")
	}
}

// TestSignOutDoesNotLeaveADeferredGuest: a merge deferred at sign-in keeps
// the guest's cookie while the customer is signed in. Signing out must not
// leave that guest (the customer's cart) in the browser for the next
// person at the same computer, whose sign-in would merge it into their
// account: sign-out tries the merge again, and clears the guest either way.
func TestSignOutDoesNotLeaveADeferredGuest(t *testing.T) {
	t.Parallel()
	for _, stillFailing := range []bool{false, true} {
		t.Run(map[bool]string{false: "ZITADEL back", true: "ZITADEL still failing"}[stillFailing], func(t *testing.T) {
			t.Parallel()
			h := startShop(t)
			other, err := h.demo.fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Olga", FamilyName: "Other",
				Email: "olga@shop.example", EmailVerified: true, Password: demoPassword})
			if err != nil {
				t.Fatal(err)
			}
			b := h.newBrowser()
			b.add("tee")
			guest := h.guests()[0].ID
			h.demo.fake.SetFault(zitadeltest.OpListUserMetadata, zitadeltest.APIError(zitadeltest.CodeInternal, "X-1", "boom"))
			page := b.login(demoEmail, demoPassword)
			if got := flashOf(page); !strings.Contains(got, "when you sign out or sign in again") {
				t.Fatalf("flash after the failed merge = %q", got)
			}
			if !stillFailing {
				h.demo.fake.ClearFaults()
			}
			page = b.post("/logout", url.Values{})
			h.demo.fake.ClearFaults()
			if got := cart(page); len(got) != 0 {
				t.Errorf("cart shown after sign-out: %v, want none", got)
			}
			// The next person at this computer signs in.
			page = b.login("olga@shop.example", demoPassword)
			if got := cart(page); len(got) != 0 {
				t.Errorf("the next person's cart: %v, want empty (not the former customer's tee)", got)
			}
			if c, _ := h.shop.store.Get(t.Context(), other); itemCount(c) != 0 {
				t.Errorf("the next person's account holds %+v", c)
			}
			if !stillFailing {
				if _, ok := h.demo.fake.User(guest); ok {
					t.Error("the guest was not merged at sign-out")
				}
			}
		})
	}
}
