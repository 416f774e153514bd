package shadow_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// TestLifecycleProperties runs random, concurrent Provision, Add, Upgrade,
// MergeInto and Sweep over a mixed population of guests and registered
// users and checks the invariants after every run. The operations are
// drawn from a seed (SHADOW_PROPERTY_SEED picks one; a failure names its
// seed), so a failing run can be replayed.
func TestLifecycleProperties(t *testing.T) {
	t.Parallel()
	seeds := []uint64{1, 2, 3, 4, 5, 6}
	if s := os.Getenv("SHADOW_PROPERTY_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SHADOW_PROPERTY_SEED: %v", err)
		}
		seeds = []uint64{n}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			runProperties(t, seed)
		})
	}
}

// population tracks what the property run created.
type population struct {
	mu         sync.Mutex
	registered []string          // existed before the run; their records never change
	old        []string          // abandoned guests: only Sweep touches them
	young      []string          // live guests: Add, Upgrade and MergeInto touch them
	added      int               // units added by the run
	saved      *savedItems       // the second store: saved items
	records    int               // saved items put by the run
	upgraded   map[string]string // guest id → the e-mail its one successful Upgrade set
	// merging orders half of the Adds against MergeIntos, as an app does
	// by dropping the guest cookie once the merge returned; the other half
	// race them, and must land before the move or fail with
	// ErrOwnerRetired. Upgrades and MergeIntos of one guest race freely:
	// the SDK's per-guest lock must keep them apart.
	merging sync.RWMutex
	// cookies are the session cookies of the visitors EnsureGuest created,
	// by guest id; ended are the guests a successful Upgrade or MergeInto
	// ended. A replayed cookie of an ended guest must never be a guest
	// session again (docs/architecture.md invariant 6).
	cookies map[string]*http.Cookie
	ended   map[string]bool
}

// pick returns a random member of the list *l, read under the lock.
func (p *population) pick(r *rand.Rand, l *[]string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(*l) == 0 {
		return ""
	}
	return (*l)[r.IntN(len(*l))]
}

