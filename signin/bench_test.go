package signin

import (
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// BenchmarkAuthCodeURL measures starting a sign-in: random state, nonce
// and PKCE verifier, and sealing the state cookie.
func BenchmarkAuthCodeURL(b *testing.B) {
	f := testFlow(b, time.Now)
	f.oauth = oauth2.Config{ClientID: "c", RedirectURL: "https://app.example/callback",
		Endpoint: oauth2.Endpoint{AuthURL: "https://zitadel.example/oauth/v2/authorize"}}
	r := httptest.NewRequest("GET", "/login", nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.AuthCodeURL(httptest.NewRecorder(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenState measures the callback's state check before the code
// exchange: opening the sealed cookie and the replay check.
func BenchmarkOpenState(b *testing.B) {
	now := time.Now()
	f := testFlow(b, func() time.Time { return now })
	st := loginState{ID: "AAAAAAAAAAAAAAAAAAAAAA", Verifier: "v", Nonce: "n", GuestID: "340000000000000001", Expiry: now.Add(time.Minute).Unix()}
	v, err := f.seal.sealJSON(purposeState, st)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.openState(st.ID, v); err != nil {
			b.Fatal(err)
		}
	}
}
