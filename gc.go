package shadow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// SweepOptions select the guests a Sweep deletes and pace the run.
type SweepOptions struct {
	// OlderThan is the minimum age of a guest's tag time; required, > 0.
	OlderThan time.Duration
	// IdleFor also requires the guest to have been idle this long:
	// ZITADEL's changeDate of the guest, and the last activity kept by
	// every store with the ActivityRecorder capability, must be at least
	// this old, or the guest is kept (SkipActive). 0 means the Manager's
	// idle timeout (WithIdleTimeout, or the session lifetime if shorter),
	// so a guest whose session is still alive is kept; with
	// AllowLiveSessions, 0 means no idle check. Activity is seen only
	// through stores with the ActivityRecorder capability.
	IdleFor time.Duration
	// Veto, when set, is asked about each guest Sweep is about to delete,
	// under the guest's lock and after every other check (in a DryRun too).
	// A non-empty reason keeps the guest (SkipVetoed, the reason in
	// SweepSkip.Detail); an error keeps it as well (SkipVetoFailed, the
	// error in SweepSkip.Err): a veto that cannot decide never deletes. It
	// runs on the sweep's workers, concurrently for different guests, and
	// should honour ctx; it must not call the Manager about the same guest,
	// whose lock the sweep holds (that call would get ErrGuestBusy).
	Veto func(ctx context.Context, guestID string) (reason string, err error)
	// DryRun finds and counts eligible guests without deleting anything.
	DryRun bool
	// MaxDeletes caps the deletions of one run (0: no cap).
	MaxDeletes int
	// Concurrency is how many guests are checked and deleted at once
	// (default 4).
	Concurrency int
	// RequestsPerSecond bounds the run's requests to ZITADEL further (0 or
	// negative: no bound of its own). Every request of a sweep draws from
	// the Manager's egress budget ([EgressBudget], default 40 per second)
	// at the lowest priority, so a sweep uses what first intents and
	// renewals leave and waits out the breaker after a 429.
	RequestsPerSecond float64
	// PageSize is how many users one ListUsers page holds (default 100,
	// at most 1000).
	PageSize int
	// Progress, when set, receives a copy of the report after each page is
	// handed out and once at the end. It runs on the sweeping goroutine and
	// must return quickly.
	Progress func(SweepReport)
	// Locker, when set, makes the run take the lock named
	// "shadow-sweep:<organization id>" before its first request, and release
	// it at the end; if another holder has it, Sweep returns ErrSweepLocked
	// at once. This is the one way to keep replicas from sweeping together
	// (with pgstore: Locker: pgstore.NewLocker(pool)); a lock taken around
	// Sweep under another name excludes nothing.
	Locker Locker
	// AllowLiveSessions permits an OlderThan shorter than the Manager's
	// idle timeout (WithIdleTimeout, or WithSessionLifetime if shorter), which deletes guests whose cookies
	// are still valid, and their carts. Without it such a Sweep is refused.
	// A guest older than OlderThan whose visitor is still active is kept
	// only with IdleFor and a store that keeps activity.
	AllowLiveSessions bool
}

// SweepReport says what a Sweep did.
type SweepReport struct {
	Scanned  int            // tagged users listed and examined
	Eligible int            // of them, guests old (and idle) enough
	Deleted  int            // guests deleted (a 404 on delete counts as deleted)
	Skipped  []SweepSkip    // users kept, with the reason
	Failed   []SweepFailure // guests that could not be deleted; the next run retries them
	DryRun   bool           // nothing was deleted
	Capped   bool           // the run stopped at MaxDeletes
	Duration time.Duration  // wall time of the run
}

// SkipReason says why Sweep kept a tagged user.
type SkipReason string

// Skip reasons.
const (
	SkipTooYoung   SkipReason = "tag younger than OlderThan"
	SkipActive     SkipReason = "changed or active within IdleFor"
	SkipRegistered SkipReason = "registered user (password or verified e-mail) still tagged"
	SkipNoTag      SkipReason = "no guest tag (upgraded or deleted meanwhile, or only other GUEST_ metadata)"
	SkipBadTag     SkipReason = "guest tag without a readable time"
	SkipBusy       SkipReason = "another operation holds the guest"
	SkipVetoed     SkipReason = "vetoed by SweepOptions.Veto"
	SkipVetoFailed SkipReason = "SweepOptions.Veto failed"
)

// SweepSkip is a user Sweep kept, with the reason.
type SweepSkip struct {
	UserID string
	Reason SkipReason
	Detail string // SkipVetoed: the veto's reason
	Err    error  // SkipVetoFailed: the veto's error
}

