package zitadel

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// waiting counts the queued waiters, for tests.
func (b *Budget) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, q := range b.queues {
		n += len(q)
	}
	return n
}

// closeBreaker closes b's breaker at once and wakes its waiters.
func closeBreaker(b *Budget) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.openUntil = time.Time{}
	for _, q := range b.queues {
		for _, w := range q {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

// untilWaiting polls until n waiters are queued.
func untilWaiting(t *testing.T, b *Budget, n int) {
	t.Helper()
	for give := 10_000; b.waiting() != n; give-- {
		if give == 0 {
			t.Fatalf("%d waiters, never %d", b.waiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBudgetServesByPriority(t *testing.T) {
	t.Parallel()
	// Waiters queue behind an open breaker, then get one token each 100 ms,
	// so the order they return in is the order they were served in.
	b := NewBudget(10, 1, time.Minute, time.Hour)
	b.Trip(time.Hour)
	var mu sync.Mutex
	var order []Priority
	var wg sync.WaitGroup
	start := func(p Priority) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Wait(WithPriority(t.Context(), p)); err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, p)
			mu.Unlock()
		}()
	}
	start(PriorityBackground)
	untilWaiting(t, b, 1)
	start(PriorityRenewal)
	untilWaiting(t, b, 2)
	start(PriorityInteractive)
	untilWaiting(t, b, 3)
	closeBreaker(b)
	wg.Wait()
	want := []Priority{PriorityInteractive, PriorityRenewal, PriorityBackground}
	if d := cmp.Diff(want, order); d != "" {
		t.Errorf("served out of priority (-want +got):\n%s", d)
	}
}

func TestBudgetFIFOWithinPriority(t *testing.T) {
	t.Parallel()
	b := NewBudget(10, 1, time.Minute, time.Hour)
	b.Trip(time.Hour)
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Wait(t.Context()); err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		}()
		untilWaiting(t, b, i+1)
	}
	closeBreaker(b)
	wg.Wait()
	if d := cmp.Diff([]int{0, 1, 2, 3}, order); d != "" {
		t.Errorf("not first come, first served (-want +got):\n%s", d)
	}
}

func TestBudgetBreaker(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		ctx     func(context.Context) (context.Context, context.CancelFunc)
		refused bool
	}{
		{"fail fast", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return FailFast(ctx, time.Millisecond), func() {}
		}, true},
		{"fail fast, but the wait is tolerated", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return FailFast(ctx, time.Second), func() {}
		}, false},
		{"deadline before it closes", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, time.Millisecond)
		}, true},
		{"waits it out", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return ctx, func() {}
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := NewBudget(-1, 0, time.Minute, time.Hour)
			const open = 30 * time.Millisecond
			b.Trip(open)
			ctx, cancel := c.ctx(t.Context())
			defer cancel()
			err := b.Wait(ctx)
			var boe *BreakerOpenError
			switch {
			case c.refused && (!errors.As(err, &boe) || boe.RetryAfter <= 0 || boe.RetryAfter > open):
				t.Errorf("Wait = %v, want *BreakerOpenError with 0 < RetryAfter ≤ %v", err, open)
			case !c.refused && err != nil:
				t.Errorf("Wait = %v, want nil once the breaker closed", err)
			case !c.refused && b.OpenFor() != 0:
				t.Errorf("Wait returned with the breaker open for %v", b.OpenFor())
			}
		})
	}
}

func TestBudgetCancelledWaiterLeaves(t *testing.T) {
	t.Parallel()
	b := NewBudget(1, 1, time.Minute, time.Hour) // the next token in a second
	if err := b.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- b.Wait(ctx) }()
	untilWaiting(t, b, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
	if n := b.waiting(); n != 0 {
		t.Errorf("%d waiters left behind", n)
	}
}

func TestTransportTripsOn429(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		retryAfter string
		wait       time.Duration // the budget's breaker wait
		min, max   time.Duration // the breaker's expected span
	}{
		{"Retry-After", "2", time.Minute, time.Second, 2 * time.Second},
		{"no Retry-After: the breaker's wait", "", 3 * time.Second, 2 * time.Second, 3 * time.Second},
		{"capped", "3600", time.Minute, 9 * time.Second, 10 * time.Second},
		{"breaker off", "2", -1, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c.retryAfter != "" {
					w.Header().Set("Retry-After", c.retryAfter)
				}
				w.WriteHeader(http.StatusTooManyRequests)
			}))
			defer srv.Close()
			b := NewBudget(-1, 0, c.wait, 10*time.Second)
			hc := WithBudget(srv.Client(), b)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := b.OpenFor(); got < c.min || got > c.max {
				t.Errorf("breaker open for %v, want %v to %v", got, c.min, c.max)
			}
			if c.max == 0 {
				return
			}
			req, _ = http.NewRequestWithContext(FailFast(t.Context(), 0), http.MethodGet, srv.URL, nil)
			var boe *BreakerOpenError
			if _, err := hc.Do(req); !errors.As(err, &boe) {
				t.Errorf("second request: %v, want *BreakerOpenError", err)
			}
		})
	}
}

func TestBudgetUnboundedConcurrent(t *testing.T) {
	t.Parallel()
	b := NewBudget(-1, 0, time.Minute, time.Hour)
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Wait(t.Context()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := b.waiting(); n != 0 {
		t.Errorf("%d waiters left", n)
	}
}

// The breaker trusts Retry-After from the wire: any value parses to a
// bounded, non-negative wait or to nothing, and never panics.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "2", "-1", "3600", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT",
		"Sun Nov  6 08:49:37 2094", "soon", " 5"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := RetryAfter(v, now)
		if d < 0 || d > 24*time.Hour || !ok && d != 0 {
			t.Errorf("RetryAfter(%q) = %v, %v", v, d, ok)
		}
		b := NewBudget(-1, 0, time.Second, 10*time.Second)
		resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {v}}}
		b.observe(resp)
		if open := b.OpenFor(); open < 0 || open > 10*time.Second {
			t.Errorf("Retry-After %q opened the breaker for %v, want at most 10 s", v, open)
		}
	})
}