func runProperties(t *testing.T, seed uint64) {
	saved := newSaved()
	e := newEnv(t, shadow.WithRetry(shadow.RetryOptions{MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond}),
		shadow.WithGuestData("saved", saved), shadow.WithProvisionLimits(shadow.ProvisionLimits{PerClientPerMinute: -1, GlobalPerMinute: -1}))
	r := rand.New(rand.NewPCG(seed, 0))
	p := &population{upgraded: map[string]string{}, saved: saved, cookies: map[string]*http.Cookie{}, ended: map[string]bool{}}
	oldUnits := map[string]int{}
	oldRecords := 0
	for i := range 6 {
		g := e.provision(t).ID
		q := 1 + r.IntN(3)
		addItems(t, e, g, shadow.Item{SKU: "old" + strconv.Itoa(i), Quantity: q})
		save(t, saved, g, "old"+strconv.Itoa(i))
		p.old, oldUnits[g] = append(p.old, g), q
		oldRecords++
	}
	e.clock.Advance(48 * time.Hour)
	for i := range 4 {
		id := e.addCustomer(t, fmt.Sprintf("registered%d@example.com", i))
		p.registered = append(p.registered, id)
		addItems(t, e, id, shadow.Item{SKU: "base", Quantity: 1})
		p.added++
	}
	for range 6 {
		p.young = append(p.young, e.provision(t).ID)
	}
	before := map[string]zitadeltest.User{}
	savedBefore := map[string][]string{}
	for _, id := range p.registered {
		before[id] = e.user(t, id)
		save(t, saved, id, "base-"+id)
		savedBefore[id] = savedOf(t, saved, id)
		p.records++
	}
	// Faults now and then, on retried and unretried calls alike.
	e.fake.FailNext(zitadeltest.OpDeleteUser, zitadeltest.Unavailable())
	e.fake.FailNext(zitadeltest.OpUpdateUser, zitadeltest.DropAfterCommit())
	e.fake.FailNext(zitadeltest.OpListUserMetadata, zitadeltest.RateLimited(0))

	const workers, steps = 6, 15
	var wg sync.WaitGroup
	for w := range workers {
		wr := rand.New(rand.NewPCG(seed, uint64(w)+1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for step := range steps {
				p.step(t, e, wr, fmt.Sprintf("w%d-%d", w, step))
			}
		}()
	}
	wg.Wait()

	// Invariant 1: registered users untouched; upgraded users untagged.
	for id, u := range before {
		after, ok := e.fake.User(id)
		if !ok || !cmp.Equal(u, after) {
			t.Errorf("seed %d: registered user %s deleted or changed", seed, id)
		}
	}
	// Every successful Upgrade made a registered user that nothing changed
	// or deleted afterwards (a second Upgrade, a MergeInto, a Sweep).
	for id, email := range p.upgraded {
		u, ok := e.fake.User(id)
		switch {
		case !ok:
			t.Errorf("seed %d: upgraded user %s was deleted", seed, id)
		case u.Username != email || len(u.Metadata) != 0 || !u.HasPassword:
			t.Errorf("seed %d: upgraded user %s = %+v, want %s untagged with a password", seed, id, u, email)
		}
	}
	units, swept, records, sweptRecords := 0, 0, 0, 0
	for _, u := range e.fake.Users() {
		records += len(savedOf(t, saved, u.ID))
		_, tagged := u.Metadata[shadow.DefaultTagKey]
		if u.Type == zitadeltest.Human && u.HasPassword == tagged {
			t.Errorf("seed %d: user %s has password=%v and tag=%v", seed, u.ID, u.HasPassword, tagged)
		}
		for _, it := range cartOf(t, e, u.ID) {
			units += it.Quantity
		}
	}
	for _, g := range p.old {
		if _, ok := e.fake.User(g); !ok {
			swept += oldUnits[g]
			sweptRecords++
			if len(cartOf(t, e, g)) != 0 || len(savedOf(t, saved, g)) != 0 {
				t.Errorf("seed %d: swept guest %s kept its cart or saved items", seed, g)
			}
		}
	}
	// Invariant 3: every unit added is in an existing user's cart, except
	// the carts of abandoned guests the sweep deleted.
	total := p.added
	for _, q := range oldUnits {
		total += q
	}
	if units != total-swept {
		t.Errorf("seed %d: %d units in carts, want %d (added %d, swept %d)", seed, units, total-swept, total, swept)
	}
	// The same for saved items, and no saved item lives under a user that
	// is gone (merged or swept): no orphan either way.
	if want := p.records + oldRecords - sweptRecords; records != want {
		t.Errorf("seed %d: %d saved items with existing users, want %d", seed, records, want)
	}
	for _, g := range append(append([]string(nil), p.young...), p.old...) {
		if _, ok := e.fake.User(g); !ok && len(savedOf(t, saved, g)) != 0 {
			t.Errorf("seed %d: deleted guest %s left saved items", seed, g)
		}
	}
	for id, keys := range savedBefore {
		if got := savedOf(t, saved, id); !isSubset(keys, got) {
			t.Errorf("seed %d: registered user %s lost saved items: had %v, has %v", seed, id, keys, got)
		}
	}
}

// step runs one random operation.
func (p *population) step(t *testing.T, e *env, r *rand.Rand, tag string) {
	ctx := t.Context()
	switch op := r.IntN(11); {
	case op < 2: // a new visitor
		if r.IntN(2) == 0 { // through the cookie helpers, keeping the cookie
			rec := newRecorder()
			s, err := e.mgr.EnsureGuest(rec, newRequest(t, nil))
			if err != nil {
				t.Errorf("EnsureGuest: %v", err)
				return
			}
			p.mu.Lock()
			p.young = append(p.young, s.GuestID)
			p.cookies[s.GuestID] = sessionCookie(t, rec)
			p.mu.Unlock()
			return
		}
		g, err := e.mgr.Provision(ctx)
		if err != nil {
			t.Errorf("Provision: %v", err)
			return
		}
		p.mu.Lock()
		p.young = append(p.young, g.ID)
		p.mu.Unlock()
	case op == 10: // a visitor (or an attacker) replays an old cookie
		p.mu.Lock()
		var id string
		var c *http.Cookie
		for id, c = range p.cookies {
			if r.IntN(2) == 0 {
				break
			}
		}
		wasEnded := p.ended[id]
		p.mu.Unlock()
		if c == nil {
			return
		}
		if s, ok, _ := serve(t, e.mgr, c); ok && wasEnded {
			t.Errorf("the cookie of ended guest %s is a session again: %+v", id, s)
		}
	case op < 5: // add to a live guest's or a registered user's cart
		owner := p.pick(r, &p.young)
		if r.IntN(3) == 0 {
			owner = p.pick(r, &p.registered)
		}
		if r.IntN(2) == 0 {
			p.merging.RLock()
			defer p.merging.RUnlock()
		}
		if _, ok := e.fake.User(owner); !ok {
			return // merged away: the app would have dropped the cookie
		}
		q := 1 + r.IntN(2)
		var err error
		if r.IntN(2) == 0 {
			err = e.store.Add(ctx, owner, shadow.Item{SKU: "sku" + strconv.Itoa(r.IntN(4)), Quantity: q})
		} else {
			// A saved item with a key of its own, so no merge combines it.
			q = 0
			if err = p.saved.Put(ctx, owner, tag, 1); err == nil {
				p.mu.Lock()
				p.records++
				p.mu.Unlock()
			}
		}
		switch {
		case errors.Is(err, shadow.ErrOwnerRetired):
			// Merged or swept while DeleteUser failed: the store refuses
			// the write, and the visitor's app writes elsewhere.
			return
		case err != nil:
			t.Errorf("Add: %v", err)
			return
		}
		p.mu.Lock()
		p.added += q
		p.mu.Unlock()
	case op < 7:
		g := p.pick(r, &p.young)
		_, err := e.mgr.Upgrade(ctx, g, shadow.Profile{GivenName: "P", FamilyName: "Q",
			Email: tag + "@example.com", Password: "Propert1es-Hold!"})
		switch {
		case err == nil:
			p.mu.Lock()
			if prev, ok := p.upgraded[g]; ok {
				t.Errorf("guest %s upgraded twice (%s, then %s)", g, prev, tag)
			}
			p.upgraded[g] = tag + "@example.com"
			p.ended[g] = true
			p.mu.Unlock()
		case errors.Is(err, shadow.ErrNotGuest), errors.Is(err, shadow.ErrNotFound), errors.Is(err, shadow.ErrUnavailable),
			errors.Is(err, shadow.ErrGuestBusy):
		default:
			t.Errorf("Upgrade: %v", err)
		}
	case op < 9:
		p.merging.Lock()
		defer p.merging.Unlock()
		g := p.pick(r, &p.young)
		_, err := e.mgr.MergeInto(ctx, g, p.pick(r, &p.registered))
		if err == nil {
			p.mu.Lock()
			p.ended[g] = true
			p.mu.Unlock()
		}
		if err != nil && !errors.Is(err, shadow.ErrNotGuest) && !errors.Is(err, shadow.ErrNotFound) &&
			!errors.Is(err, shadow.ErrUnavailable) && !errors.Is(err, shadow.ErrGuestBusy) {
			t.Errorf("MergeInto: %v", err)
		}
	default: // the abandoned guests are 48 h old, the live ones brand new
		if _, err := e.mgr.Sweep(ctx, shadow.SweepOptions{AllowLiveSessions: true, OlderThan: 24 * time.Hour, RequestsPerSecond: -1,
			PageSize: 1 + r.IntN(4), Concurrency: 1 + r.IntN(3)}); err != nil {
			t.Errorf("Sweep: %v", err)
		}
	}
}

// isSubset reports whether every string of a is in b.
func isSubset(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}
