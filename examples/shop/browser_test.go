package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The real-browser test drives Chromium through the shop's four phases on a
// desktop and a phone viewport, asserting what a visitor sees, and writes
// a screenshot of every step to SHOP_SCREENSHOTS (default
// testdata/screenshots, ignored by git). It needs Chromium: SHOP_BROWSER,
// or chromium / chromium-browser / google-chrome on PATH. Without one it
// skips, except in CI (CI=true), where a missing browser fails.

func findBrowser(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("SHOP_BROWSER"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := "no Chromium found (looked for $SHOP_BROWSER, chromium, chromium-browser, google-chrome): install it with `apt-get install chromium` to run the browser test"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SHOP_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var viewports = []viewport{
	{name: "desktop", width: 1280, height: 900},
	{name: "phone", width: 390, height: 844, mobile: true},
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test is not short")
	}
	exe := findBrowser(t)
	dir := screenshotDir(t)
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			old, _ := filepath.Glob(filepath.Join(dir, vp.name+"-*.png"))
			for _, f := range old {
				os.Remove(f)
			}
			h := startShop(t)
			b := newChrome(t, exe, vp, dir)
			browserPhases(t, h, b)
		})
	}
}

// chrome is one Chromium tab with a fresh profile.
type chrome struct {
	t    *testing.T
	ctx  context.Context
	vp   viewport
	dir  string
	shot int
}

func newChrome(t *testing.T, exe string, vp viewport, dir string) *chrome {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(int(vp.width), int(vp.height)),
	}
	// A bound for a hung browser, not a speed assertion.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	c := &chrome{t: t, ctx: ctx, vp: vp, dir: dir}
	emulate := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
	if vp.mobile {
		emulate = append(emulate, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(3))
	}
	c.do(chromedp.EmulateViewport(vp.width, vp.height, emulate...))
	return c
}

func (c *chrome) do(steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		c.t.Fatal(err)
	}
}

