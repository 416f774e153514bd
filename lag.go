package shadow

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// lagMonitor remembers when ZITADEL's projection last lagged behind a
// CreateUser (a fresh guest's exchange refused), on the monotonic clock
// of the process. It is safe for concurrent use.
type lagMonitor struct {
	last atomic.Int64 // nanoseconds since lagEpoch; 0: never
}

// lagEpoch anchors lagMonitor's monotonic readings.
var lagEpoch = time.Now()

func (l *lagMonitor) saw() { l.last.Store(int64(time.Since(lagEpoch)) | 1) }

// recent reports whether the projection lagged within lagMemory.
func (l *lagMonitor) recent() bool {
	last := l.last.Load()
	return last != 0 && time.Since(lagEpoch)-time.Duration(last) < lagMemory
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
