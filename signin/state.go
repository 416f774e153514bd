package signin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// loginState is what a state cookie seals for one sign-in attempt.
type loginState struct {
	ID       string `json:"sid"`            // the "state" parameter
	Verifier string `json:"pkce"`           // PKCE code_verifier (RFC 7636)
	Nonce    string `json:"nonce"`          // the ID token's expected nonce
	GuestID  string `json:"guest,omitzero"` // the guest session's id at the start, from the sealed session only
	Browser  string `json:"ua"`             // the browser cookie's value at the start (see browserID)
	ReturnTo string `json:"ret,omitzero"`   // a local path
	Expiry   int64  `json:"exp"`            // Unix seconds
}

// pendingMerge is what the pending-merge cookie seals.
type pendingMerge struct {
	GuestID string `json:"guest"`
	UserID  string `json:"user"`
	Expiry  int64  `json:"exp"`
}

// maxStateBytes bounds a state cookie value; a longer one is refused
// before any parsing.
const maxStateBytes = 2048

// sealer seals values as compact JWEs (RFC 7516, "dir" + "A256GCM") with
// the first key and opens them with any key, named by "kid".
type sealer struct {
	ids  []string
	keys map[string][]byte
}

func newSealer(keys [][]byte) *sealer {
	s := &sealer{keys: map[string][]byte{}}
	for _, k := range keys {
		sum := sha256.Sum256(k)
		id := base64.RawURLEncoding.EncodeToString(sum[:6])
		s.ids = append(s.ids, id)
		s.keys[id] = k
	}
	return s
}

// sealJSON seals v with the primary key; purpose ("typ" header) keeps a
// state cookie from being accepted as a pending merge and back.
func (s *sealer) sealJSON(purpose string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: s.keys[s.ids[0]], KeyID: s.ids[0]},
		(&jose.EncrypterOptions{}).WithType(jose.ContentType(purpose)))
	if err != nil {
		return "", err
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// openJSON opens a value sealed by sealJSON for purpose into v. Every
// failure is ErrInvalidState.
func (s *sealer) openJSON(purpose, value string, v any) error {
	if len(value) == 0 || len(value) > maxStateBytes {
		return fmt.Errorf("%w: bad length %d", ErrInvalidState, len(value))
	}
	obj, err := jose.ParseEncryptedCompact(value, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return fmt.Errorf("%w: malformed", ErrInvalidState)
	}
	key, ok := s.keys[obj.Header.KeyID]
	if !ok {
		return fmt.Errorf("%w: unknown key", ErrInvalidState)
	}
	if typ, _ := obj.Header.ExtraHeaders[jose.HeaderType].(string); typ != purpose {
		return fmt.Errorf("%w: sealed for another purpose", ErrInvalidState)
	}
	plain, err := obj.Decrypt(key)
	if err != nil {
		return fmt.Errorf("%w: authentication failed", ErrInvalidState)
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("%w: bad content", ErrInvalidState)
	}
	return nil
}

const (
	purposeState = "shadow-signin-state"
	purposeMerge = "shadow-pending-merge"
)

// openState opens a state cookie value for the state id from the callback
// and checks its expiry.
func (f *Flow) openState(id, value string) (loginState, error) {
	var st loginState
	if err := f.seal.openJSON(purposeState, value, &st); err != nil {
		return loginState{}, err
	}
	switch {
	case st.ID != id || st.Verifier == "" || st.Nonce == "":
		return loginState{}, fmt.Errorf("%w: sealed for another state", ErrInvalidState)
	case !f.now().Before(time.Unix(st.Expiry, 0)):
		return loginState{}, ErrExpiredState
	}
	return st, nil
}

// randomString returns n random bytes, base64url without padding.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validStateID reports whether id can be a state this package made: 22
// base64url characters (16 random bytes). Anything else names no cookie.
func validStateID(id string) bool {
	if len(id) != 22 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// usedStates remembers used state ids until their expiry, at most max of
// them (the oldest forgotten first), so a replayed callback is refused
// even while the browser still sends the cookie. It is safe for concurrent
// use.
type usedStates struct {
	mu    sync.Mutex
	max   int
	items map[string]time.Time
	ring  []string
	next  int
}

func newUsedStates(max int) *usedStates {
	return &usedStates{max: max, items: make(map[string]time.Time), ring: make([]string, 0, min(max, 1024))}
}

// use records id as used until expiry; it reports false when id was
// already used.
func (u *usedStates) use(id string, now, expiry time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if exp, ok := u.items[id]; ok && now.Before(exp) {
		return false
	}
	if len(u.ring) < u.max {
		u.ring = append(u.ring, id)
	} else {
		delete(u.items, u.ring[u.next])
		u.ring[u.next] = id
		u.next = (u.next + 1) % len(u.ring)
	}
	u.items[id] = expiry
	return true
}

// len reports how many ids are remembered.
func (u *usedStates) len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.items)
}