func eval[T any](c *chrome, js string) T {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		c.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// text is the visible text of the first element matching sel ("" if none).
func (c *chrome) text(sel string) string {
	c.t.Helper()
	return eval[string](c, fmt.Sprintf(`(e => e ? e.innerText.trim() : "")(document.querySelector(%q))`, sel))
}

func (c *chrome) has(sel string) bool {
	c.t.Helper()
	return eval[bool](c, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
}

// navigate runs a step that loads a new page and waits until it has.
func (c *chrome) navigate(step chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	eval[bool](c, `window.__stale = true`)
	c.do(step)
	// A chain of redirects swaps the page under the poll; poll again on
	// the next one until the final page has loaded.
	for {
		_, err := chromedp.Run(c.ctx, chromedp.Poll[bool](`!window.__stale && document.readyState === "complete"`))
		if err == nil {
			return
		}
		if c.ctx.Err() != nil || !strings.Contains(err.Error(), "navigated or closed") && !strings.Contains(err.Error(), "context") {
			c.t.Fatalf("page did not load: %v", err)
		}
	}
}

func (c *chrome) open(url string) { c.t.Helper(); c.navigate(chromedp.Navigate(url)) }

func (c *chrome) click(sel string) { c.t.Helper(); c.navigate(chromedp.Click(chromedp.CSS(sel))) }

func (c *chrome) fill(sel, value string) {
	c.t.Helper()
	c.do(chromedp.Focus(chromedp.CSS(sel)))
	eval[bool](c, fmt.Sprintf(`(e => { e.select(); return true })(document.querySelector(%q))`, sel))
	c.do(chromedp.SendKeys(chromedp.CSS(sel), value))
	if got := eval[string](c, fmt.Sprintf(`document.querySelector(%q).value`, sel)); got != value {
		c.t.Fatalf("typed %q into %s, it holds %q", value, sel, got)
	}
}

// look checks what every page must satisfy, then saves a screenshot.
func (c *chrome) look(name string) {
	c.t.Helper()
	if c.vp.mobile {
		if !eval[bool](c, `document.documentElement.scrollWidth <= window.innerWidth`) {
			w := eval[int](c, `document.documentElement.scrollWidth`)
			c.t.Errorf("%s: the page scrolls sideways on the phone (%d px wide, %d px viewport)", name, w, c.vp.width)
		}
	}
	if title := eval[string](c, `document.title`); title == "" {
		c.t.Errorf("%s: page without a title", name)
	}
	png, err := chromedp.Run(c.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Fatal(err)
	}
	c.shot++
	file := filepath.Join(c.dir, fmt.Sprintf("%s-%02d-%s.png", c.vp.name, c.shot, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// signInAtZitadel fills in the fake ZITADEL's login page.
func (c *chrome) signInAtZitadel(h *harness, loginName, password string) {
	c.t.Helper()
	if loc := eval[string](c, `location.href`); !strings.HasPrefix(loc, h.demo.fake.Issuer()) {
		c.t.Fatalf("at %s, want ZITADEL's login page", loc)
	}
	c.look("zitadel-login")
	c.fill(`input[name="loginName"]`, loginName)
	c.fill(`input[name="password"]`, password)
	c.click(`button[type="submit"]`)
}

func (c *chrome) cart() map[string]string {
	c.t.Helper()
	got := eval[map[string]string](c, `Object.fromEntries([...document.querySelectorAll("#cart-table tbody tr")].map(
		r => [r.dataset.sku, r.querySelector(".qty").innerText.trim() + " " + r.querySelector(".line-total").innerText.trim()]))`)
	if got == nil {
		got = map[string]string{}
	}
	return got
}

func (c *chrome) wantCart(phase string, want map[string]string, total, count string) {
	c.t.Helper()
	got := c.cart()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		c.t.Errorf("%s: cart %v, want %v", phase, got, want)
	}
	if total != "" && c.text("#cart-total") != total {
		c.t.Errorf("%s: total %q, want %q", phase, c.text("#cart-total"), total)
	}
	if c.text("#cart-count") != count {
		c.t.Errorf("%s: header count %q, want %q", phase, c.text("#cart-count"), count)
	}
}

func browserPhases(t *testing.T, h *harness, c *chrome) {
	fake := h.demo.fake

	// Phase 1: a guest adds to the cart.
	c.open(h.url + "/")
	if c.has("#debug") {
		t.Error("an anonymous visitor sees a debug panel")
	}
	c.look("home")
	c.click(`li.card[data-sku="mug"] button`)
	c.click(`li.card[data-sku="mug"] button`)
	c.click(`li.card[data-sku="sticker"] button`)
	c.wantCart("guest", map[string]string{"mug": "2 24.00 €", "sticker": "1 3.00 €"}, "27.00 €", "3")
	guestSub := c.text("#sub")
	if guestSub == "" || c.text("#who-kind") != "guest" || c.text("#act") != fake.ServiceAccount().ID ||
		!strings.Contains(c.text("#jwt-claims"), `"act"`) || !strings.Contains(c.text("#jwt-header"), `"alg"`) ||
		!strings.Contains(c.text("#debug"), "GUEST_CREATED_AT") || !strings.HasPrefix(c.text("#expiry"), "in ") {
		t.Errorf("guest debug panel incomplete:\n%s", c.text("#debug"))
	}
	if !strings.Contains(c.text("#flash"), "Guest T-shirt") && !strings.Contains(c.text("#flash"), "ZITADEL sticker is in your cart") {
		t.Errorf("flash after adding: %q", c.text("#flash"))
	}
	c.look("guest-cart")

	// Phase 2: register; the account keeps the guest's user id and cart.
	c.click("#register")
	c.look("register")
	c.fill("#given_name", "Alice")
	c.fill("#family_name", "Liddell")
	c.fill("#email", "alice@example.com")
	c.fill("#password", "Wonder-Land-42")
	c.click("#register-submit")
	c.signInAtZitadel(h, "alice@example.com", "Wonder-Land-42")
	if c.text("#who") != "Alice Liddell" {
		t.Fatalf("not signed in after registering: %q", c.text("main"))
	}
	if got := c.text("#sub"); got != guestSub || c.text("#former-guest") != guestSub || !c.has("#same-sub") {
		t.Errorf("sub after registering %q, guest's %q; panel:\n%s", got, guestSub, c.text("#debug"))
	}
	c.wantCart("registered", map[string]string{"mug": "2 24.00 €", "sticker": "1 3.00 €"}, "27.00 €", "3")
	c.look("registered")

	// Phase 3: sign out; as a new guest, sign in to an existing account:
	// the carts merge.
	c.click(`form[action="/logout"] button`)
	if c.has("#who") || !strings.Contains(c.text("#flash"), "signed out") {
		t.Errorf("after signing out: who %q, flash %q", c.text("#who"), c.text("#flash"))
	}
	c.click(`li.card[data-sku="tee"] button`)
	c.click(`li.card[data-sku="sticker"] button`)
	c.wantCart("second guest", map[string]string{"sticker": "1 3.00 €", "tee": "1 25.00 €"}, "28.00 €", "2")
	c.click("#sign-in")
	c.signInAtZitadel(h, demoEmail, demoPassword)
	if c.text("#who") != "Dana Demo" || !strings.Contains(c.text("#flash"), "We moved 2 items") {
		t.Errorf("after signing in: who %q, flash %q", c.text("#who"), c.text("#flash"))
	}
	c.wantCart("merged", map[string]string{"mug": "1 12.00 €", "sticker": "1 3.00 €", "tee": "1 25.00 €"}, "40.00 €", "3")
	if c.text("#merged-guest") == "" || c.text("#merged-guest") == c.text("#sub") {
		t.Errorf("debug panel after the merge: merged guest %q, sub %q", c.text("#merged-guest"), c.text("#sub"))
	}
	c.look("merged")

	// Phase 4: an abandoned guest is previewed, then swept; its browser
	// becomes an anonymous visitor again.
	c.click(`form[action="/logout"] button`)
	c.click(`li.card[data-sku="mug"] button`)
	abandoned := c.text("#sub")
	c.click(".admin-link")
	if !c.has(fmt.Sprintf(`#guests tr[data-id="%s"]`, abandoned)) {
		t.Errorf("admin page does not list the guest %s:\n%s", abandoned, c.text("main"))
	}
	c.look("admin")
	c.fill("#older_than", "1ms")
	c.click("#preview")
	if c.text("#eligible") != "1" || !c.has("#confirm-sweep") || len(h.guests()) != 1 {
		t.Errorf("preview: eligible %q, guests %d:\n%s", c.text("#eligible"), len(h.guests()), c.text("main"))
	}
	c.look("sweep-preview")
	c.click("#confirm-sweep")
	if c.text("#deleted") != "1" || c.text("#scanned") != "1" || len(h.guests()) != 0 {
		t.Errorf("sweep report: deleted %q scanned %q, guests left %d", c.text("#deleted"), c.text("#scanned"), len(h.guests()))
	}
	c.look("sweep-report")
	c.open(h.url + "/")
	if c.has("#debug") || !c.has("#cart-empty") || c.text("#cart-count") != "0" {
		t.Errorf("the swept guest's browser is not anonymous:\n%s", c.text("main"))
	}
	c.look("after-sweep")

	// And sign-up at ZITADEL's hosted page (prompt=create): the new
	// account receives the guest's cart.
	c.click(`li.card[data-sku="sticker"] button`)
	c.click("#register")
	c.do(chromedp.Click(chromedp.CSS(".alternatives summary")))
	c.look("register-alternatives")
	c.click("#hosted-signup")
	if loc := eval[string](c, `location.href`); !strings.HasPrefix(loc, fake.Issuer()) || !c.has(`input[name="firstname"]`) {
		t.Fatalf("at %s, want ZITADEL's registration page", loc)
	}
	c.look("zitadel-register")
	c.fill(`input[name="firstname"]`, "Hana")
	c.fill(`input[name="lastname"]`, "Hosted")
	c.fill(`input[name="email"]`, "hana@example.com")
	c.fill(`input[name="register-password"]`, "Hosted-Passw0rd!")
	c.click(`button[type="submit"]`)
	if c.text("#who") != "Hana Hosted" || !strings.Contains(c.text("#flash"), "We moved 1 item") {
		t.Errorf("after the hosted sign-up: who %q, flash %q", c.text("#who"), c.text("#flash"))
	}
	c.wantCart("hosted sign-up", map[string]string{"sticker": "1 3.00 €"}, "3.00 €", "1")
	c.look("hosted-signup")
	c.open(h.url + "/no-such-page")
	if !strings.Contains(c.text("#error-message"), "no page") || !c.has("#back") {
		t.Errorf("404 page: %q", c.text("main"))
	}
	c.look("not-found")
}
