package shadow

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keySet is the issuer's JWKS, cached. Lookups take a read lock; an unknown
// key id starts at most one fetch at a time, shared by every waiter.
type keySet struct {
	url      string
	client   *http.Client
	interval time.Duration // least time between two fetches

	mu        sync.RWMutex
	byID      map[string][]jose.JSONWebKey
	all       []jose.JSONWebKey
	lastFetch time.Time
	lastErr   error // of the last fetch; repeated while fetches are throttled
	inflight  *keyFetch
}

// keyFetch is one JWKS request in flight; done closes when it ends.
type keyFetch struct {
	done chan struct{}
	err  error
}

// fetchTimeout bounds one JWKS request, whoever waits for it.
const fetchTimeout = 30 * time.Second

func newKeySet(url string, client *http.Client, interval time.Duration) *keySet {
	return &keySet{url: url, client: client, interval: interval}
}

// verify checks the signature of jws with the cached keys, fetching the
// JWKS once when no cached key matches its key id.
func (k *keySet) verify(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	kid := jws.Signatures[0].Header.KeyID
	if payload, found, err := k.tryCached(jws, kid); found {
		return payload, err
	}
	if err := k.refresh(ctx); err != nil {
		return nil, err
	}
	payload, found, err := k.tryCached(jws, kid)
	if !found {
		return nil, fmt.Errorf("%w: no signing key %q at %s", ErrInvalidToken, kid, k.url)
	}
	return payload, err
}

// tryCached verifies with the cached keys for kid. A token that names no
// key (RFC 7515 §4.1.4 makes "kid" optional) is tried against the only
// key, and refused when the set holds more than one: trying each would let
// one token cost a signature check per key. found is false when no cached
// key is a candidate.
func (k *keySet) tryCached(jws *jose.JSONWebSignature, kid string) (payload []byte, found bool, err error) {
	k.mu.RLock()
	candidates := k.byID[kid]
	if kid == "" {
		candidates = k.all
	}
	k.mu.RUnlock()
	if kid == "" && len(candidates) > 1 {
		return nil, true, fmt.Errorf("%w: no \"kid\" in the header and %d signing keys", ErrInvalidToken, len(candidates))
	}
	for i := range candidates {
		found = true
		if p, err := jws.Verify(&candidates[i]); err == nil {
			return p, true, nil
		}
	}
	if found {
		return nil, true, fmt.Errorf("%w: bad signature", ErrInvalidToken)
	}
	return nil, false, nil
}

// refresh fetches the JWKS unless another fetch is running (then it waits
// for that one) or the last one ended less than the interval ago (then it
// returns that one's error). A failed fetch keeps the last good keys.
func (k *keySet) refresh(ctx context.Context) error {
	k.mu.Lock()
	f := k.inflight
	if f == nil {
		if !k.lastFetch.IsZero() && time.Since(k.lastFetch) < k.interval {
			err := k.lastErr
			k.mu.Unlock()
			return err
		}
		f = &keyFetch{done: make(chan struct{})}
		k.inflight = f
		go k.fetch(f)
	}
	k.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetch runs one JWKS request on its own timeout, so a caller giving up
// does not fail the others.
func (k *keySet) fetch(f *keyFetch) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	keys, err := k.get(ctx)
	k.mu.Lock()
	if err == nil {
		k.all = keys
		k.byID = make(map[string][]jose.JSONWebKey, len(keys))
		for _, key := range keys {
			k.byID[key.KeyID] = append(k.byID[key.KeyID], key)
		}
	}
	k.lastFetch = time.Now()
	k.lastErr = err
	k.inflight = nil
	f.err = err
	k.mu.Unlock()
	close(f.done)
}

// get downloads and parses the JWKS, keeping signature keys only.
func (k *keySet) get(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered HTTP %d", ErrKeysUnavailable, k.url, resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKeysUnavailable, k.url, err)
	}
	keys := set.Keys[:0]
	for _, key := range set.Keys {
		if (key.Use == "" || key.Use == "sig") && key.IsPublic() && key.Valid() {
			keys = append(keys, key)
		}
	}
	return keys, nil
}
