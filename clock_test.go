package shadow_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// One clock: the fake's, handed to the Manager with WithClock(fake.Now).
// The session codec and the Verifier the Manager builds follow it, so a
// test that moves the fake's time needs no other clock. (A Verifier on
// time.Now used to reject these tokens with a 401: issued in the future.)
func TestOneClockDrivesEverything(t *testing.T) {
	t.Parallel()
	fake := zitadeltest.Start(t)
	fake.SetTime(time.Now().AddDate(10, 0, 0)) // far from the wall clock
	mgr, err := shadow.New(fake.Issuer(),
		shadow.WithOrganization(fake.OrganizationID()), shadow.WithClientID(fake.ClientID()),
		shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)), shadow.WithCartStore(memstore.New()),
		shadow.WithSessionKeys(testSessionKey(t)), shadow.WithHTTPClient(fake.Client()),
		shadow.WithClock(fake.Now))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s, err := mgr.EnsureGuest(rec, newRequest(t, nil))
	if err != nil {
		t.Fatalf("EnsureGuest: %v", err)
	}
	if _, err := mgr.ReadSession(newRequest(t, rec.Result().Cookies())); err != nil {
		t.Errorf("the session sealed a moment ago does not open: %v", err)
	}
	v, err := mgr.Verifier()
	if err != nil {
		t.Fatal(err)
	}
	api := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	call := func() int {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example/cart", nil)
		r.Header.Set("Authorization", "Bearer "+s.Token.AccessToken)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		return rec.Code
	}
	if code := call(); code != http.StatusNoContent {
		t.Errorf("resource server with the Manager's Verifier: %d, want 204", code)
	}
	fake.Advance(13 * time.Hour) // past the token's 12 h lifetime
	if code := call(); code != http.StatusUnauthorized {
		t.Errorf("expired on the shared clock: %d, want 401", code)
	}
	if _, err := mgr.ReadSession(newRequest(t, rec.Result().Cookies())); err != nil {
		t.Errorf("the 30-day session does not open 13 h later: %v", err)
	}
	fake.Advance(31 * 24 * time.Hour)
	if _, err := mgr.ReadSession(newRequest(t, rec.Result().Cookies())); !errors.Is(err, shadow.ErrInvalidSession) {
		t.Errorf("the session opens 31 days later: %v", err)
	}
}

// A Manager that only sweeps needs no client id, no project id and no
// session keys; what needs the token exchange says so.
func TestSweepOnlyManager(t *testing.T) {
	t.Parallel()
	fake := zitadeltest.Start(t)
	for name, cr := range map[string]func() (shadow.Credentials, error){
		"PAT":     func() (shadow.Credentials, error) { return shadow.PAT(fake.ServiceAccount().PAT), nil },
		"KeyFile": func() (shadow.Credentials, error) { return shadow.KeyFile(fake.ServiceAccount().KeyFile) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			creds, err := cr()
			if err != nil {
				t.Fatal(err)
			}
			mgr, err := shadow.New(fake.Issuer(), shadow.WithOrganization(fake.OrganizationID()),
				shadow.WithCredentials(creds), shadow.WithCartStore(memstore.New()), shadow.WithHTTPClient(fake.Client()))
			if err != nil {
				t.Fatalf("New without WithClientID: %v", err)
			}
			if _, err := mgr.Sweep(t.Context(), shadow.SweepOptions{OlderThan: 31 * 24 * time.Hour}); err != nil {
				t.Errorf("Sweep: %v", err)
			}
			g, err := mgr.Provision(t.Context())
			if err != nil {
				t.Fatalf("Provision: %v", err)
			}
			if _, err := mgr.Impersonate(t.Context(), g.ID); !errors.Is(err, shadow.ErrNoClientID) {
				t.Errorf("Impersonate = %v, want ErrNoClientID", err)
			}
		})
	}
}

func TestClientAuthNeedsClientID(t *testing.T) {
	t.Parallel()
	_, err := shadow.New("https://id.example.com", shadow.WithOrganization("org"),
		shadow.WithCredentials(shadow.PAT("pat")), shadow.WithCartStore(memstore.New()),
		shadow.WithClientSecret("secret", shadow.AuthClientSecretBasic))
	if err == nil {
		t.Fatal("New accepted a client secret without a client id")
	}
	checkOnePrefix(t, err)
}
