package shadow_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"maps"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// Widget is a dashboard widget a visitor saved, as an app keeps it.
type Widget struct {
	Title string
	Pos   int
}

// An app without carts: visitors save dashboard widgets, rows of the app's
// own table (here an in-memory memstore.Records; with PostgreSQL,
// pgstore.Mover moves the rows of the app's table by their owner column).
// The first save creates the guest; a login merges the widgets into the
// account; the sweep deletes an abandoned guest with its widgets.
func Example_beyondCarts() {
	var later atomic.Int64 // how far the example's clock is ahead
	now := func() time.Time { return time.Now().Add(time.Duration(later.Load())) }
	fake := zitadeltest.NewServer(zitadeltest.WithClock(now))
	defer fake.Close()
	ctx := context.Background()

	// The app's table: widgets by id per owner. When a guest's widget id
	// is also the account's, the account's widget wins.
	widgets := memstore.NewRecords[Widget](nil)
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		log.Fatal(err)
	}
	key, err := shadow.NewSessionKey(secret)
	if err != nil {
		log.Fatal(err)
	}
	mgr, err := shadow.New(fake.Issuer(),
		shadow.WithOrganization(fake.OrganizationID()),
		shadow.WithClientID(fake.ClientID()),
		shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)),
		shadow.WithGuestData("widgets", widgets), // no WithCartStore: no carts
		shadow.WithSessionKeys(key),
		shadow.WithHTTPClient(fake.Client()),
		shadow.WithClock(now),
	)
	if err != nil {
		log.Fatal(err)
	}

	// First intent: "save this widget" from an anonymous visitor.
	save := func(w Widget, id string) shadow.Session {
		rec, req := httptest.NewRecorder(), httptest.NewRequest("POST", "https://app.example/widgets", nil)
		s, err := mgr.EnsureGuest(rec, req)
		if err != nil {
			log.Fatal(err)
		}
		if err := widgets.Put(ctx, s.GuestID, id, w); err != nil {
			log.Fatal(err)
		}
		return s
	}
	visitor := save(Widget{Title: "Revenue", Pos: 1}, "revenue")
	if err := widgets.Put(ctx, visitor.GuestID, "churn", Widget{Title: "Churn", Pos: 2}); err != nil {
		log.Fatal(err)
	}
	abandoned := save(Widget{Title: "Signups", Pos: 1}, "signups")

	// The visitor logs into the account they already had.
	account, err := fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Grace", FamilyName: "Hopper",
		Email: "grace@example.com", EmailVerified: true, Password: "Compil3r-Grace!"})
	if err != nil {
		log.Fatal(err)
	}
	if err := widgets.Put(ctx, account, "revenue", Widget{Title: "Revenue (mine)", Pos: 9}); err != nil {
		log.Fatal(err)
	}
	res, err := mgr.MergeInto(ctx, visitor.GuestID, account)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range res.Stores {
		fmt.Printf("merged store %s: %d records\n", s.Store, s.Records)
	}
	mine, _ := widgets.List(ctx, account)
	for _, id := range slices.Sorted(maps.Keys(mine)) {
		fmt.Printf("account widget %s: %s\n", id, mine[id].Title)
	}
	// A request still carrying the merged guest's cookie cannot write
	// under it any more.
	err = widgets.Put(ctx, visitor.GuestID, "late", Widget{Title: "Late"})
	fmt.Println("late save refused:", errors.Is(err, shadow.ErrOwnerRetired))

	// Weeks later the sweep deletes the abandoned guest and its widgets.
	later.Store(int64(31 * 24 * time.Hour))
	rep, err := mgr.Sweep(ctx, shadow.SweepOptions{OlderThan: 30 * 24 * time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	left, _ := widgets.List(ctx, abandoned.GuestID)
	fmt.Println("swept:", rep.Deleted, "widgets left:", len(left))
	// Output:
	// merged store widgets: 2 records
	// account widget churn: Churn
	// account widget revenue: Revenue (mine)
	// late save refused: true
	// swept: 1 widgets left: 0
}
