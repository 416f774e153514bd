// Command shop is a small web shop that shows the whole guest lifecycle of
// package shadow in a browser: browse anonymously, add to the cart (a guest
// is created on that first intent), register (the guest is upgraded in
// place), or sign in to an existing account (the guest's cart is merged
// into it and the guest deleted), and sweep abandoned guests from the admin
// page.
//
// With no configuration it runs on an embedded fake ZITADEL (zitadeltest)
// with a demo customer account whose login it prints at start-up:
//
//	go run ./examples/shop
//
// To use a real ZITADEL (v4.13+), set all of ZITADEL_ISSUER,
// ZITADEL_ORG_ID, ZITADEL_CLIENT_ID, ZITADEL_PAT and SHOP_SESSION_KEY (a
// random secret of at least 32 characters); the OIDC application needs the
// redirect URI <base-url>/callback.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	baseURL := flag.String("base-url", "", "URL browsers reach the shop at (default http://<addr>)")
	flag.Parse()
	if *baseURL == "" {
		*baseURL = "http://" + *addr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, *baseURL); err != nil {
		log.Fatalf("shop: %v", err)
	}
}

func run(ctx context.Context, addr, baseURL string) error {
	env, err := configFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	var demo *embedded
	if env == nil {
		demo, err = startEmbedded(baseURL)
		if err != nil {
			return err
		}
		defer demo.Close()
		env = &demo.cfg
	}
	s, err := newShop(*env, baseURL, demo != nil)
	if err != nil {
		return err
	}
	if demo != nil {
		if err := demo.seedCart(ctx, s.store); err != nil {
			return err
		}
		fmt.Printf("Embedded fake ZITADEL at %s\n", demo.fake.Issuer())
		fmt.Printf("Demo customer: %s / %s\n", demoEmail, demoPassword)
	}
	srv := &http.Server{Addr: addr, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Printf("Shop running at %s\n", baseURL)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
