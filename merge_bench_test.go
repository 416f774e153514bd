package shadow_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// BenchmarkMergeIntoRoundTrips merges a guest with a cart and saved items
// into an account while every ZITADEL call MergeInto makes takes 100 ms:
// "round-trips" is the wall time of a MergeInto over 100 ms, i.e. its
// sequential ZITADEL round trips (the reads of the guest and the target
// run concurrently), and "requests" the requests it sent. Provisioning is
// not timed.
func BenchmarkMergeIntoRoundTrips(b *testing.B) {
	const latency = 100 * time.Millisecond
	fake := zitadeltest.Start(b)
	// Keep the concurrent reads' connections alive between merges, as the
	// SDK's default client does (MaxIdleConnsPerHost 64): the test
	// client's default of 2 would add a TLS handshake to every merge.
	tr := fake.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	carts, saved := memstore.New(), newSaved()
	mgr, err := shadow.New(fake.Issuer(),
		shadow.WithOrganization(fake.OrganizationID()),
		shadow.WithClientID(fake.ClientID()),
		shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)),
		shadow.WithCartStore(carts),
		shadow.WithGuestData("saved", saved),
		shadow.WithHTTPClient(&http.Client{Transport: tr}),
	)
	if err != nil {
		b.Fatal(err)
	}
	account, err := fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "A", FamilyName: "B",
		Email: "bench@example.com", EmailVerified: true, Password: "Bench-Mark-1!"})
	if err != nil {
		b.Fatal(err)
	}
	for _, op := range []zitadeltest.Operation{zitadeltest.OpListUserMetadata, zitadeltest.OpGetUserByID, zitadeltest.OpDeleteUser} {
		fake.SetFault(op, zitadeltest.Latency(latency))
	}
	var total time.Duration
	requests := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		g, err := mgr.Provision(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if err := carts.Add(b.Context(), g.ID, shadow.Item{SKU: "mug", Quantity: 1}); err != nil {
			b.Fatal(err)
		}
		if err := saved.Put(b.Context(), g.ID, "w", 1); err != nil {
			b.Fatal(err)
		}
		fake.ResetRequests()
		b.StartTimer()
		start := time.Now()
		if _, err := mgr.MergeInto(b.Context(), g.ID, account); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		requests += len(fake.Requests())
	}
	b.ReportMetric(float64(total)/float64(b.N)/float64(latency), "round-trips")
	b.ReportMetric(float64(requests)/float64(b.N), "requests")
}