// SweepFailure is a guest a Sweep could not delete, with the reason.
type SweepFailure struct {
	GuestID string
	Err     error
}

// ErrSweepLocked is returned by Sweep when another holder has the Locker's lock.
var ErrSweepLocked = errors.New("shadow: another sweep is running")

// ErrSweepIncomplete is returned by Sweep when ZITADEL's user list kept
// showing only users the run had already handled (its projection lagging
// behind the deletions) after several waits: the run stopped early, and
// the next run continues.
var ErrSweepIncomplete = errors.New("shadow: sweep stopped early: ZITADEL's user list is not catching up")

// Locker lets replicas agree that only one of them sweeps at a time
// (pgstore provides one on PostgreSQL advisory locks). Implementations
// must be safe for concurrent use.
type Locker interface {
	// TryLock takes the lock called name unless another holder has it, in
	// which case ok is false and release is nil. release gives the lock back
	// and is called exactly once; it honours its own ctx.
	TryLock(ctx context.Context, name string) (release func(ctx context.Context) error, ok bool, err error)
}

// Sweep defaults and bounds.
const (
	maxSweepPage       = 1000
	defaultConcurrency = 4
	lagPauses          = 3 // waits for the list to drop users just deleted
	lockReleaseTimeout = 10 * time.Second
)

// Sweep deletes abandoned guests: those whose guest tag is older than
// opts.OlderThan (and, with IdleFor, unchanged for that long). It pages
// through ListUsers (POST /zitadel.user.v2.UserService/ListUsers) filtered
// to the organization and to metadata keys starting with "GUEST_" (a
// STARTS_WITH metadataKeyFilter, which finds GUEST_CREATED_AT and the
// official demo's GUEST_YY_MM_DD; never CONTAINS or ENDS_WITH, which ZITADEL
// swaps, docs/zitadel.md §4.4), sorted by creation date ascending with an
// explicit limit, and stops at the first user created after the cutoff.
//
// Each candidate's tag is read again right before it is deleted
// (ListUserMetadata), so a guest upgraded meanwhile is kept; a tagged user
// with a password or a verified e-mail is never deleted (docs/architecture.md
// invariant 1). With IdleFor, a guest active within it by any store's
// ActivityRecorder is kept; then SweepOptions.Veto is asked. The guest's
// data is deleted from every store first (the cart store, then the
// WithGuestData stores in order: GuestData.DeleteGuest, CartStore.Delete
// or CartRetirer.DeleteGuest), then the user (DeleteUser; a 404 counts as
// done), so no data outlives its guest: a store failing, or a cancelled
// run, leaves at worst a tagged guest with part of its data gone, which
// the next run finishes.
//
// Paging neither skips nor loops: users that stay listed (skipped or
// failed) are counted into the next offset, and users the eventually
// consistent list still shows after their deletion are recognized. Reads
// and deletes are retried on connection errors, 429, 502, 503 and 504, and
// paced by the Manager's egress budget at the lowest priority (and by
// RequestsPerSecond). A guest that fails to delete is reported and the run
// goes on. Sweep returns an error only when it cannot start, when listing
// fails, or when ctx ends; the report holds what was done until then.
// Running it again is safe. It emits EventDeleted per guest and
// EventSweepDone.
func (m *Manager) Sweep(ctx context.Context, opts SweepOptions) (SweepReport, error) {
	start := time.Now()
	ctx = m.begin(ctx, EventSweepDone)
	rep := SweepReport{DryRun: opts.DryRun}
	err := m.sweepLocked(ctx, opts, &rep)
	rep.Duration = time.Since(start)
	m.emit(ctx, Event{Kind: EventSweepDone, Duration: rep.Duration, Err: err, Sweep: &rep})
	return rep, err
}

func (m *Manager) sweepLocked(ctx context.Context, opts SweepOptions, rep *SweepReport) error {
	run, err := m.newSweepRun(opts, rep)
	if err != nil {
		return err
	}
	if opts.Locker != nil {
		release, ok, err := opts.Locker.TryLock(ctx, "shadow-sweep:"+m.cfg.orgID)
		if err != nil {
			return errorf("sweep lock: %w", err)
		}
		if !ok {
			return ErrSweepLocked
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockReleaseTimeout)
			defer cancel()
			if err := release(ctx); err != nil {
				m.log().Warn("shadow: sweep lock release failed", "err", err)
			}
		}()
	}
	return run.run(ctx)
}

