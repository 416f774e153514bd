package zitadel

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Priority orders the requests that wait for an egress budget: a waiting
// request of a lower number always goes first.
type Priority int

// The priorities, first served first.
const (
	// PriorityInteractive: a visitor waits for the answer (a first intent,
	// Upgrade, MergeInto, service-token fetches). Requests carry it unless
	// marked otherwise.
	PriorityInteractive Priority = iota
	// PriorityRenewal: re-impersonation of a guest whose token still works
	// for a while.
	PriorityRenewal
	// PriorityBackground: work nobody waits for (Sweep, pool refills).
	PriorityBackground

	numPriorities
)

type priorityKey struct{}

// WithPriority marks ctx so that the requests sent with it wait for the
// budget at priority p.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityOf returns ctx's priority (PriorityInteractive when unmarked).
func PriorityOf(ctx context.Context) Priority {
	if p, ok := ctx.Value(priorityKey{}).(Priority); ok && p >= 0 && p < numPriorities {
		return p
	}
	return PriorityInteractive
}

type failFastKey struct{}

// FailFast marks ctx so that its requests fail at once with
// *BreakerOpenError while the breaker stays open for longer than
// tolerate, instead of waiting (a wait as short as a retry's is taken).
func FailFast(ctx context.Context, tolerate time.Duration) context.Context {
	return context.WithValue(ctx, failFastKey{}, max(tolerate, 0))
}

// failFast returns how long ctx's requests tolerate the breaker; ok is
// false when they wait it out.
func failFast(ctx context.Context) (tolerate time.Duration, ok bool) {
	tolerate, ok = ctx.Value(failFastKey{}).(time.Duration)
	return tolerate, ok
}

// BreakerOpenError is the error of a request the budget refused because
// ZITADEL answered 429 recently and the wait is not over.
type BreakerOpenError struct {
	RetryAfter time.Duration // until the breaker closes
}

func (e *BreakerOpenError) Error() string {
	return fmt.Sprintf("ZITADEL rate-limited this client; no request for %v", e.RetryAfter.Round(time.Millisecond))
}

// Budget is one egress budget: a token bucket shared by every request to
// one ZITADEL instance, served by priority (FIFO within one priority), and
// a breaker that holds every request back for a while after a 429. It is
// safe for concurrent use, keeps no goroutine and sleeps on real time.
type Budget struct {
	lim         *rate.Limiter // nil: no rate bound
	breakerWait time.Duration // a 429's wait without Retry-After; ≤ 0: no breaker
	maxWait     time.Duration // longest wait a Retry-After may impose

	mu        sync.Mutex
	queues    [numPriorities][]*waiter
	openUntil time.Time
}

type waiter struct{ wake chan struct{} }

// NewBudget returns a budget of rps requests per second with burst at
// once (rps ≤ 0: unbounded). After a 429 it holds requests back for the
// answer's Retry-After, or for breakerWait when there is none, never more
// than maxWait (breakerWait ≤ 0: no breaker).
func NewBudget(rps float64, burst int, breakerWait, maxWait time.Duration) *Budget {
	b := &Budget{breakerWait: breakerWait, maxWait: maxWait}
	if rps > 0 {
		b.lim = rate.NewLimiter(rate.Limit(rps), max(burst, 1))
	}
	return b
}

