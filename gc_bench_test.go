package shadow_test

import (
	"fmt"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// BenchmarkSweep deletes N abandoned guests with 5 ms of latency on every
// request to the fake, at concurrency 16. It reports the run's wall time
// against the concurrency-bound ideal (2 calls × N × 5 ms / 16) and the
// peak growth of the live heap during the run, which must not grow with N.
//
//	go test -run '^$' -bench BenchmarkSweep -benchtime 1x .
func BenchmarkSweep(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			const latency, workers = 5 * time.Millisecond, 16
			ideal := time.Duration(2*n) * latency / workers
			var total time.Duration
			var peak uint64
			for range b.N {
				b.StopTimer()
				fake, mgr := sweepPopulation(b, n)
				fake.SetLatency(latency)
				runtime.GC()
				base := liveHeap()
				stop, peakOf := sampleHeap()
				b.StartTimer()
				start := time.Now()
				rep, err := mgr.Sweep(b.Context(), shadow.SweepOptions{OlderThan: 24 * time.Hour, Concurrency: workers,
					RequestsPerSecond: -1, PageSize: 1000})
				total += time.Since(start)
				b.StopTimer()
				stop()
				if err != nil || rep.Deleted != n {
					b.Fatalf("sweep: %+v, %v", rep.Deleted, err)
				}
				if p := peakOf(); p > base && p-base > peak {
					peak = p - base
				}
				fake.Close()
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/sweep")
			b.ReportMetric(total.Seconds()/float64(b.N)/ideal.Seconds(), "x-ideal")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-growth-MiB")
		})
	}
}

// sweepPopulation returns a fake holding n guests tagged two days ago and a
// Manager for it.
func sweepPopulation(b *testing.B, n int) (*zitadeltest.Server, *shadow.Manager) {
	b.Helper()
	fake := zitadeltest.NewServer()
	tag := []byte(time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339))
	for i := range n {
		if _, err := fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Guest", FamilyName: "User",
			Email: fmt.Sprintf("guest-%d@guest.invalid", i), Metadata: map[string][]byte{shadow.DefaultTagKey: tag}}); err != nil {
			b.Fatal(err)
		}
	}
	fake.Advance(48 * time.Hour) // creation dates lie two days back from the fake's now
	clock := func() time.Time { return time.Now().Add(48 * time.Hour) }
	// Keep a connection per worker: the default of 2 idle connections per
	// host would redo a TLS handshake for most requests.
	tr := fake.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	mgr, err := shadow.New(fake.Issuer(), shadow.WithOrganization(fake.OrganizationID()), shadow.WithClientID(fake.ClientID()),
		shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)), shadow.WithCartStore(memstore.New()),
		shadow.WithHTTPClient(&http.Client{Transport: tr}), shadow.WithClock(clock))
	if err != nil {
		b.Fatal(err)
	}
	return fake, mgr
}

// liveHeap is the bytes of live and not yet swept heap objects.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeap samples liveHeap every 2 ms until stop; peak returns the
// highest sample.
func sampleHeap() (stop func(), peak func() uint64) {
	var max atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if h := liveHeap(); h > max.Load() {
				max.Store(h)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }, max.Load
}
