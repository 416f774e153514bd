package shadow_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// newExampleManager wires a Manager to a fake ZITADEL.
func newExampleManager(fake *zitadeltest.Server, store shadow.CartStore) *shadow.Manager {
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
		shadow.WithCartStore(store),
		shadow.WithSessionKeys(key),
		shadow.WithHTTPClient(fake.Client()),
	)
	if err != nil {
		log.Fatal(err)
	}
	return mgr
}

// The whole lifecycle of one guest: created, impersonated, upgraded.
func Example() {
	fake := zitadeltest.NewServer()
	defer fake.Close()
	store := memstore.New()
	mgr := newExampleManager(fake, store)
	ctx := context.Background()

	guest, err := mgr.Provision(ctx)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := mgr.Impersonate(ctx, guest.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("token type:", tok.IssuedTokenType)
	if err := store.Add(ctx, guest.ID, shadow.Item{SKU: "mug", Quantity: 2}); err != nil {
		log.Fatal(err)
	}

	_, err = mgr.Upgrade(ctx, guest.ID, shadow.Profile{GivenName: "Ada", FamilyName: "Lovelace",
		Email: "ada@example.com", Password: "Analytical-Engine1"})
	if err != nil {
		log.Fatal(err)
	}
	u, _ := fake.User(guest.ID)
	cart, _ := store.Get(ctx, guest.ID)
	fmt.Println("username:", u.Username, "verified:", u.EmailVerified, "tags:", len(u.Metadata))
	fmt.Println("cart kept:", cart.Quantity("mug"))
	// Output:
	// token type: urn:ietf:params:oauth:token-type:jwt
	// username: ada@example.com verified: false tags: 0
	// cart kept: 2
}

// A guest logs into an account they already had: the carts merge and the
// guest is deleted.
func ExampleManager_MergeInto() {
	fake := zitadeltest.NewServer()
	defer fake.Close()
	store := memstore.New()
	mgr := newExampleManager(fake, store)
	ctx := context.Background()

	customer, err := fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Dana", FamilyName: "Demo",
		Email: "dana@example.com", Password: "Demo-Passw0rd!"})
	if err != nil {
		log.Fatal(err)
	}
	_ = store.Add(ctx, customer, shadow.Item{SKU: "mug", Quantity: 1})
	guest, err := mgr.Provision(ctx)
	if err != nil {
		log.Fatal(err)
	}
	_ = store.Add(ctx, guest.ID, shadow.Item{SKU: "mug", Quantity: 2})

	res, err := mgr.MergeInto(ctx, guest.ID, customer)
	if err != nil {
		log.Fatal(err)
	}
	cart, _ := store.Get(ctx, customer)
	_, guestExists := fake.User(guest.ID)
	fmt.Println("moved lines:", len(res.Merged.Items), "mugs now:", cart.Quantity("mug"), "guest exists:", guestExists)
	// Output: moved lines: 1 mugs now: 3 guest exists: false
}

// The sweep deletes guests older than the cutoff and nobody else.
func ExampleManager_Sweep() {
	fake := zitadeltest.NewServer()
	defer fake.Close()
	mgr := newExampleManager(fake, memstore.New())
	ctx := context.Background()

	for range 3 {
		if _, err := mgr.Provision(ctx); err != nil {
			log.Fatal(err)
		}
	}
	rep, err := mgr.Sweep(ctx, shadow.SweepOptions{AllowLiveSessions: true, OlderThan: time.Nanosecond})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("scanned:", rep.Scanned, "deleted:", rep.Deleted, "failed:", len(rep.Failed))
	// Output: scanned: 3 deleted: 3 failed: 0
}