// Wait blocks until ctx's request may be sent: the breaker is closed and a
// token is free for it, no request of a higher or equal priority having
// waited longer. While the breaker is open it returns *BreakerOpenError at
// once for a FailFast ctx or one whose deadline comes first; ctx's error
// when ctx ends.
func (b *Budget) Wait(ctx context.Context) error {
	if b == nil {
		return nil
	}
	p := PriorityOf(ctx)
	b.mu.Lock()
	now := time.Now()
	if err := b.refuse(ctx, now); err != nil {
		b.mu.Unlock()
		return err
	}
	if !now.Before(b.openUntil) && b.idle() && b.take(now) == 0 { // fast path: closed, nobody waits, a token is free
		b.mu.Unlock()
		return nil
	}
	w := &waiter{wake: make(chan struct{}, 1)}
	b.queues[p] = append(b.queues[p], w)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		if err := b.refuse(ctx, now); err != nil {
			b.leave(p, w)
			b.mu.Unlock()
			return err
		}
		var d time.Duration = -1 // -1: until woken
		switch {
		case now.Before(b.openUntil):
			d = b.openUntil.Sub(now)
		case b.head() == w:
			if d = b.take(now); d == 0 {
				b.leave(p, w)
				b.mu.Unlock()
				return nil
			}
		}
		b.mu.Unlock()
		var fire <-chan time.Time
		if d >= 0 {
			timer.Reset(d)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			b.mu.Lock()
			b.leave(p, w)
			b.mu.Unlock()
			return ctx.Err()
		case <-w.wake:
		case <-fire:
		}
		timer.Stop() // Go ≥ 1.23: no stale fire is delivered after Stop or Reset
		b.mu.Lock()
	}
}

// refuse returns the breaker's error when it is open and ctx may not (or
// need not) wait it out. b.mu is held.
func (b *Budget) refuse(ctx context.Context, now time.Time) error {
	if !now.Before(b.openUntil) {
		return nil
	}
	d := b.openUntil.Sub(now)
	tolerate, fast := failFast(ctx)
	if dl, ok := ctx.Deadline(); fast && d > tolerate || ok && dl.Before(b.openUntil) {
		return &BreakerOpenError{RetryAfter: d}
	}
	return nil
}

// take takes a token at now, or returns how long until one is free
// (taking nothing). b.mu is held.
func (b *Budget) take(now time.Time) time.Duration {
	if b.lim == nil {
		return 0
	}
	r := b.lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d > 0 {
		r.CancelAt(now)
	}
	return d
}

func (b *Budget) idle() bool {
	for _, q := range b.queues {
		if len(q) > 0 {
			return false
		}
	}
	return true
}

// head is the waiter served next. b.mu is held.
func (b *Budget) head() *waiter {
	for _, q := range b.queues {
		if len(q) > 0 {
			return q[0]
		}
	}
	return nil
}

// leave removes w and wakes the new head. b.mu is held.
func (b *Budget) leave(p Priority, w *waiter) {
	if i := slices.Index(b.queues[p], w); i >= 0 {
		b.queues[p] = slices.Delete(b.queues[p], i, i+1)
	}
	if h := b.head(); h != nil {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// Trip opens the breaker for d (at least until it would close anyway).
func (b *Budget) Trip(d time.Duration) {
	if b == nil || b.breakerWait <= 0 || d <= 0 {
		return
	}
	until := time.Now().Add(d)
	b.mu.Lock()
	if until.After(b.openUntil) {
		b.openUntil = until
	}
	b.mu.Unlock()
}

// OpenFor returns how long the breaker stays open (0 when closed).
func (b *Budget) OpenFor() time.Duration {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(time.Until(b.openUntil), 0)
}

// observe trips the breaker on a 429: for its Retry-After when present,
// else for the breaker's wait, at most maxWait.
func (b *Budget) observe(resp *http.Response) {
	if b == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		return
	}
	d, ok := RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if !ok {
		d = b.breakerWait
	}
	if b.maxWait > 0 {
		d = min(d, b.maxWait)
	}
	b.Trip(d)
}

// Transport is an http.RoundTripper that sends each request through a
// Budget: it waits for the budget first and trips the breaker on a 429.
// Retries pass through it again, so every attempt counts.
type Transport struct {
	Base   http.RoundTripper // http.DefaultTransport when nil
	Budget *Budget
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.Budget.Wait(req.Context()); err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, err
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	t.Budget.observe(resp)
	return resp, err
}

// CloseIdleConnections closes the idle connections of the base transport.
func (t *Transport) CloseIdleConnections() {
	type closer interface{ CloseIdleConnections() }
	if c, ok := t.Base.(closer); ok {
		c.CloseIdleConnections()
	}
}

// WithBudget returns a shallow copy of hc whose transport sends every
// request through b.
func WithBudget(hc *http.Client, b *Budget) *http.Client {
	c := *hc
	c.Transport = &Transport{Base: hc.Transport, Budget: b}
	return &c
}
