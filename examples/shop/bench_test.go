package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkHomeGuest serves the home page to a guest with a cart: the
// session cookie opened, the cart read, the debug panel decoded and the
// page rendered (no ZITADEL request: the token is fresh).
func BenchmarkHomeGuest(b *testing.B) {
	h := startShop(b)
	handler := h.shop.Handler()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/cart/add", strings.NewReader(url.Values{"sku": {"mug"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	handler.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="debug"`) {
			b.Fatalf("HTTP %d without the debug panel", rec.Code)
		}
	}
}
