package shadow_test

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/internal/zitadel"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// okHandler answers 204 for a request that got through GuestRequired.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

// A 429 storm: the first intent that meets it answers 503 with the
// breaker's Retry-After, and no first intent sends anything more to
// ZITADEL until the breaker closes.
func TestBreakerFailsFirstIntentsFast(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		fault      zitadeltest.Fault
		wait       time.Duration // BreakerWait
		retryAfter string
	}{
		{"Retry-After", zitadeltest.RateLimited(2 * time.Second), time.Minute, "2"},
		{"no Retry-After: BreakerWait", zitadeltest.RateLimited(0), 90 * time.Second, "90"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			mgr := e.withOptions(t, shadow.WithEgressBudget(shadow.EgressBudget{RequestsPerSecond: -1, BreakerWait: c.wait}))
			e.fake.SetFault(zitadeltest.OpCreateUser, c.fault)
			h := mgr.GuestRequired(okHandler)
			for i := range 5 {
				rec := newRecorder()
				h.ServeHTTP(rec, newRequest(t, nil))
				if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
					t.Fatalf("intent %d: %d, Retry-After %q; want 503 with Retry-After", i, rec.Code, rec.Header().Get("Retry-After"))
				}
				if i == 0 && rec.Header().Get("Retry-After") != c.retryAfter {
					t.Errorf("Retry-After = %q, want %q", rec.Header().Get("Retry-After"), c.retryAfter)
				}
			}
			if n := e.fake.Count(zitadeltest.OpCreateUser); n != 1 {
				t.Errorf("ZITADEL saw %d CreateUser, want 1: requests piled on during the breaker", n)
			}
		})
	}
}

// EnsureGuest's error is typed: *UnavailableError with the wait, matching
// ErrUnavailable and ErrRateLimited, and the message has one prefix.
func TestBreakerErrorIsTyped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mgr := e.withOptions(t, shadow.WithEgressBudget(shadow.EgressBudget{RequestsPerSecond: -1, BreakerWait: time.Minute}))
	e.fake.FailNext(zitadeltest.OpCreateUser, zitadeltest.RateLimited(0))
	if _, err := mgr.EnsureGuest(newRecorder(), newRequest(t, nil)); err == nil {
		t.Fatal("EnsureGuest succeeded through a 429")
	}
	_, err := mgr.EnsureGuest(newRecorder(), newRequest(t, nil))
	var ue *shadow.UnavailableError
	if !errors.As(err, &ue) || ue.RetryAfter <= 0 || ue.RetryAfter > time.Minute {
		t.Fatalf("EnsureGuest = %v, want *UnavailableError with 0 < RetryAfter ≤ 1m", err)
	}
	if !errors.Is(err, shadow.ErrUnavailable) || !errors.Is(err, shadow.ErrRateLimited) {
		t.Errorf("%v does not match ErrUnavailable and ErrRateLimited", err)
	}
	checkOnePrefix(t, err)
}

// Work nobody waits for (Sweep) and direct calls without a deadline wait
// out the breaker instead of failing, then go on.
func TestBreakerHoldsBackOtherCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mgr := e.withOptions(t, shadow.WithEgressBudget(shadow.EgressBudget{RequestsPerSecond: -1, BreakerWait: 30 * time.Millisecond}))
	g := e.provision(t)
	e.clock.Advance(48 * time.Hour)
	e.fake.FailNext(zitadeltest.OpListUsers, zitadeltest.RateLimited(0))
	e.fake.FailNext(zitadeltest.OpCreateUser, zitadeltest.RateLimited(0))
	rep, err := mgr.Sweep(t.Context(), shadow.SweepOptions{OlderThan: 24 * time.Hour, AllowLiveSessions: true})
	if err != nil || rep.Deleted != 1 {
		t.Fatalf("Sweep = %+v, %v; want %s deleted", rep, err, g.ID)
	}
	if _, err := mgr.Provision(t.Context()); err != nil {
		t.Errorf("Provision after a 429: %v", err)
	}
	if n := e.fake.Count(zitadeltest.OpListUsers); n < 2 {
		t.Errorf("ListUsers sent %d times, want the 429 and a retry", n)
	}
}

// Once the breaker closes, first intents go through again; meanwhile none
// reaches ZITADEL.
func TestBreakerCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mgr := e.withOptions(t, shadow.WithEgressBudget(shadow.EgressBudget{RequestsPerSecond: -1, BreakerWait: 50 * time.Millisecond}),
		shadow.WithProvisionLimits(shadow.ProvisionLimits{PerClientPerMinute: -1, GlobalPerMinute: -1}))
	e.fake.FailNext(zitadeltest.OpCreateUser, zitadeltest.RateLimited(0))
	h := mgr.GuestRequired(okHandler)
	refused := 0
	for {
		rec := newRecorder()
		h.ServeHTTP(rec, newRequest(t, nil))
		if rec.Code == http.StatusNoContent {
			break
		}
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("intent: %d, want 503 or 204", rec.Code)
		}
		refused++
		time.Sleep(2 * time.Millisecond)
	}
	if refused == 0 {
		t.Error("the first intent went through a 429")
	}
	if n := e.fake.Count(zitadeltest.OpCreateUser); n != 2 {
		t.Errorf("ZITADEL saw %d CreateUser, want 2 (the 429 and the one after the breaker)", n)
	}
}

