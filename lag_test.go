package shadow_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// chainTransport records when each request starts and ends, as positions
// in one sequence of events, to find the longest chain of requests that
// each waited for the one before: the round trips a caller sat through.
type chainTransport struct {
	base http.RoundTripper

	mu    sync.Mutex
	seq   int
	spans []*[2]int // start, end (0 while in flight)
}

func (c *chainTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.seq++
	span := &[2]int{c.seq, 0}
	c.spans = append(c.spans, span)
	c.mu.Unlock()
	resp, err := c.base.RoundTrip(r)
	c.mu.Lock()
	c.seq++
	span[1] = c.seq
	c.mu.Unlock()
	return resp, err
}

// depth returns the longest chain of sequential requests since the last
// call, and forgets them.
func (c *chainTransport) depth() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	spans := make([][2]int, len(c.spans))
	for i, s := range c.spans {
		spans[i] = *s
	}
	c.spans = nil
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	chain := make([]int, len(spans))
	best := 0
	for i, s := range spans {
		chain[i] = 1
		for j := range i {
			if spans[j][1] != 0 && spans[j][1] < s[0] {
				chain[i] = max(chain[i], chain[j]+1)
			}
		}
		best = max(best, chain[i])
	}
	return best
}

// A first intent costs 2 round trips; when ZITADEL's projection lags, the
// first one that meets the lag costs 4, and those after it 3: the user is
// read together with the first exchange.
func TestFirstIntentRoundTrips(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		lag  bool
		want []int // most round trips of consecutive first intents
	}{
		{"no lag", false, []int{2, 2, 2}},
		// After the first, the read may answer before the exchange is
		// served, which then succeeds: 2.
		{"projection lag", true, []int{4, 3, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ct := &chainTransport{base: e.fake.Client().Transport}
			mgr := e.withOptions(t, shadow.WithHTTPClient(&http.Client{Transport: ct}),
				shadow.WithProvisionLimits(shadow.ProvisionLimits{PerClientPerMinute: -1, GlobalPerMinute: -1}))
			if c.lag {
				e.fake.SetProjectionLag(24 * time.Hour)
			}
			var got []int
			for range c.want {
				if _, err := mgr.EnsureGuest(newRecorder(), newRequest(t, nil)); err != nil {
					t.Fatalf("EnsureGuest: %v", err)
				}
				got = append(got, ct.depth())
			}
			for i := range got {
				if got[i] > c.want[i] || got[i] < 2 {
					t.Errorf("sequential round trips = %v, want 2 to %v", got, c.want)
					break
				}
			}
			if !c.lag && e.fake.Count(zitadeltest.OpGetUserByID) != 0 {
				t.Errorf("%d GetUserByID without lag, want none", e.fake.Count(zitadeltest.OpGetUserByID))
			}
		})
	}
}