// sweepRun is the state of one Sweep.
type sweepRun struct {
	m       *Manager
	opts    SweepOptions
	cutoff  time.Time
	idle    time.Time // zero without IdleFor
	size    int
	workers int
	limit   *rate.Limiter // nil: unpaced

	mu       sync.Mutex
	rep      *SweepReport
	deletes  int             // deletions started, for MaxDeletes
	stayKeys map[string]bool // handled users that stay in the listing
	inFlight map[string]bool // users handed to a worker
	// gone remembers recently deleted users, which the eventually
	// consistent list may still show for a while; bounded so that memory
	// stays page-sized.
	gone     *recentSet
	finished chan struct{} // a worker finished a user
}

func (m *Manager) newSweepRun(opts SweepOptions, rep *SweepReport) (*sweepRun, error) {
	var errs []error
	switch {
	case opts.OlderThan <= 0:
		errs = append(errs, errors.New("shadow: Sweep: OlderThan must be positive"))
	case opts.OlderThan < m.unusedCookieLife() && !opts.AllowLiveSessions:
		errs = append(errs, fmt.Errorf("shadow: Sweep: OlderThan %v is shorter than the life of an unused session cookie %v: "+
			"it would delete guests whose cookies are still valid (set AllowLiveSessions to mean it)", opts.OlderThan, m.unusedCookieLife()))
	}
	if opts.IdleFor < 0 || opts.MaxDeletes < 0 || opts.Concurrency < 0 {
		errs = append(errs, errors.New("shadow: Sweep: IdleFor, MaxDeletes and Concurrency must not be negative"))
	}
	size := opts.PageSize
	if size == 0 {
		size = 100
	}
	if size < 1 || size > maxSweepPage {
		errs = append(errs, fmt.Errorf("shadow: Sweep: PageSize %d not in 1..%d", size, maxSweepPage))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	now := m.now()
	r := &sweepRun{m: m, opts: opts, cutoff: now.Add(-opts.OlderThan), size: size, rep: rep,
		workers: opts.Concurrency, stayKeys: map[string]bool{}, inFlight: map[string]bool{},
		gone: newRecentSet(4 * size), finished: make(chan struct{}, 1)}
	if r.workers == 0 {
		r.workers = defaultConcurrency
	}
	idleFor := opts.IdleFor
	if idleFor == 0 && !opts.AllowLiveSessions {
		// A guest active within the idle timeout still holds a live
		// session, whatever the age of its tag.
		idleFor = m.unusedCookieLife()
	}
	if idleFor > 0 {
		r.idle = now.Add(-idleFor)
	}
	if rps := opts.RequestsPerSecond; rps > 0 {
		r.limit = rate.NewLimiter(rate.Limit(rps), 1)
	}
	return r, nil
}

func (r *sweepRun) run(ctx context.Context) error {
	ctx = withPacer(zitadel.WithPriority(ctx, zitadel.PriorityBackground), r.limit)
	// Workers take users one by one, across pages: the next page is read
	// while the last users of this one are still being handled, so no
	// worker waits at a page boundary.
	work := make(chan zitadel.User)
	var wg sync.WaitGroup
	for range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range work {
				r.finish(u.UserID, r.one(ctx, u))
			}
		}()
	}
	err := r.dispatch(ctx, work)
	close(work)
	wg.Wait()
	if r.opts.Progress != nil {
		r.opts.Progress(r.snapshot())
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// dispatch pages through the listing and hands each user not handled yet
// to the workers. The offset of a page is the number of users known to
// stay listed: they sort before every unhandled user, so no unhandled user
// is skipped, while users being handled or just deleted (which the list
// may still show) are recognized and passed over.
func (r *sweepRun) dispatch(ctx context.Context, work chan<- zitadel.User) error {
	pauses := 0
	for {
		page, err := r.m.listGuests(ctx, uint64(r.stayCount()), r.size)
		if err != nil {
			return err
		}
		done := len(page) < r.size
		handed := 0
		for _, u := range page {
			if r.known(u.UserID) {
				continue
			}
			if u.Details != nil && !u.Details.CreationDate.IsZero() && !u.Details.CreationDate.Before(r.cutoff) {
				done = true // sorted by creation date: nothing after this is old enough
				break
			}
			if ctx.Err() != nil || r.capped() {
				return nil
			}
			r.start(u.UserID)
			select {
			case work <- u:
				handed++
			case <-ctx.Done():
				r.finish(u.UserID, true)
				return nil
			}
		}
		if r.opts.Progress != nil {
			r.opts.Progress(r.snapshot())
		}
		if done || r.capped() {
			return nil
		}
		if handed > 0 {
			pauses = 0
			continue
		}
		// Nothing new on a full page: users still being handled fill it (wait
		// for one to finish), or the list still shows deleted users (wait
		// for it to catch up, a bounded number of times).
		if r.waitInFlight(ctx) {
			continue
		}
		if pauses++; pauses > lagPauses {
			return ErrSweepIncomplete
		}
		if err := sleep(ctx, time.Duration(pauses)*200*time.Millisecond); err != nil {
			return nil
		}
	}
}

// start marks a user as handed to a worker.
func (r *sweepRun) start(id string) {
	r.mu.Lock()
	r.inFlight[id] = true
	r.mu.Unlock()
}

// finish records a handled user: it stays listed (skipped or failed) or
// is gone.
func (r *sweepRun) finish(id string, stays bool) {
	r.mu.Lock()
	delete(r.inFlight, id)
	if stays {
		r.stayKeys[id] = true
	} else {
		r.gone.add(id)
	}
	r.mu.Unlock()
	select {
	case r.finished <- struct{}{}:
	default:
	}
}

// known reports whether the user was handled or is being handled.
func (r *sweepRun) known(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stayKeys[id] || r.inFlight[id] || r.gone.has(id)
}

func (r *sweepRun) stayCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.stayKeys)
}

