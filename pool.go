package shadow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// PoolOptions configure the pool of ready guests ([WithGuestPool]).
type PoolOptions struct {
	// Size is how many guests are kept ready, each created and
	// impersonated ahead of time; 1 to 10000. It bounds the ZITADEL users
	// the pool holds and the first intents an outage of ZITADEL leaves
	// unnoticed.
	Size int
	// MaxAge is how long a ready guest may wait (default 1 hour). An older
	// one, or one whose token expires within WithRenewBefore plus MaxAge,
	// is deleted and replaced, so a guest's tag time (from which Sweep
	// counts its age) stays within MaxAge of the start of its session.
	MaxAge time.Duration
	// Refills is how many guests are made at once while the pool is short
	// (default 2). Each costs two requests (CreateUser, the token
	// exchange) at the egress budget's lowest priority.
	Refills int
}

// WithGuestPool keeps guests ready so that a first intent makes no request
// to ZITADEL on the request path: EnsureGuest hands out a guest that was
// provisioned and impersonated in the background, still subject to
// WithProvisionLimits, and falls back to provisioning on the spot when the
// pool is empty. A goroutine refills the pool within the egress budget at
// the lowest priority, backing off while ZITADEL fails; stop it with
// [Manager.Close]. Pooled guests carry the guest tag like any other, so
// those a crashed process leaves behind are swept as usual. Needs
// WithClientID.
func WithGuestPool(o PoolOptions) Option { return func(c *config) { c.pool = &o } }

// Pool defaults.
const (
	defaultPoolMaxAge  = time.Hour
	defaultPoolRefills = 2
	maxPoolSize        = 10_000
	poolRetryMin       = time.Second      // first wait after a failed refill
	poolRetryMax       = time.Minute      // longest wait between failed refills
	poolRefillTimeout  = 30 * time.Second // one guest's provisioning and exchange
	poolDeleteTimeout  = 10 * time.Second // one retired guest's deletion
	refillDelay        = 5 * time.Millisecond
)

// checkPool validates o and fills in its defaults.
func checkPool(o *PoolOptions, hasClientID bool) error {
	var errs []error
	if o.Size < 1 || o.Size > maxPoolSize {
		errs = append(errs, fmt.Errorf("shadow: WithGuestPool: Size %d not in 1..%d", o.Size, maxPoolSize))
	}
	if o.MaxAge < 0 || o.Refills < 0 {
		errs = append(errs, errors.New("shadow: WithGuestPool: MaxAge and Refills must not be negative"))
	}
	if !hasClientID {
		errs = append(errs, errors.New("shadow: WithGuestPool needs WithClientID"))
	}
	if o.MaxAge == 0 {
		o.MaxAge = defaultPoolMaxAge
	}
	if o.Refills == 0 {
		o.Refills = defaultPoolRefills
	}
	return errors.Join(errs...)
}

// pooledGuest is a ready guest: its session's token and its tag time.
type pooledGuest struct {
	guestID string
	token   Token
	created time.Time // the tag time, on the Manager's clock
}

// guestPool keeps ready guests. Its goroutine (run) refills and retires;
// take never blocks on ZITADEL. It is safe for concurrent use.
type guestPool struct {
	m    *Manager
	opts PoolOptions

	mu      sync.Mutex
	ready   []pooledGuest // oldest first
	retired []string      // guests to delete
	making  int           // refills in flight
	wakeDue bool          // a scheduleRefill timer is pending

	kick   chan struct{} // wakes run: a guest was taken or retired
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned
	closed sync.Once
}

