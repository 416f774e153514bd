// Command shop is a small web shop that shows the whole guest lifecycle of
// package shadow in a browser: browse anonymously, add to the cart (a guest
// is created on that first intent), register (the guest is upgraded in
// place: same user id, same cart), or sign in to an existing account (the
// guest's cart is merged into it and the guest deleted), and sweep
// abandoned guests from the admin page.
//
// With no configuration it runs on an embedded fake ZITADEL (zitadeltest,
// plain HTTP on 127.0.0.1, so the browser shows no certificate warning)
// with a demo customer whose login it prints at start-up:
//
//	go run ./examples/shop
//
// To use a real ZITADEL (v4.13+), set all of ZITADEL_ISSUER,
// ZITADEL_ORG_ID, ZITADEL_CLIENT_ID, ZITADEL_PAT and SHOP_SESSION_KEY (a
// random secret of at least 32 characters); the OIDC application needs the
// redirect URI <base-url>/callback and the post-logout redirect URI
// <base-url>/. The admin page exists only on the embedded fake.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	baseURL := flag.String("base-url", "", "URL browsers reach the shop at (default http://<addr>)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *baseURL, os.Getenv, os.Stdout); err != nil {
		log.SetFlags(0)
		log.Fatalf("shop: %v", err)
	}
}

// run listens on addr first (so a taken port fails before anything else
// starts), then serves the shop until ctx ends.
func run(ctx context.Context, addr, baseURL string, getenv func(string) string, out io.Writer) error {
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if baseURL == "" {
		baseURL = "http://" + displayAddr(addr, ln.Addr())
	}
	env, err := configFromEnv(getenv)
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
	s, err := newShop(ctx, *env, baseURL, demo)
	if err != nil {
		return err
	}
	if demo != nil {
		if err := demo.seedCart(ctx, s.store); err != nil {
			return err
		}
		fmt.Fprintf(out, "Embedded fake ZITADEL at %s\n", demo.fake.Issuer())
		fmt.Fprintf(out, "Demo customer: %s / %s\n", demoEmail, demoPassword)
	}
	srv := newServer(s.Handler())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(out, "Shop running at %s\n", baseURL)
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

// listen opens addr, explaining the usual reason it fails.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("cannot listen on %s: the port is taken by another program; stop it or choose another address with -addr (for example -addr localhost:8081)", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return ln, nil
}

// displayAddr is addr with the port the listener got (for -addr localhost:0).
func displayAddr(addr string, got net.Addr) string {
	host, _, err := net.SplitHostPort(addr)
	_, port, err2 := net.SplitHostPort(got.String())
	if err != nil || err2 != nil {
		return got.String()
	}
	if host == "" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// Server timeouts: a slow or stalled client cannot hold a connection.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// requestBudget bounds each request's calls to ZITADEL (with the SDK's
	// retries), so a hanging ZITADEL ends on the shop's friendly page
	// before writeTimeout cuts the connection.
	requestBudget = writeTimeout - 8*time.Second
)

func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(os.Stderr, "shop: ", log.LstdFlags),
	}
}
