package signin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/signin"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// The flows an app runs with the helper, end to end over HTTP with a
// cookie jar against zitadeltest.

func TestSignInMergesTheGuest(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	customer := a.customer(t, "ada@example.com")
	if err := a.store.Add(t.Context(), customer, shadow.Item{SKU: "mug", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	b := a.browser(t)
	b.addToCart("mug")
	b.addToCart("tee")
	guest := b.guestID()
	status, body := b.signIn("ada@example.com", password)
	want := callbackBody{UserID: customer, Status: "Merged", GuestID: guest, Moved: 2}
	if diff := cmp.Diff(want, body); status != http.StatusOK || diff != "" {
		t.Fatalf("callback %d (-want +got):\n%s", status, diff)
	}
	if diff := cmp.Diff(map[string]int{"mug": 2, "tee": 1}, a.cart(t, customer)); diff != "" {
		t.Errorf("customer cart (-want +got):\n%s", diff)
	}
	if a.exists(guest) {
		t.Error("guest still exists after the merge")
	}
	if id := b.guestID(); id != "" {
		t.Errorf("guest session %q still set after the merge", id)
	}
}

func TestMergeFailureKeepsGuestCartAndCookie(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	customer := a.customer(t, "ada@example.com")
	b := a.browser(t)
	b.addToCart("mug")
	guest := b.guestID()
	a.fake.FailNext(zitadeltest.OpListUserMetadata, zitadeltest.Unavailable())
	status, body := b.signIn("ada@example.com", password)
	if status != http.StatusOK || body.UserID != customer || body.Status != "MergeDeferred" || body.MergeErr == "" {
		t.Fatalf("callback %d %+v, want a sign-in with MergeDeferred", status, body)
	}
	var me *signin.MergeError
	if err := a.err(); err != nil || errors.As(err, &me) {
		t.Fatalf("Callback error %v: a deferred merge is no sign-in failure", err)
	}
	if !a.exists(guest) || b.guestID() != guest {
		t.Fatalf("guest %s or its session lost after a failed merge", guest)
	}
	if diff := cmp.Diff(map[string]int{"mug": 1}, a.cart(t, guest)); diff != "" {
		t.Errorf("guest cart (-want +got):\n%s", diff)
	}
	// The next sign-in in this browser finishes the merge.
	_, body = b.signIn("ada@example.com", password)
	if body.Status != "Merged" || a.exists(guest) || b.guestID() != "" {
		t.Errorf("second sign-in %+v, guest exists %v", body, a.exists(guest))
	}
	if diff := cmp.Diff(map[string]int{"mug": 1}, a.cart(t, customer)); diff != "" {
		t.Errorf("customer cart (-want +got):\n%s", diff)
	}
}

func TestMergeDeferredErrorIsTyped(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	a.customer(t, "ada@example.com")
	b := a.browser(t)
	b.addToCart("mug")
	a.fake.FailNext(zitadeltest.OpListUserMetadata, zitadeltest.Unavailable())
	cb, err := a.fake.SignIn(b.c, b.startLogin(""), "ada@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	// Call the helper directly to inspect the typed error.
	w, r := recorderFor(t, b, cb)
	res, err := a.flow.Callback(w, r)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Merge.Err, signin.ErrMergeDeferred) || !errors.Is(res.Merge.Err, shadow.ErrUnavailable) {
		t.Errorf("Merge.Err = %v, want ErrMergeDeferred wrapping ErrUnavailable", res.Merge.Err)
	} else if n := strings.Count(res.Merge.Err.Error(), "shadow:"); n != 1 {
		t.Errorf("message %q says shadow: %d times", res.Merge.Err, n)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == shadow.DefaultInsecureCookieName {
			t.Errorf("guest cookie touched (%+v) after a deferred merge", c)
		}
	}
}

func TestTwoTabsSignIn(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	customer := a.customer(t, "ada@example.com")
	b := a.browser(t)
	b.addToCart("mug")
	guest := b.guestID()
	tab1 := b.startLogin("")
	tab2 := b.startLogin("")
	cb2, err := a.fake.SignIn(b.c, tab2, "ada@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	cb1, err := a.fake.SignInSilently(b.c, tab1) // the browser is signed in at ZITADEL now
	if err != nil {
		t.Fatal(err)
	}
	s2, body2 := b.get(cb2)
	s1, body1 := b.get(cb1)
	if s1 != http.StatusOK || s2 != http.StatusOK {
		t.Fatalf("tab 1: %d %+v; tab 2: %d %+v", s1, body1, s2, body2)
	}
	if body2.Status != "Merged" || body1.Status != "GuestGone" || body1.UserID != customer {
		t.Errorf("tab 2 %+v, tab 1 %+v: want Merged, then GuestGone", body2, body1)
	}
	if a.exists(guest) || b.guestID() != "" {
		t.Error("guest or its session survived")
	}
}

func TestLoginCSRFRefused(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	attacker := a.customer(t, "mallory@example.com")
	// The attacker signs in in his own browser and stops before the callback.
	evil := a.browser(t)
	cb, err := a.fake.SignIn(evil.c, evil.startLogin(""), "mallory@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	// The victim, with a guest cart, is lured to that callback.
	victim := a.browser(t)
	victim.addToCart("mug")
	guest := victim.guestID()
	status, body := victim.get(cb)
	if status != http.StatusBadRequest || !errors.Is(a.err(), signin.ErrUnknownState) {
		t.Fatalf("callback of another browser: %d %+v (%v), want 400 ErrUnknownState", status, body, a.err())
	}
	if !a.exists(guest) || victim.guestID() != guest || len(a.cart(t, attacker)) != 0 {
		t.Error("the victim's guest was touched or merged into the attacker")
	}
	// That the attacker cannot finish the victim's pending authorization
	// request at ZITADEL is zitadeltest's TestAuthRequestBoundToBrowser.
}

// TestTossedStateCookieRefused: a sibling subdomain can set a cookie for
// the app's host (Domain=, "cookie tossing"; the __Secure- prefix does not
// prevent it). The attacker starts a sign-in in his browser, signs in,
// tosses his state cookie into the victim's browser and sends the victim
// to his callback: the victim must not end up signed into the attacker's
// account, since the state is bound to the attacker's browser cookie,
// which no other site can set (__Host- over https).
func TestTossedStateCookieRefused(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	attacker := a.customer(t, "mallory@example.com")
	evil := a.browser(t)
	cb, err := a.fake.SignIn(evil.c, evil.startLogin(""), "mallory@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	state := query(t, cb, "state")
	victim := a.browser(t)
	victim.addToCart("mug")
	guest := victim.guestID()
	victim.startLogin("") // the victim has a sign-in of his own under way, and so his own browser cookie
	app, _ := url.Parse(a.srv.URL + "/callback")
	tossed := 0
	for _, c := range evil.c.Jar.Cookies(app) {
		if strings.HasSuffix(c.Name, state) {
			victim.c.Jar.SetCookies(app, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/callback"}})
			tossed++
		}
	}
	if tossed != 1 {
		t.Fatalf("found %d state cookies of the attacker, want 1", tossed)
	}
	status, body := victim.get(cb)
	if status != http.StatusBadRequest || !errors.Is(a.err(), signin.ErrUnknownState) || body.UserID == attacker {
		t.Fatalf("callback with a tossed state cookie: %d %+v (%v), want 400 ErrUnknownState", status, body, a.err())
	}
	if !a.exists(guest) || victim.guestID() != guest || len(a.cart(t, attacker)) != 0 {
		t.Error("the victim's guest was touched or merged into the attacker")
	}
	// The attacker's own browser still completes its sign-in.
	if status, body := evil.get(cb); status != http.StatusOK || body.UserID != attacker {
		t.Errorf("the attacker's own callback: %d %+v (%v)", status, body, a.err())
	}
}

func TestCodeFromAnotherBrowser(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	a.customer(t, "mallory@example.com")
	evil := a.browser(t)
	evilCB, err := a.fake.SignIn(evil.c, evil.startLogin(""), "mallory@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	victim := a.browser(t)
	victim.addToCart("mug")
	guest := victim.guestID()
	// The victim's own pending sign-in, answered with the attacker's code.
	authURL := victim.startLogin("")
	state := query(t, authURL, "state")
	forged := a.srv.URL + "/callback?state=" + state + "&code=" + query(t, evilCB, "code")
	status, _ := victim.get(forged)
	if status != http.StatusBadGateway || !errors.Is(a.err(), signin.ErrExchange) {
		t.Errorf("attacker's code with the victim's state: %d %v, want 502 ErrExchange (PKCE)", status, a.err())
	}
	if !a.exists(guest) || victim.guestID() != guest {
		t.Error("the victim's guest was merged")
	}
}

func TestSignUpAtHostedPageMerges(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	b := a.browser(t)
	b.addToCart("sticker")
	guest := b.guestID()
	cb, err := a.fake.SignUp(b.c, b.startLogin("prompt=create"), zitadeltest.Registration{
		GivenName: "Grace", FamilyName: "Hopper", Email: "grace@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	status, body := b.get(cb)
	if status != http.StatusOK || body.Status != "Merged" || body.UserID == guest {
		t.Fatalf("callback %d %+v, want the new user with the guest merged", status, body)
	}
	u, ok := a.fake.User(body.UserID)
	if !ok || u.Email != "grace@example.com" || u.EmailVerified {
		t.Errorf("new user %+v: want grace@example.com, unverified", u)
	}
	if diff := cmp.Diff(map[string]int{"sticker": 1}, a.cart(t, body.UserID)); diff != "" {
		t.Errorf("new user's cart (-want +got):\n%s", diff)
	}
	if a.exists(guest) {
		t.Error("guest not deleted")
	}
}

func TestPasswordlessUpgradeThenSignIn(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	b := a.browser(t)
	b.addToCart("mug")
	guest := b.guestID()
	res, err := a.mgr.UpgradeWithoutPassword(t.Context(), guest, shadow.PasswordlessProfile{
		GivenName: "Ada", FamilyName: "Lovelace", Email: "ada@example.com", ReturnCode: true})
	if err != nil {
		t.Fatalf("UpgradeWithoutPassword: %v", err)
	}
	if res.InviteCode == "" {
		t.Fatal("no invite code returned")
	}
	u, _ := a.fake.User(guest)
	if u.Username != "ada@example.com" || u.HasPassword || len(u.Metadata) != 0 {
		t.Errorf("upgraded user %+v: want username set, no password, no tag", u)
	}
	// The user redeems the invite at ZITADEL and chooses a password, then
	// signs in: same user id, same cart; the stale guest session goes.
	if err := a.fake.RedeemInviteCode(guest, res.InviteCode, password); err != nil {
		t.Fatal(err)
	}
	status, body := b.signIn("ada@example.com", password)
	if status != http.StatusOK || body.UserID != guest || body.Status != "SameUser" {
		t.Fatalf("callback %d %+v, want the same user", status, body)
	}
	if b.guestID() != "" {
		t.Error("guest session kept after the user signed in as itself")
	}
	if diff := cmp.Diff(map[string]int{"mug": 1}, a.cart(t, guest)); diff != "" {
		t.Errorf("cart (-want +got):\n%s", diff)
	}
}

func TestSignOutAtZitadelAsksForThePasswordAgain(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	a.customer(t, "ada@example.com")
	b := a.browser(t)
	if status, _ := b.signIn("ada@example.com", password); status != http.StatusOK {
		t.Fatal(status)
	}
	// Signed in at ZITADEL: a new sign-in goes through without the form.
	if _, err := a.fake.SignInSilently(b.c, b.startLogin("")); err != nil {
		t.Fatalf("second sign-in before sign-out: %v", err)
	}
	// prompt=login asks anyway.
	if _, err := a.fake.SignInSilently(b.c, b.startLogin("prompt=login")); !errors.Is(err, zitadeltest.ErrPasswordRequired) {
		t.Errorf("prompt=login: %v, want ErrPasswordRequired", err)
	}
	status, _ := b.do(http.MethodGet, a.srv.URL+"/logout") // app → end_session → back home
	if status != http.StatusOK {
		t.Fatalf("logout: %d", status)
	}
	if _, err := a.fake.SignInSilently(b.c, b.startLogin("")); !errors.Is(err, zitadeltest.ErrPasswordRequired) {
		t.Errorf("sign-in after sign-out: %v, want ErrPasswordRequired", err)
	}
}

func TestConfirmMergeFirst(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{config: func(c *signin.Config) {
		c.ConfirmMerge = func(_ context.Context, u *signin.User) bool { return u.Email == "ada@example.com" }
	}})
	customer := a.customer(t, "ada@example.com")
	other := a.customer(t, "bob@example.com")
	b := a.browser(t)
	b.addToCart("mug")
	guest := b.guestID()
	_, body := b.signIn("ada@example.com", password)
	if body.Status != "MergePending" || !a.exists(guest) || b.guestID() != guest {
		t.Fatalf("callback %+v: want MergePending with the guest kept", body)
	}
	status, body := b.do(http.MethodPost, a.srv.URL+"/merge")
	if status != http.StatusOK || body.Status != "Merged" || a.exists(guest) {
		t.Fatalf("confirm %d %+v: want Merged", status, body)
	}
	if diff := cmp.Diff(map[string]int{"mug": 1}, a.cart(t, customer)); diff != "" {
		t.Errorf("cart (-want +got):\n%s", diff)
	}
	// No pending merge left; a pending merge is only the signed-in user's.
	if status, _ := b.do(http.MethodPost, a.srv.URL+"/merge"); status != http.StatusBadRequest || !errors.Is(a.err(), signin.ErrNoPendingMerge) {
		t.Errorf("second confirm: %d %v", status, a.err())
	}
	_ = other
}

func TestReturnTo(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	a.customer(t, "ada@example.com")
	b := a.browser(t)
	cb, err := a.fake.SignIn(b.c, b.startLogin("return=%2Fcart%3Fx%3D1"), "ada@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	if _, body := b.get(cb); body.ReturnTo != "/cart?x=1" || body.Status != "NoGuest" {
		t.Errorf("callback %+v, want ReturnTo /cart?x=1 and NoGuest", body)
	}
	for _, bad := range []string{"https://evil.example", "//evil.example", "/\\evil", "cart"} {
		if _, err := a.flow.AuthCodeURL(httptestRecorder(), newRequest(t, "/login"), signin.WithReturnTo(bad)); err == nil {
			t.Errorf("WithReturnTo(%q) accepted", bad)
		}
	}
}

func TestTrailingSlashIssuer(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{fakeOpts: []zitadeltest.Option{zitadeltest.WithTrailingSlashIssuer()}})
	customer := a.customer(t, "ada@example.com")
	b := a.browser(t)
	b.addToCart("mug")
	if status, body := b.signIn("ada@example.com", password); status != http.StatusOK || body.UserID != customer || body.Status != "Merged" {
		t.Fatalf("callback %d %+v", status, body)
	}
	_, err := signin.New(t.Context(), signin.Config{Issuer: a.fake.URL, ClientID: a.fake.ClientID(),
		RedirectURL: a.srv.URL + "/callback", Secrets: [][]byte{secret}, HTTPClient: a.fake.Client()})
	if !errors.Is(err, signin.ErrIssuerMismatch) {
		t.Errorf("New with the issuer's slash trimmed: %v, want ErrIssuerMismatch", err)
	}
}

// TestMergeSessionForOwnLogin: apps with their own login call the merge
// step alone, with the same rules.
func TestMergeSessionForOwnLogin(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{})
	customer := a.customer(t, "ada@example.com")
	b := a.browser(t)
	if out := signin.MergeSession(httptest.NewRecorder(), newRequest(t, "/"), a.mgr, customer); out.Status != signin.NoGuest {
		t.Errorf("without a guest session: %v", out.Status)
	}
	b.addToCart("mug")
	guest := b.guestID()
	a.fake.FailNext(zitadeltest.OpDeleteUser, zitadeltest.APIError(zitadeltest.CodeInternal, "", "boom"))
	w, r := recorderFor(t, b, a.srv.URL+"/")
	out := signin.MergeSession(w, r, a.mgr, customer)
	if out.Status != signin.MergeDeferred || !errors.Is(out.Err, signin.ErrMergeDeferred) || len(w.Result().Cookies()) != 0 {
		t.Fatalf("failed DeleteUser: %+v, cookies %v: want MergeDeferred, session kept", out, w.Result().Cookies())
	}
	w, r = recorderFor(t, b, a.srv.URL+"/")
	out = signin.MergeSession(w, r, a.mgr, customer)
	cleared := len(w.Result().Cookies()) == 1 && w.Result().Cookies()[0].MaxAge < 0
	if out.Status != signin.Merged || out.GuestID != guest || !cleared || a.exists(guest) {
		t.Errorf("retry: %+v, cookies %v: want Merged and the session cleared", out, w.Result().Cookies())
	}
	if diff := cmp.Diff(map[string]int{"mug": 1}, a.cart(t, customer)); diff != "" {
		t.Errorf("cart (-want +got):\n%s", diff)
	}
}

func TestDeclineMerge(t *testing.T) {
	t.Parallel()
	a := newApp(t, appOptions{config: func(c *signin.Config) {
		c.ConfirmMerge = func(context.Context, *signin.User) bool { return true }
	}})
	customer := a.customer(t, "ada@example.com")
	b := a.browser(t)
	b.addToCart("mug")
	guest := b.guestID()
	if _, body := b.signIn("ada@example.com", password); body.Status != "MergePending" {
		t.Fatalf("callback %+v", body)
	}
	_, r := recorderFor(t, b, a.srv.URL+"/")
	if g, ok := a.flow.PendingMerge(r, customer); !ok || g != guest {
		t.Errorf("PendingMerge = %q %v, want %q", g, ok, guest)
	}
	if _, ok := a.flow.PendingMerge(r, "someone-else"); ok {
		t.Error("PendingMerge answered for another user")
	}
	w := httptest.NewRecorder()
	a.flow.DeclineMerge(w)
	if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("DeclineMerge cookies %v, want the pending merge dropped", c)
	}
	if !a.exists(guest) || b.guestID() != guest {
		t.Error("declining touched the guest")
	}
}