// waitInFlight waits until a user being handled is done; it reports
// false at once when none is.
func (r *sweepRun) waitInFlight(ctx context.Context) bool {
	r.mu.Lock()
	n := len(r.inFlight)
	r.mu.Unlock()
	if n == 0 {
		return false
	}
	select {
	case <-r.finished:
	case <-ctx.Done():
	}
	return true
}

// one re-checks and deletes one candidate; it reports whether the user
// stays in the tag listing.
func (r *sweepRun) one(ctx context.Context, u zitadel.User) (stays bool) {
	r.mu.Lock()
	r.rep.Scanned++
	r.mu.Unlock()
	if ctx.Err() != nil {
		return true
	}
	if r.m.registered(u) { // from the listing: a first filter, decided again under the lock
		r.skip(u.UserID, SkipRegistered)
		return true
	}
	if !r.idle.IsZero() && u.Details != nil && !u.Details.ChangeDate.IsZero() && !u.Details.ChangeDate.Before(r.idle) {
		r.skip(u.UserID, SkipActive)
		return true
	}
	unlock, err := r.m.lockGuest(ctx, u.UserID)
	if err != nil {
		if errors.Is(err, ErrGuestBusy) {
			r.skip(u.UserID, SkipBusy)
		} else {
			r.fail(u.UserID, err)
		}
		return true
	}
	defer unlock()
	// Decided again under the lock, from ZITADEL, never from the listing:
	// a visitor may have registered since (docs/architecture.md invariant 8).
	g, err := r.m.readGuest(ctx, u.UserID)
	tags, listed := g.tags, g.listed
	switch {
	case errors.Is(err, ErrNotFound):
		r.skip(u.UserID, SkipNoTag) // deleted meanwhile
		return false
	case err != nil:
		r.fail(u.UserID, err)
		return true
	case g.registered:
		r.skip(u.UserID, SkipRegistered)
		return true
	}
	if len(tags) == 0 {
		// Upgraded or deleted meanwhile (gone from the listing), or only
		// other GUEST_* metadata (still listed).
		r.skip(u.UserID, SkipNoTag)
		return listed
	}
	for _, t := range tags {
		switch {
		case t.Created.IsZero():
			r.skip(u.UserID, SkipBadTag)
			return true
		case !t.Created.Before(r.cutoff):
			r.skip(u.UserID, SkipTooYoung)
			return true
		}
	}
	if r.keep(ctx, u.UserID) {
		return true
	}
	r.mu.Lock()
	r.rep.Eligible++
	if r.opts.DryRun || r.opts.MaxDeletes > 0 && r.deletes >= r.opts.MaxDeletes {
		r.rep.Capped = r.rep.Capped || !r.opts.DryRun
		r.mu.Unlock()
		return true
	}
	r.deletes++
	r.mu.Unlock()
	for _, d := range r.m.data {
		if err := d.data.DeleteGuest(ctx, u.UserID); err != nil {
			r.fail(u.UserID, errorf("delete guest data in store %q: %w", d.name, err))
			return true
		}
	}
	if err := r.m.deleteGuest(ctx, u.UserID); err != nil {
		r.fail(u.UserID, err)
		return true
	}
	r.mu.Lock()
	r.rep.Deleted++
	r.mu.Unlock()
	return false
}