// An outage (503 without a 429) is no reason to trip the breaker: 503
// without Retry-After, and the next intent tries again.
func TestOutageDoesNotTripBreaker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.SetFault(zitadeltest.OpCreateUser, zitadeltest.Unavailable())
	h := e.mgr.GuestRequired(okHandler)
	rec := newRecorder()
	h.ServeHTTP(rec, newRequest(t, nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "" {
		t.Errorf("outage: %d, Retry-After %q; want 503 without Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	e.fake.ClearFaults()
	rec = newRecorder()
	h.ServeHTTP(rec, newRequest(t, nil))
	if rec.Code != http.StatusNoContent {
		t.Errorf("after the outage: %d, want 204", rec.Code)
	}
}

// countingTransport counts the requests it sends.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// A certificate ZITADEL's client does not trust is ErrTLS, not
// ErrUnavailable, and is not retried.
func TestTLSFailureIsFinal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ct := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	mgr := e.withOptions(t, shadow.WithHTTPClient(&http.Client{Transport: ct}))
	_, err := mgr.Provision(t.Context())
	if !errors.Is(err, shadow.ErrTLS) || errors.Is(err, shadow.ErrUnavailable) {
		t.Fatalf("Provision with an untrusted certificate = %v, want ErrTLS and not ErrUnavailable", err)
	}
	if n := ct.n.Load(); n != 1 {
		t.Errorf("sent %d times, want 1 (no retry)", n)
	}
	checkOnePrefix(t, err)
}

func TestEgressBudgetValidated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, b := range []shadow.EgressBudget{{RequestsPerSecond: math.NaN()}, {RequestsPerSecond: math.Inf(1)}, {Burst: -1}} {
		_, err := shadow.New(e.fake.Issuer(), shadow.WithOrganization("org"), shadow.WithCredentials(shadow.PAT("pat")),
			shadow.WithCartStore(e.store), shadow.WithEgressBudget(b))
		if err == nil || !strings.Contains(err.Error(), "WithEgressBudget") {
			t.Errorf("New with %+v = %v, want a WithEgressBudget error", b, err)
		}
	}
}

// priorityTransport records the budget priority of each request by
// operation, as the Manager marked it.
type priorityTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen map[string]map[zitadel.Priority]bool // URL path → priorities
}

func (p *priorityTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	if p.seen[r.URL.Path] == nil {
		p.seen[r.URL.Path] = map[zitadel.Priority]bool{}
	}
	p.seen[r.URL.Path][zitadel.PriorityOf(r.Context())] = true
	p.mu.Unlock()
	return p.base.RoundTrip(r)
}

func (p *priorityTransport) take() map[string]map[zitadel.Priority]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.seen
	p.seen = map[string]map[zitadel.Priority]bool{}
	return s
}

// First intents go first, renewals second, the sweep last.
func TestRequestPriorities(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pt := &priorityTransport{base: e.fake.Client().Transport, seen: map[string]map[zitadel.Priority]bool{}}
	mgr := e.withOptions(t, shadow.WithHTTPClient(&http.Client{Transport: pt}))
	only := func(p zitadel.Priority) map[zitadel.Priority]bool { return map[zitadel.Priority]bool{p: true} }
	create, exchange := zitadel.UserServicePath+zitadel.MethodCreateUser, zitadel.PathToken

	rec := newRecorder()
	if _, err := mgr.EnsureGuest(rec, newRequest(t, nil)); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]map[zitadel.Priority]bool{create: only(zitadel.PriorityInteractive),
		exchange: only(zitadel.PriorityInteractive)}, pt.take()); d != "" {
		t.Errorf("first intent (-want +got):\n%s", d)
	}

	e.clock.Advance(12 * time.Hour) // the token is due for renewal
	mgr.Middleware(okHandler).ServeHTTP(newRecorder(), newRequest(t, rec.Result().Cookies()))
	if d := cmp.Diff(map[string]map[zitadel.Priority]bool{exchange: only(zitadel.PriorityRenewal),
		zitadel.UserServicePath + zitadel.MethodGetUserByID: only(zitadel.PriorityRenewal)}, pt.take()); d != "" {
		t.Errorf("renewal (-want +got):\n%s", d)
	}

	e.clock.Advance(40 * 24 * time.Hour)
	if _, err := mgr.Sweep(t.Context(), shadow.SweepOptions{OlderThan: 31 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	swept := pt.take()
	if len(swept) < 2 {
		t.Fatalf("the sweep sent requests to %v; want ListUsers and more", swept)
	}
	for path, ps := range swept {
		if d := cmp.Diff(only(zitadel.PriorityBackground), ps); d != "" {
			t.Errorf("sweep request %s (-want +got):\n%s", path, d)
		}
	}
}
