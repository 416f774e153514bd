package shadow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// SweepOptions select the guests a Sweep deletes.
type SweepOptions struct {
	// OlderThan is the minimum age of a guest's tag time; required, > 0.
	OlderThan time.Duration
	// PageSize is how many users one ListUsers page holds (default 100, at most 1000).
	PageSize int
}

// SweepReport counts what a Sweep did.
type SweepReport struct {
	Scanned  int            // tagged users listed and examined
	Deleted  int            // guests deleted (a 404 on delete counts as deleted)
	Skipped  int            // users kept: tag too young, unreadable, or gone before the delete
	Failed   []SweepFailure // guests that could not be deleted; the next run retries them
	Duration time.Duration  // wall time of the run
}

// SweepFailure is a guest a Sweep could not delete, with the reason.
type SweepFailure struct {
	GuestID string
	Err     error
}

// maxSweepPage is ZITADEL's largest sensible page for ListUsers.
const maxSweepPage = 1000

// lagPauses bounds how often Sweep waits for ZITADEL's eventually
// consistent user list to drop users it has just deleted.
const lagPauses = 3

// Sweep deletes abandoned guests: those whose guest tag is older than
// opts.OlderThan. It pages through ListUsers (POST
// /zitadel.user.v2.UserService/ListUsers) filtered to the organization and
// to metadata keys starting with "GUEST_" (a STARTS_WITH metadataKeyFilter;
// never CONTAINS or ENDS_WITH, which ZITADEL swaps, zitadel-wire.md §4.4),
// sorted by creation date ascending with an explicit limit, and stops at
// the first user created after the cutoff. Each candidate's tag is read
// again right before it is deleted (ListUserMetadata), so a guest upgraded
// meanwhile is kept (DESIGN.md invariant 1). The guest's cart is deleted
// from the CartStore first, then the user (DeleteUser; a 404 counts as
// done), so no cart outlives its guest.
//
// Reads and deletes are retried on connection errors, 429 and 5xx. A guest
// that fails to delete is reported in SweepReport.Failed and does not stop
// the run. Sweep returns an error only when listing fails or ctx ends; the
// report then holds what was done so far. Running Sweep again is safe.
func (m *Manager) Sweep(ctx context.Context, opts SweepOptions) (SweepReport, error) {
	start := time.Now()
	var rep SweepReport
	err := m.sweep(ctx, opts, &rep)
	rep.Duration = time.Since(start)
	return rep, err
}

func (m *Manager) sweep(ctx context.Context, opts SweepOptions, rep *SweepReport) error {
	if opts.OlderThan <= 0 {
		return errors.New("shadow: Sweep: OlderThan must be positive")
	}
	size := opts.PageSize
	if size == 0 {
		size = 100
	}
	if size < 1 || size > maxSweepPage {
		return fmt.Errorf("shadow: Sweep: PageSize %d not in 1..%d", size, maxSweepPage)
	}
	cutoff := m.now().Add(-opts.OlderThan)
	// kept holds the users that stay in the listing (skipped or failed):
	// they are older than every unprocessed user, so their count is the
	// offset of the next unprocessed one.
	kept := map[string]bool{}
	// gone remembers recently deleted users, which the eventually consistent
	// list may still show for a while; bounded so memory stays page-sized.
	gone := newRecentSet(4 * size)
	pauses := 0
	for {
		page, err := m.listGuests(ctx, uint64(len(kept)), size)
		if err != nil {
			return err
		}
		progress, done := false, len(page) < size
		for _, u := range page {
			if kept[u.UserID] || gone.has(u.UserID) {
				continue
			}
			if u.Details != nil && !u.Details.CreationDate.IsZero() && !u.Details.CreationDate.Before(cutoff) {
				done = true // sorted by creation date: nothing after this is old enough
				break
			}
			rep.Scanned++
			progress = true
			if stays := m.sweepOne(ctx, u.UserID, cutoff, rep); stays {
				kept[u.UserID] = true
			} else {
				gone.add(u.UserID)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
		if !progress {
			// A full page of users already handled: the list still shows
			// deleted users. Wait for it to catch up, a bounded number of times.
			if pauses++; pauses > lagPauses {
				return nil
			}
			if err := sleep(ctx, time.Duration(pauses)*200*time.Millisecond); err != nil {
				return err
			}
		}
	}
}

// sweepOne re-checks and deletes one candidate; it reports whether the
// user stays in the tag listing (skipped with its tag, or failed).
func (m *Manager) sweepOne(ctx context.Context, id string, cutoff time.Time, rep *SweepReport) (stays bool) {
	tags, err := m.guestTags(ctx, id)
	if err != nil {
		rep.Failed = append(rep.Failed, SweepFailure{GuestID: id, Err: err})
		return true
	}
	if len(tags) == 0 {
		rep.Skipped++ // upgraded or deleted since it was listed
		return false
	}
	for _, t := range tags {
		if t.Created.IsZero() || !t.Created.Before(cutoff) {
			rep.Skipped++ // tag too young or unreadable: keep the user
			return true
		}
	}
	if err := m.store.Delete(ctx, id); err != nil {
		rep.Failed = append(rep.Failed, SweepFailure{GuestID: id, Err: fmt.Errorf("shadow: delete cart: %w", err)})
		return true
	}
	if err := m.deleteUser(ctx, id); err != nil {
		rep.Failed = append(rep.Failed, SweepFailure{GuestID: id, Err: err})
		return true
	}
	rep.Deleted++
	return false
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

// Locker lets replicas agree that only one of them sweeps at a time
// (pgstore provides one on PostgreSQL advisory locks). Implementations
// must be safe for concurrent use.
type Locker interface {
	// TryLock takes the lock called name unless another holder has it, in
	// which case ok is false and release is nil. release gives the lock back
	// and is called exactly once; it honours its own ctx.
	TryLock(ctx context.Context, name string) (release func(ctx context.Context) error, ok bool, err error)
}