// keep asks the stores' activity (with IdleFor) and the veto whether an
// otherwise eligible guest stays; it records the skip or failure.
func (r *sweepRun) keep(ctx context.Context, id string) bool {
	if !r.idle.IsZero() {
		last, err := r.m.lastActivity(ctx, id)
		if err != nil {
			r.fail(id, err)
			return true
		}
		if !last.Before(r.idle) {
			r.skip(id, SkipActive)
			return true
		}
	}
	if r.opts.Veto == nil {
		return false
	}
	reason, err := r.opts.Veto(ctx, id)
	switch {
	case err != nil:
		r.addSkip(SweepSkip{UserID: id, Reason: SkipVetoFailed, Err: err})
	case reason != "":
		r.addSkip(SweepSkip{UserID: id, Reason: SkipVetoed, Detail: reason})
	default:
		return false
	}
	return true
}

func (r *sweepRun) skip(id string, why SkipReason) { r.addSkip(SweepSkip{UserID: id, Reason: why}) }

func (r *sweepRun) addSkip(s SweepSkip) {
	r.mu.Lock()
	r.rep.Skipped = append(r.rep.Skipped, s)
	r.mu.Unlock()
}

func (r *sweepRun) fail(id string, err error) {
	r.mu.Lock()
	r.rep.Failed = append(r.rep.Failed, SweepFailure{GuestID: id, Err: err})
	r.mu.Unlock()
}

func (r *sweepRun) capped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rep.Capped
}

// snapshot copies the report for the progress callback.
func (r *sweepRun) snapshot() SweepReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := *r.rep
	c.Skipped = append([]SweepSkip(nil), r.rep.Skipped...)
	c.Failed = append([]SweepFailure(nil), r.rep.Failed...)
	return c
}

// listGuests reads one page of the organization's users with a guest tag
// key, oldest first.
func (m *Manager) listGuests(ctx context.Context, offset uint64, limit int) ([]zitadel.User, error) {
	tagQuery := zitadel.SearchQuery{MetadataKeyFilter: &zitadel.MetadataKeyFilter{Key: dailyTagPrefix, Method: zitadel.TextFilterStartsWith}}
	if !strings.HasPrefix(m.cfg.tagKey, dailyTagPrefix) {
		tagQuery = zitadel.SearchQuery{OrQuery: &zitadel.OrQuery{Queries: []zitadel.SearchQuery{tagQuery,
			{MetadataKeyFilter: &zitadel.MetadataKeyFilter{Key: m.cfg.tagKey, Method: zitadel.TextFilterEquals}}}}}
	}
	req := zitadel.ListUsersRequest{
		Query:         &zitadel.ListQuery{Offset: zitadel.Uint64(offset), Limit: uint32(limit), Asc: true},
		SortingColumn: zitadel.UserFieldCreationDate,
		Queries: []zitadel.SearchQuery{
			{OrganizationIDQuery: &zitadel.OrganizationIDQuery{OrganizationID: m.cfg.orgID}},
			tagQuery,
		},
	}
	var resp zitadel.ListUsersResponse
	if err := m.call(zitadel.Idempotent(ctx), zitadel.MethodListUsers, req, &resp); err != nil {
		return nil, err
	}
	return resp.Result, nil
}

// recentSet is a set of at most n strings that forgets the oldest first.
type recentSet struct {
	n     int
	set   map[string]bool
	order []string
}

func newRecentSet(n int) *recentSet { return &recentSet{n: n, set: make(map[string]bool, n)} }

func (r *recentSet) has(s string) bool { return r.set[s] }

func (r *recentSet) add(s string) {
	if r.set[s] {
		return
	}
	if len(r.order) == r.n {
		delete(r.set, r.order[0])
		r.order = r.order[1:]
	}
	r.set[s] = true
	r.order = append(r.order, s)
}

type pacerKey struct{}

// withPacer makes every ZITADEL request sent with ctx wait for lim first.
func withPacer(ctx context.Context, lim *rate.Limiter) context.Context {
	if lim == nil {
		return ctx
	}
	return context.WithValue(ctx, pacerKey{}, lim)
}

// pace waits for ctx's pacer, if any.
func pace(ctx context.Context) error {
	if lim, ok := ctx.Value(pacerKey{}).(*rate.Limiter); ok {
		return lim.Wait(ctx)
	}
	return nil
}
