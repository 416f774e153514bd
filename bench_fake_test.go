package shadow_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// BenchmarkProvisionImpersonate measures Provision+Impersonate pairs per
// second through the SDK against the fake ZITADEL, from parallel
// goroutines, with each web key the fake offers: every pair signs two JWTs
// (the access token and the ID token), and with ZITADEL's default RSA 2048
// key those signatures dominate. Results and commands are in BENCHMARKS.md.
func BenchmarkProvisionImpersonate(b *testing.B) {
	for _, key := range []zitadeltest.WebKey{zitadeltest.WebKeyRSA2048, zitadeltest.WebKeyECDSAP256} {
		b.Run(key.String(), func(b *testing.B) {
			fake := zitadeltest.Start(b, zitadeltest.WithWebKey(key))
			mgr, err := shadow.New(fake.Issuer(),
				shadow.WithOrganization(fake.OrganizationID()),
				shadow.WithClientID(fake.ClientID()),
				shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)),
				shadow.WithCartStore(memstore.New()),
				shadow.WithSessionKeys(testSessionKey(b)),
				shadow.WithHTTPClient(fake.Client()),
				shadow.WithEgressBudget(shadow.EgressBudget{RequestsPerSecond: -1}), // measure the SDK, not the budget
			)
			if err != nil {
				b.Fatal(err)
			}
			fake.RotateKeys() // the key exists before the clock starts
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					g, err := mgr.Provision(b.Context())
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := mgr.Impersonate(b.Context(), g.ID); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pairs/s")
		})
	}
}

// BenchmarkEnsureGuest measures first intents per second: EnsureGuest
// with no cookie, that is Provision, the token exchange for a session
// (access token only, one signature) and the sealed cookie, from parallel
// goroutines against the fake with its default RSA 2048 key.
func BenchmarkEnsureGuest(b *testing.B) {
	fake := zitadeltest.Start(b)
	mgr, err := shadow.New(fake.Issuer(),
		shadow.WithOrganization(fake.OrganizationID()),
		shadow.WithClientID(fake.ClientID()),
		shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)),
		shadow.WithCartStore(memstore.New()),
		shadow.WithSessionKeys(testSessionKey(b)),
		shadow.WithHTTPClient(fake.Client()),
		shadow.WithProvisionLimits(shadow.ProvisionLimits{PerClientPerMinute: -1, GlobalPerMinute: -1}),
		shadow.WithEgressBudget(shadow.EgressBudget{RequestsPerSecond: -1}), // measure the SDK, not the budget
	)
	if err != nil {
		b.Fatal(err)
	}
	fake.RotateKeys()
	b.ResetTimer()
	start := time.Now()
	var clients atomic.Uint32
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequestWithContext(b.Context(), http.MethodPost, "https://shop.example/cart", nil)
			// one client per request: requests of one client without
			// cookies would share a provisioning
			n := clients.Add(1)
			r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1234", n>>16&0xff, n>>8&0xff, n&0xff)
			if _, err := mgr.EnsureGuest(httptest.NewRecorder(), r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "guests/s")
}
