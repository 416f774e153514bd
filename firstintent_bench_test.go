package shadow_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// BenchmarkFirstIntentLatency measures what a visitor waits for on their
// first intent: EnsureGuest without a cookie, one visitor at a time, with
// 25 ms of latency on every request to the fake, with and without
// ZITADEL's projection lag, with and without the guest pool. It reports
// the median and the 99th percentile in milliseconds. With the pool, the
// benchmark waits (off the clock) for the pool to be full before each
// intent, as a pool sized for the traffic is.
func BenchmarkFirstIntentLatency(b *testing.B) {
	const latency = 25 * time.Millisecond
	for _, c := range []struct {
		name      string
		lag, pool bool
	}{
		{"direct", false, false},
		{"direct-lag", true, false},
		{"pool", false, true},
		{"pool-lag", true, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			fake := zitadeltest.Start(b)
			opts := []shadow.Option{
				shadow.WithOrganization(fake.OrganizationID()),
				shadow.WithClientID(fake.ClientID()),
				shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)),
				shadow.WithCartStore(memstore.New()),
				shadow.WithSessionKeys(testSessionKey(b)),
				shadow.WithHTTPClient(fake.Client()),
				shadow.WithProvisionLimits(shadow.ProvisionLimits{PerClientPerMinute: -1, GlobalPerMinute: -1}),
				// One visitor after another sends up to 4 requests per 80 ms,
				// more than the default budget: measure the SDK, not the budget.
				shadow.WithEgressBudget(shadow.EgressBudget{RequestsPerSecond: -1}),
			}
			const size = 4
			if c.pool {
				opts = append(opts, shadow.WithGuestPool(shadow.PoolOptions{Size: size}))
			}
			mgr, err := shadow.New(fake.Issuer(), opts...)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = mgr.Close(context.Background()) })
			fake.SetLatency(latency)
			if c.lag {
				fake.SetProjectionLag(time.Hour)
			}
			full := func() {
				for c.pool && mgr.PoolStats().Ready < size {
					time.Sleep(time.Millisecond)
				}
			}
			intent := func() time.Duration {
				r := httptest.NewRequestWithContext(b.Context(), http.MethodPost, "https://shop.example/cart", nil)
				start := time.Now()
				if _, err := mgr.EnsureGuest(httptest.NewRecorder(), r); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			full()
			intent() // warm: connections, keys, and the projection lag seen once
			took := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				full()
				b.StartTimer()
				took = append(took, intent())
			}
			b.StopTimer()
			slices.Sort(took)
			ms := func(q float64) float64 {
				return float64(took[min(len(took)-1, int(q*float64(len(took))))]) / float64(time.Millisecond)
			}
			b.ReportMetric(ms(0.50), "p50-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
		})
	}
}
