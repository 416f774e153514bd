package shadow

import (
	"context"
	"sync"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// lagMonitor remembers when ZITADEL's projection last lagged behind a
// CreateUser (a fresh guest's exchange refused), on the process's
// monotonic clock: it measures ZITADEL, not the Manager's WithClock time.
// It is safe for concurrent use.
type lagMonitor struct {
	mu   sync.Mutex
	last time.Time // zero: never
}

func (l *lagMonitor) saw() {
	l.mu.Lock()
	l.last = time.Now()
	l.mu.Unlock()
}

// recent reports whether the projection lagged within lagMemory.
func (l *lagMonitor) recent() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.last.IsZero() && time.Since(l.last) < lagMemory
}

// readUser sends GetUserByID for a guest just provisioned, which brings
// ZITADEL's user projection up to date (docs/zitadel.md §6.7), and
// delivers its error on the returned channel. The request ends with ctx.
func (m *Manager) readUser(ctx context.Context, guestID string) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- m.call(zitadel.Idempotent(ctx), zitadel.MethodGetUserByID,
			zitadel.UserIDRequest{UserID: guestID}, &zitadel.GetUserByIDResponse{})
	}()
	return done
}
