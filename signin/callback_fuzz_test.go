package signin

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzCallback: any query and Cookie header at the callback ends in a
// typed error the app can render (a bad callback, an authorization error,
// or, for a genuine state only, the failed code exchange of this Flow
// without a provider), never a panic and never a result.
func FuzzCallback(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	fl := testFlow(f, func() time.Time { return now })
	w := httptest.NewRecorder()
	u, err := fl.AuthCodeURL(w, httptest.NewRequest(http.MethodGet, "/login", nil))
	if err != nil {
		f.Fatal(err)
	}
	var cookies []string
	for _, c := range w.Result().Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	_, q, _ := strings.Cut(u, "?")
	f.Add(q, strings.Join(cookies, "; "))
	f.Add("state="+strings.Repeat("A", 22)+"&code=x", "__Secure-shadow-signin-"+strings.Repeat("A", 22)+"=a.b.c.d.e")
	f.Add("state=%zz&error=access_denied", "")
	f.Add("state=&state=x", "a=b; a=c")
	f.Fuzz(func(t *testing.T, rawQuery, cookie string) {
		r := httptest.NewRequest(http.MethodGet, "/callback", nil)
		r.URL.RawQuery = rawQuery
		r.Header.Set("Cookie", cookie)
		res, err := fl.Callback(httptest.NewRecorder(), r)
		if res != nil {
			t.Fatalf("Callback accepted %q with cookies %q: %+v", rawQuery, cookie, res)
		}
		switch {
		case errors.Is(err, ErrBadCallback), errors.Is(err, ErrAuthorization):
		case errors.Is(err, ErrExchange) && strings.Contains(cookie, "__Secure-shadow-signin-"):
		default:
			t.Fatalf("Callback(%q, %q) = %v, want a typed error", rawQuery, cookie, err)
		}
	})
}
