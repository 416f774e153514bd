package shadow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// TestOnlyIdempotentRequestsAreRetried checks invariant 5: UpdateUser is
// sent once whatever happens, reads and deletes are retried.
func TestOnlyIdempotentRequestsAreRetried(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]zitadeltest.Fault{
		"503":             zitadeltest.Unavailable(),
		"429":             zitadeltest.RateLimited(0),
		"DropConnection":  zitadeltest.DropConnection(),
		"DropAfterCommit": zitadeltest.DropAfterCommit(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			g := e.provision(t)
			e.fake.FailNext(zitadeltest.OpUpdateUser, f)
			if _, err := e.mgr.Upgrade(t.Context(), g.ID, goodProfile); err == nil {
				t.Fatal("Upgrade succeeded through a failed UpdateUser")
			}
			if n := e.fake.Count(zitadeltest.OpUpdateUser); n != 1 {
				t.Errorf("UpdateUser sent %d times, want exactly 1", n)
			}
		})
	}
	t.Run("ReadsAndDeletesRetried", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		g := e.provision(t)
		user := e.addCustomer(t, "u@example.com")
		e.fake.FailNext(zitadeltest.OpListUserMetadata, zitadeltest.Unavailable())
		e.fake.FailNext(zitadeltest.OpDeleteUser, zitadeltest.DropConnection())
		e.fake.FailNext(zitadeltest.OpDeleteUser, zitadeltest.RateLimited(time.Millisecond))
		if _, err := e.mgr.MergeInto(t.Context(), g.ID, user); err != nil {
			t.Fatalf("MergeInto through transient faults: %v", err)
		}
		if a, b := e.fake.Count(zitadeltest.OpListUserMetadata), e.fake.Count(zitadeltest.OpDeleteUser); a != 3 || b != 3 {
			// The guest's and the target's metadata: 2, one of them retried.
			t.Errorf("ListUserMetadata sent %d times (want 3), DeleteUser %d (want 3)", a, b)
		}
	})
	t.Run("TokenExchangeRetried", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		g := e.provision(t)
		e.fake.FailNext(zitadeltest.OpTokenExchange, zitadeltest.Unavailable())
		if _, err := e.mgr.Impersonate(t.Context(), g.ID); err != nil {
			t.Fatalf("Impersonate after one 503: %v", err)
		}
	})
	t.Run("ServerErrorsAreNotRetried", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.fake.FailNext(zitadeltest.OpCreateUser, zitadeltest.APIError(zitadeltest.CodeInternal, "COMMAND-x", "Internal"))
		_, err := e.mgr.Provision(t.Context())
		var ae *shadow.APIError
		if !errors.As(err, &ae) || ae.HTTPStatus != 500 || ae.ID != "COMMAND-x" {
			t.Fatalf("Provision = %v, want the 500", err)
		}
		if n := e.fake.Count(zitadeltest.OpCreateUser); n != 1 {
			t.Errorf("CreateUser sent %d times after a 500, want 1", n)
		}
	})
}

// TestCancellationStopsBackoff: a ctx that ends while the SDK waits for a
// Retry-After ends the wait at once.
func TestCancellationStopsBackoff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithRetry(shadow.RetryOptions{MaxAttempts: 5, MinWait: time.Millisecond, MaxWait: time.Minute}))
	e.fake.SetFault(zitadeltest.OpCreateUser, zitadeltest.RateLimited(30*time.Second))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := e.mgr.Provision(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Provision = %v, want the ctx deadline", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Provision waited %v for a 30 s Retry-After after its ctx ended", d)
	}
	if n := e.fake.Count(zitadeltest.OpCreateUser); n != 1 {
		t.Errorf("CreateUser sent %d times, want 1", n)
	}
}

// TestRetryAfterHonoured: the retry waits the Retry-After of a 429.
func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, shadow.WithRetry(shadow.RetryOptions{MinWait: time.Millisecond, MaxWait: 5 * time.Second}))
	e.fake.FailNext(zitadeltest.OpCreateUser, zitadeltest.RateLimited(time.Second))
	start := time.Now()
	if _, err := e.mgr.Provision(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %v, before the 1 s Retry-After", d)
	}
}
