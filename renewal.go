package shadow

import (
	"sync"
	"time"
)

// renewalMemory remembers, per guest, the outcome of its last token
// exchange by the cookie helpers, for the whole process: a token still
// outside the renewal window is handed to every later request that
// carries an older cookie of the guest (a replayed cookie whose token
// expired included), and a failed exchange is not retried for
// renewRetryAfter. Together with the singleflight that joins concurrent
// renewals, a guest costs at most one token exchange per renewal window
// however many requests carry its cookies. It is bounded and safe for
// concurrent use.
type renewalMemory struct {
	mu sync.Mutex
	m  map[string]renewal
}

type renewal struct {
	tok Token     // zero after a failure
	err error     // the failure, nil after a success
	at  time.Time // when the exchange ended
}

// renewRetryAfter is how long a failed renewal of a guest is not retried;
// requests meanwhile keep their still-valid token or get the failure.
const renewRetryAfter = 30 * time.Second

// get returns the last renewal of id when it still serves at now: a token
// that expires after now+window, or a failure younger than renewRetryAfter.
func (r *renewalMemory) get(id string, now time.Time, window time.Duration) (renewal, bool) {
	r.mu.Lock()
	e, ok := r.m[id]
	r.mu.Unlock()
	if !ok || !e.serves(now, window) {
		return renewal{}, false
	}
	return e, true
}

func (e renewal) serves(now time.Time, window time.Duration) bool {
	if e.err != nil {
		return now.Sub(e.at) < renewRetryAfter
	}
	return now.Add(window).Before(e.tok.Expiry)
}

func (r *renewalMemory) put(id string, e renewal, window time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]renewal{}
	}
	makeRoom(r.m, func(old renewal) bool { return !old.serves(e.at, window) })
	r.m[id] = e
}

// forget drops id's entry (its guest ended).
func (r *renewalMemory) forget(id string) {
	r.mu.Lock()
	delete(r.m, id)
	r.mu.Unlock()
}
