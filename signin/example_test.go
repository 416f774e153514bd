package signin_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/signin"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// A shop whose guest signs into an existing account: the guest's cart
// moves into the account and the guest is deleted. The fake ZITADEL's
// login driver plays the user at ZITADEL's login page.
func Example() {
	ctx := context.Background()
	fake := zitadeltest.NewServer()
	defer fake.Close()
	customer, _ := fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Ada", FamilyName: "Lovelace",
		Email: "ada@example.com", EmailVerified: true, Password: "Secr3t!Passw0rd"})

	store := memstore.New()
	key, _ := shadow.NewSessionKey(bytes.Repeat([]byte{7}, 32))
	mgr, err := shadow.New(fake.Issuer(), shadow.WithOrganization(fake.OrganizationID()),
		shadow.WithClientID(fake.ClientID()), shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)),
		shadow.WithCartStore(store), shadow.WithSessionKeys(key), shadow.WithHTTPClient(fake.Client()),
		shadow.WithInsecureCookies()) // the example serves plain HTTP on localhost
	if err != nil {
		log.Fatal(err)
	}

	var flow *signin.Flow
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		s, _ := mgr.EnsureGuest(w, r)
		_ = store.Add(r.Context(), s.GuestID, shadow.Item{SKU: "mug", Quantity: 1})
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) { _ = flow.Start(w, r) })
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		res, err := flow.Callback(w, r)
		if err != nil {
			http.Error(w, "please sign in again", http.StatusBadRequest)
			return
		}
		fmt.Printf("signed in as %s; guest %s, %d line(s) moved\n", res.User.Email, res.Merge.Status, len(res.Merge.Result.Merged.Items))
	})
	app := httptest.NewServer(mgr.Middleware(mux))
	defer app.Close()
	_ = fake.SetRedirectURIs(fake.ClientID(), app.URL+"/callback")

	flow, err = signin.New(ctx, signin.Config{
		Issuer: fake.Issuer(), ClientID: fake.ClientID(), RedirectURL: app.URL + "/callback",
		Secrets: [][]byte{bytes.Repeat([]byte{9}, 32)}, Manager: mgr, HTTPClient: fake.Client(),
	})
	if err != nil {
		log.Fatal(err)
	}

	browser := fake.NewBrowser()
	_, _ = browser.Post(app.URL+"/cart", "", nil) // the visitor becomes a guest with a cart
	noFollow := *browser
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, _ := noFollow.Get(app.URL + "/login")
	resp.Body.Close()
	callback, err := fake.SignIn(browser, resp.Header.Get("Location"), "ada@example.com", "Secr3t!Passw0rd")
	if err != nil {
		log.Fatal(err)
	}
	resp, _ = browser.Get(callback)
	resp.Body.Close()

	cart, _ := store.Get(ctx, customer)
	fmt.Println("the account's cart:", cart.Items)
	// Output:
	// signed in as ada@example.com; guest Merged, 1 line(s) moved
	// the account's cart: [{mug 1}]
}
