package shadow_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// BenchmarkMiddlewareWarm is the Middleware's cost for a returning guest
// whose token is fresh: open the cookie (decode cache), the ended-guest
// check (tombstones, shared check interval), renewal and re-seal checks.
// No ZITADEL request may happen. Target: under 5 µs.
func BenchmarkMiddlewareWarm(b *testing.B) {
	fake := zitadeltest.Start(b)
	mgr, err := shadow.New(fake.Issuer(),
		shadow.WithOrganization(fake.OrganizationID()),
		shadow.WithClientID(fake.ClientID()),
		shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)),
		shadow.WithCartStore(memstore.New()),
		shadow.WithSessionKeys(testSessionKey(b)),
		shadow.WithHTTPClient(fake.Client()),
	)
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if _, err := mgr.EnsureGuest(rec, httptest.NewRequestWithContext(b.Context(), http.MethodPost, "https://shop.example/cart", nil)); err != nil {
		b.Fatal(err)
	}
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == shadow.DefaultCookieName {
			cookie = c
		}
	}
	h := mgr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := shadow.SessionFromContext(r.Context()); !ok {
			b.Error("no session")
		}
	}))
	r := httptest.NewRequestWithContext(b.Context(), http.MethodGet, "https://shop.example/", nil)
	r.AddCookie(cookie)
	fake.ResetRequests()
	w := httptest.NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	b.StopTimer()
	if n := len(fake.Requests()); n != 0 {
		b.Errorf("%d ZITADEL requests on warm requests", n)
	}
}
