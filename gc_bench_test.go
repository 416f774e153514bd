package shadow_test

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// fakeProcessEnv makes the test binary serve a populated fake ZITADEL
// instead of running tests (see TestMain), so that benchmarks can measure
// the SDK's heap apart from the fake's.
const fakeProcessEnv = "SHADOW_BENCH_FAKE_GUESTS"

func TestMain(m *testing.M) {
	if n := os.Getenv(fakeProcessEnv); n != "" {
		serveFakeProcess(n)
		return
	}
	os.Exit(m.Run())
}

// fakeProcess is what the fake process tells its parent.
type fakeProcess struct {
	Issuer, Org, Client, PAT string
}

// serveFakeProcess runs a fake holding n guests tagged two days ago, with
// 5 ms latency on every request, until its standard input closes.
func serveFakeProcess(n string) {
	guests, err := strconv.Atoi(n)
	if err != nil {
		panic(err)
	}
	fake := zitadeltest.NewServer()
	defer fake.Close()
	tag := []byte(time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339))
	for i := range guests {
		if _, err := fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Guest", FamilyName: "User",
			Email: fmt.Sprintf("guest-%d@guest.invalid", i), Metadata: map[string][]byte{shadow.DefaultTagKey: tag}}); err != nil {
			panic(err)
		}
	}
	fake.Advance(48 * time.Hour) // creation dates lie two days back from the fake's now
	fake.SetLatency(5 * time.Millisecond)
	_ = json.NewEncoder(os.Stdout).Encode(fakeProcess{Issuer: fake.Issuer(), Org: fake.OrganizationID(),
		Client: fake.ClientID(), PAT: fake.ServiceAccount().PAT})
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// startFakeProcess starts the test binary as a fake with n guests and
// returns a Manager for it, on a clock 48 h ahead.
func startFakeProcess(b *testing.B, n int) *shadow.Manager {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fakeProcessEnv+"="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	var fp fakeProcess
	if err := json.NewDecoder(bufio.NewReader(stdout)).Decode(&fp); err != nil {
		b.Fatalf("fake process: %v", err)
	}
	// The fake's certificate is self-signed in another process; this client
	// talks to it only, on loopback. A connection per worker stays open.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // local benchmark fake
	tr.MaxIdleConnsPerHost = 64
	clock := func() time.Time { return time.Now().Add(48 * time.Hour) }
	mgr, err := shadow.New(fp.Issuer, shadow.WithOrganization(fp.Org), shadow.WithClientID(fp.Client),
		shadow.WithCredentials(shadow.PAT(fp.PAT)), shadow.WithCartStore(memstore.New()),
		shadow.WithHTTPClient(&http.Client{Transport: tr}), shadow.WithClock(clock),
		shadow.WithEgressBudget(shadow.EgressBudget{RequestsPerSecond: -1})) // measure the sweep, not the budget
	if err != nil {
		b.Fatal(err)
	}
	return mgr
}

// BenchmarkSweep deletes N abandoned guests held by a fake ZITADEL in
// another process, with 5 ms of latency on every request, at concurrency
// 16. It reports the run's wall time against the concurrency-bound ideal
// (2 calls × N × 5 ms / 16) and the peak growth of this process's live
// heap during the run, which must not grow with N.
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
				mgr := startFakeProcess(b, n)
				runtime.GC()
				base := liveHeap()
				stop, peakOf := sampleHeap()
				b.StartTimer()
				start := time.Now()
				rep, err := mgr.Sweep(b.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: 24 * time.Hour, Concurrency: workers,
					RequestsPerSecond: -1})
				total += time.Since(start)
				b.StopTimer()
				stop()
				if err != nil || rep.Deleted != n {
					b.Fatalf("sweep: deleted %d, %v", rep.Deleted, err)
				}
				if p := peakOf(); p > base && p-base > peak {
					peak = p - base
				}
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/sweep")
			b.ReportMetric(total.Seconds()/float64(b.N)/ideal.Seconds(), "x-ideal")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-growth-MiB")
		})
	}
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
