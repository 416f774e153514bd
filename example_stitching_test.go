package shadow_test

import (
	"context"
	"fmt"
	"log"
	"slices"
	"sync"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// lineage is an app's record of which guest became which account: the
// alias table an analytics pipeline joins on, and what a data-erasure
// request follows. Guest ids are never reused, so each guest has at most
// one account.
type lineage struct {
	mu        sync.Mutex
	accountOf map[string]string // guest id → surviving account id
}

// observe records the stitch of every Upgrade and MergeInto that
// succeeded (a failed MergeInto is repeated until it does).
func (l *lineage) observe(e shadow.Event) {
	if e.Err != nil || (e.Kind != shadow.EventMerged && e.Kind != shadow.EventUpgraded) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accountOf[e.GuestID] = e.UserID
}

// ids returns every id under which the person behind account acted: the
// account itself and each guest stitched to it, sorted.
func (l *lineage) ids(account string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []string{account}
	for guest, acc := range l.accountOf {
		if acc == account && guest != account {
			out = append(out, guest)
		}
	}
	slices.Sort(out[1:])
	return out
}

// Identity stitching: two guests of one person (a laptop and a phone)
// are merged into the account they log into; the Observer records both
// stitches, and a data-erasure request for the account finds every id the
// person's analytics events were recorded under.
func Example_identityStitching() {
	fake := zitadeltest.NewServer()
	defer fake.Close()
	ctx := context.Background()
	lin := &lineage{accountOf: map[string]string{}}
	mgr, err := shadow.New(fake.Issuer(),
		shadow.WithOrganization(fake.OrganizationID()),
		shadow.WithClientID(fake.ClientID()),
		shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)),
		shadow.WithCartStore(memstore.New()),
		shadow.WithHTTPClient(fake.Client()),
		shadow.WithObserver(lin.observe),
	)
	if err != nil {
		log.Fatal(err)
	}
	// Analytics events, keyed by the user id the visitor had at the time.
	events := map[string][]string{}
	laptop, _ := mgr.Provision(ctx)
	phone, _ := mgr.Provision(ctx)
	events[laptop.ID] = append(events[laptop.ID], "viewed pricing")
	events[phone.ID] = append(events[phone.ID], "started trial")

	account, err := fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Ada", FamilyName: "Byron",
		Email: "ada@example.com", EmailVerified: true, Password: "Analytical-Engine1"})
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range []shadow.Guest{laptop, phone} {
		res, err := mgr.MergeInto(ctx, g.ID, account)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("stitched:", res.GuestID == g.ID, "into the account:", res.AccountID == account)
	}
	events[account] = append(events[account], "upgraded plan")

	// A data-erasure request for the account: erase under every id.
	erased := 0
	for _, id := range lin.ids(account) {
		erased += len(events[id])
		delete(events, id)
	}
	fmt.Println("ids of the person:", len(lin.ids(account)), "events erased:", erased, "left:", len(events))
	// Output:
	// stitched: true into the account: true
	// stitched: true into the account: true
	// ids of the person: 3 events erased: 3 left: 0
}