func newGuestPool(m *Manager, o PoolOptions) *guestPool {
	ctx, cancel := context.WithCancel(zitadel.WithPriority(context.Background(), zitadel.PriorityBackground))
	p := &guestPool{m: m, opts: o, kick: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go p.run()
	return p
}

// take hands out the oldest ready guest that is still fresh enough, and
// asks for a refill. ok is false when none is ready.
func (p *guestPool) take(now time.Time) (pooledGuest, bool) {
	if p == nil {
		return pooledGuest{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.scheduleRefill()
	for len(p.ready) > 0 {
		g := p.ready[0]
		p.ready = p.ready[1:]
		if p.fresh(g, now) {
			return g, true
		}
		p.retired = append(p.retired, g.guestID)
	}
	return pooledGuest{}, false
}

// fresh reports whether g may still be handed out at now.
func (p *guestPool) fresh(g pooledGuest, now time.Time) bool {
	return now.Sub(g.created) < p.opts.MaxAge && now.Add(p.m.cfg.renewBefore+p.opts.MaxAge).Before(g.token.Expiry)
}

// scheduleRefill wakes run refillDelay from now, unless a wake is already
// due: the refill's work (and an in-process fake's) then does not compete
// for the CPU with the request that took the guest, and takes in the
// meantime share one round. p.mu is held.
func (p *guestPool) scheduleRefill() {
	if p.wakeDue {
		return
	}
	p.wakeDue = true
	time.AfterFunc(refillDelay, func() {
		p.mu.Lock()
		p.wakeDue = false
		p.mu.Unlock()
		p.wake()
	})
}

func (p *guestPool) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// run refills the pool, retires aged guests and deletes them until the
// pool is closed. Refills that fail back off exponentially.
func (p *guestPool) run() {
	defer close(p.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	results := make(chan error, p.opts.Refills)
	backoff := time.Duration(0)
	check := time.NewTicker(max(p.opts.MaxAge/4, time.Second))
	defer check.Stop()
	var retry <-chan time.Time
	for {
		p.mu.Lock()
		p.retireAged(p.m.now())
		retired := p.retired
		p.retired = nil
		start := 0
		if retry == nil {
			start = min(p.opts.Size-len(p.ready)-p.making, p.opts.Refills-p.making)
		}
		p.making += max(start, 0)
		p.mu.Unlock()
		for _, id := range retired {
			wg.Add(1)
			go func() { defer wg.Done(); p.delete(id) }()
		}
		for range start {
			wg.Add(1)
			go func() { defer wg.Done(); results <- p.refill() }()
		}
		select {
		case <-p.ctx.Done():
			return
		case <-p.kick:
		case <-check.C:
		case <-retry:
			retry = nil
		case err := <-results:
			p.mu.Lock()
			p.making--
			p.mu.Unlock()
			switch {
			case err == nil:
				backoff = 0
			case p.ctx.Err() != nil:
				return
			default:
				backoff = min(max(2*backoff, poolRetryMin), poolRetryMax)
				p.m.log().Warn("shadow: guest pool refill failed; retrying", "in", backoff, "err", err)
				if retry == nil {
					retry = time.After(backoff)
				}
			}
		}
	}
}

// retireAged moves guests that are no longer fresh to the retired list.
// p.mu is held.
func (p *guestPool) retireAged(now time.Time) {
	keep := p.ready[:0]
	for _, g := range p.ready {
		if p.fresh(g, now) {
			keep = append(keep, g)
		} else {
			p.retired = append(p.retired, g.guestID)
		}
	}
	clear(p.ready[len(keep):])
	p.ready = keep
}

// refill makes one ready guest: Provision, then the token exchange (with
// the projection-lag handling of a first intent). A guest that cannot be
// impersonated is deleted at once.
func (p *guestPool) refill() error {
	ctx, cancel := context.WithTimeout(p.ctx, poolRefillTimeout)
	defer cancel()
	g, err := p.m.Provision(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	ictx := p.m.begin(ctx, EventImpersonated)
	tok, err := p.m.impersonate(ictx, g.ID, true, sessionScope)
	p.m.emit(ictx, Event{Kind: EventImpersonated, GuestID: g.ID, Duration: time.Since(start), Err: err})
	if err != nil {
		p.delete(g.ID)
		return err
	}
	p.mu.Lock()
	p.ready = append(p.ready, pooledGuest{guestID: g.ID, token: tok, created: g.CreatedAt})
	p.mu.Unlock()
	return nil
}

// delete deletes a guest that never left the pool; on failure the Sweep
// finds it by its tag.
func (p *guestPool) delete(guestID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), poolDeleteTimeout)
	defer cancel()
	if err := p.m.deleteGuest(ctx, guestID); err != nil {
		p.m.log().Warn("shadow: could not delete a pooled guest; the sweep will", "guest", guestID, "err", err)
	}
}

// close stops run, waits for it, and deletes the ready guests within ctx.
func (p *guestPool) close(ctx context.Context) error {
	p.closed.Do(p.cancel)
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.mu.Lock()
	ids := p.retired
	for _, g := range p.ready {
		ids = append(ids, g.guestID)
	}
	p.ready, p.retired = nil, nil
	p.mu.Unlock()
	var errs []error
	for _, id := range ids {
		err := p.m.deleteGuest(zitadel.WithPriority(ctx, zitadel.PriorityBackground), id)
		if err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

// Close stops the guest pool's goroutine, waits for the refills in flight
// and deletes the guests still ready (DeleteUser each), within ctx; what
// ctx does not allow is left to the Sweep, which finds them by their tag.
// EnsureGuest provisions on the spot afterwards. Close is safe to call more
// than once and from several goroutines; without WithGuestPool it does
// nothing. It returns ctx's error when ctx ends first and the deletions'
// errors, joined.
func (m *Manager) Close(ctx context.Context) error {
	if m.pool == nil {
		return nil
	}
	return m.pool.close(ctx)
}

// PoolStats says what the guest pool holds.
type PoolStats struct {
	Ready    int // guests ready to hand out
	Refills  int // guests being made
	Capacity int // PoolOptions.Size
}

// PoolStats returns the pool's counts (zero without WithGuestPool).
func (m *Manager) PoolStats() PoolStats {
	p := m.pool
	if p == nil {
		return PoolStats{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStats{Ready: len(p.ready), Refills: p.making, Capacity: p.opts.Size}
}

// newSession returns a session for a new guest: a ready one from the pool
// when there is one (no request to ZITADEL), else one provisioned and
// impersonated now. A pooled guest's session ends a session lifetime
// after its tag time, so Sweep never sees a live session as abandoned.
func (m *Manager) newSession(ctx context.Context) (Session, error) {
	if g, ok := m.pool.take(m.now()); ok {
		return Session{GuestID: g.guestID, Token: g.token, Expiry: g.created.Add(m.cfg.sessionLifetime)}, nil
	}
	return m.newGuestSession(ctx)
}
