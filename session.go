package shadow

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Session is what the session cookie carries, sealed by a [SessionCodec]:
// a guest's session (GuestID set) or, written by the app after its own
// login, a signed-in user's (UserID set), never both.
type Session struct {
	// GuestID is the ZITADEL user id of the guest. It comes only from the
	// SDK (Provision) and from a sealed cookie, never from request input.
	GuestID string
	// UserID is the ZITADEL user id ("sub") of a signed-in user, set by the
	// app when it reuses the sealed cookie for its own logins. The cookie
	// helpers neither renew nor impersonate such a session; GuestRequired
	// and EnsureGuest let it through without creating a guest.
	UserID string
	// Token is the guest's impersonation token. The cookie helpers ask
	// ZITADEL for an access token only: no ID token, which the cookie could
	// not afford (4096 bytes) and the app does not need.
	Token Token
	// Expiry is the absolute end of the session (WithSessionLifetime from
	// its start); the codec rejects the value after it. Activity does not
	// move it; the idle timeout (WithIdleTimeout) may end the session
	// earlier.
	Expiry time.Time
	// Seen is when the value was sealed: the session's last activity as
	// the cookie knows it, refreshed by the Middleware at most every
	// few minutes (see WithIdleTimeout). Decode sets it ("iat"); Encode
	// ignores it and seals the current time. Zero from codecs that do not
	// report it.
	Seen time.Time
}

// SignedIn reports whether s is a signed-in user's session (UserID set).
func (s Session) SignedIn() bool { return s.UserID != "" }

// Subject is the ZITADEL user id the session acts for: UserID when signed
// in, else GuestID.
func (s Session) Subject() string {
	if s.UserID != "" {
		return s.UserID
	}
	return s.GuestID
}

// SessionCodec seals a Session into a cookie value and opens it again.
//
// Encode binds the value to the cookie name: Decode under another name
// fails. Decode returns an error wrapping [ErrInvalidSession] for any value
// it did not produce or no longer accepts (tampered, forged, expired, unknown
// key, other name), and never panics. Implementations must be safe for
// concurrent use.
type SessionCodec interface {
	Encode(name string, s Session) (string, error)
	Decode(name, value string) (Session, error)
}

// MaxCookieBytes is the most a cookie's name and value may hold together
// (RFC 6265 §6.1's minimum every browser supports).
const MaxCookieBytes = 4096

// ErrSessionTooLarge is returned by Encode when the sealed value would not
// fit in a cookie of [MaxCookieBytes]; nothing is truncated.
var ErrSessionTooLarge = errors.New("shadow: session does not fit in a 4096-byte cookie")

// SessionKey is a 256-bit key for the default codec, with its key id.
type SessionKey struct {
	key []byte
	id  string
}

// NewSessionKey wraps a secret of exactly 32 random bytes (for example
// from crypto/rand, kept in your secret store).
func NewSessionKey(secret []byte) (SessionKey, error) {
	if len(secret) != 32 {
		return SessionKey{}, fmt.Errorf("shadow: session key must be 32 bytes, got %d", len(secret))
	}
	k := append([]byte(nil), secret...)
	sum := sha256.Sum256(k)
	return SessionKey{key: k, id: base64.RawURLEncoding.EncodeToString(sum[:6])}, nil
}

// minPassphraseLen is the shortest passphrase SessionKeyFromPassphrase takes.
const minPassphraseLen = 32

// SessionKeyFromPassphrase derives a key from a passphrase of at least 32
// bytes with HKDF-SHA256 (RFC 5869). HKDF does not slow down guessing: the
// passphrase must be a random secret (for example 32 random characters from
// a secret store), not a password a person chose.
func SessionKeyFromPassphrase(passphrase string) (SessionKey, error) {
	if len(passphrase) < minPassphraseLen {
		return SessionKey{}, fmt.Errorf("shadow: session passphrase must be at least %d bytes, got %d", minPassphraseLen, len(passphrase))
	}
	k, err := hkdf.Key(sha256.New, []byte(passphrase), []byte("shadow session codec v1"), "A256GCM", 32)
	if err != nil {
		return SessionKey{}, fmt.Errorf("shadow: derive session key: %w", err)
	}
	return NewSessionKey(k)
}

// JWECodec is the default [SessionCodec]: a JWE in compact serialization
// (RFC 7516) with "alg":"dir" and "enc":"A256GCM", whose header names the
// key by "kid" and whose plaintext is a JWT claims set: "aud" the cookie
// name, "sub" the guest id or "uid" a signed-in user's id, "iat" and "exp",
// and "tok" the token.
// Any JOSE library holding the key can open it.
//
// Values are sealed with the primary key and opened with the primary or any
// previous key, so keys rotate without logging guests out. It is safe for
// concurrent use.
type JWECodec struct {
	primary   SessionKey
	keys      map[string][]byte
	now       func() time.Time
	maxAge    time.Duration
	cacheSize int
	cache     *decodeCache
}

// CodecOption configures a JWECodec.
type CodecOption func(*JWECodec)

// WithCodecClock sets the clock used for "iat" and expiry checks (default time.Now).
func WithCodecClock(now func() time.Time) CodecOption { return func(c *JWECodec) { c.now = now } }

// WithMaxAge rejects values sealed longer ago than d, whatever their
// expiry says (default 0: the session's Expiry alone decides).
func WithMaxAge(d time.Duration) CodecOption { return func(c *JWECodec) { c.maxAge = d } }

// WithDecodeCache sets how many opened cookie values Decode remembers
// (default DefaultDecodeCache; 0 turns the cache off).
func WithDecodeCache(entries int) CodecOption { return func(c *JWECodec) { c.cacheSize = entries } }

// NewJWECodec returns a codec sealing with primary and opening with primary
// and any of previous.
func NewJWECodec(primary SessionKey, previous []SessionKey, opts ...CodecOption) (*JWECodec, error) {
	if len(primary.key) == 0 {
		return nil, errors.New("shadow: session codec needs a primary key")
	}
	c := &JWECodec{primary: primary, keys: map[string][]byte{primary.id: primary.key}, now: time.Now,
		cacheSize: DefaultDecodeCache}
	for _, k := range previous {
		if len(k.key) == 0 {
			return nil, errors.New("shadow: session codec got an empty previous key")
		}
		c.keys[k.id] = k.key
	}
	for _, o := range opts {
		o(c)
	}
	c.cache = newDecodeCache(c.cacheSize)
	return c, nil
}

// sessionClaims is the JWT claims set sealed in the JWE.
type sessionClaims struct {
	Audience string       `json:"aud"`
	Subject  string       `json:"sub,omitempty"`
	UserID   string       `json:"uid,omitempty"`
	IssuedAt int64        `json:"iat"`
	Expiry   int64        `json:"exp"`
	Token    sessionToken `json:"tok"`
}

type sessionToken struct {
	AccessToken     string `json:"at,omitempty"`
	IDToken         string `json:"idt,omitempty"`
	TokenType       string `json:"tt,omitempty"`
	IssuedTokenType string `json:"itt,omitempty"`
	Scope           string `json:"scp,omitempty"`
	Expiry          int64  `json:"exp,omitempty"`
}

// clockSkew is how far in the future an "iat" may lie (another replica's clock).
const clockSkew = time.Minute

// Encode seals s for the cookie called name. It fails unless exactly one
// of GuestID and UserID is set, for a zero or past Expiry, and with [ErrSessionTooLarge] when name
// and value exceed [MaxCookieBytes].
func (c *JWECodec) Encode(name string, s Session) (string, error) {
	now := c.now()
	switch {
	case (s.GuestID == "") == (s.UserID == ""):
		return "", errors.New("shadow: a session needs exactly one of GuestID and UserID")
	case !s.Expiry.After(now):
		return "", errors.New("shadow: session expiry must lie in the future")
	}
	claims := sessionClaims{Audience: name, Subject: s.GuestID, UserID: s.UserID, IssuedAt: now.Unix(), Expiry: s.Expiry.Unix(),
		Token: sessionToken{AccessToken: s.Token.AccessToken, IDToken: s.Token.IDToken, TokenType: s.Token.TokenType,
			IssuedTokenType: s.Token.IssuedTokenType, Scope: s.Token.Scope, Expiry: unixOrZero(s.Token.Expiry)}}
	plain, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("shadow: encode session: %w", err)
	}
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: c.primary.key, KeyID: c.primary.id},
		(&jose.EncrypterOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("shadow: session encrypter: %w", err)
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return "", fmt.Errorf("shadow: seal session: %w", err)
	}
	v, err := obj.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("shadow: serialize session: %w", err)
	}
	if len(name)+len(v) > MaxCookieBytes {
		return "", fmt.Errorf("%w: %d bytes", ErrSessionTooLarge, len(name)+len(v))
	}
	return v, nil
}

// Decode opens a value sealed by Encode for the same cookie name. Every
// failure wraps [ErrInvalidSession]. A value opened before is answered from
// a bounded cache keyed by the exact value (WithDecodeCache), so a guest's
// repeated requests skip the decryption; a changed byte is another key, and
// the name, expiry and max age are checked on every hit.
func (c *JWECodec) Decode(name, value string) (Session, error) {
	cl, ok := c.cache.get(value)
	if !ok {
		var err error
		if cl, err = c.open(value); err != nil {
			return Session{}, err
		}
		c.cache.put(value, cl)
	}
	if err := c.check(name, cl); err != nil {
		return Session{}, err
	}
	t := cl.Token
	return Session{
		GuestID: cl.Subject,
		UserID:  cl.UserID,
		Seen:    time.Unix(cl.IssuedAt, 0),
		Token: Token{AccessToken: t.AccessToken, IDToken: t.IDToken, TokenType: t.TokenType,
			IssuedTokenType: t.IssuedTokenType, Scope: t.Scope, Expiry: timeOrZero(t.Expiry)},
		Expiry: time.Unix(cl.Expiry, 0),
	}, nil
}

// open authenticates and decrypts value.
func (c *JWECodec) open(value string) (sessionClaims, error) {
	if len(value) == 0 || len(value) > MaxCookieBytes {
		return sessionClaims{}, fmt.Errorf("%w: bad length %d", ErrInvalidSession, len(value))
	}
	if !canonicalCompact(value) {
		return sessionClaims{}, fmt.Errorf("%w: malformed", ErrInvalidSession)
	}
	obj, err := jose.ParseEncryptedCompact(value, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return sessionClaims{}, fmt.Errorf("%w: malformed", ErrInvalidSession)
	}
	key, ok := c.keys[obj.Header.KeyID]
	if !ok {
		return sessionClaims{}, fmt.Errorf("%w: unknown key", ErrInvalidSession)
	}
	plain, err := obj.Decrypt(key)
	if err != nil {
		return sessionClaims{}, fmt.Errorf("%w: authentication failed", ErrInvalidSession)
	}
	cl, err := decodeClaims(plain)
	if err != nil {
		return sessionClaims{}, fmt.Errorf("%w: bad claims", ErrInvalidSession)
	}
	return cl, nil
}

// check applies the cookie name and the time rules to authentic claims.
func (c *JWECodec) check(name string, cl sessionClaims) error {
	now := c.now()
	switch {
	case cl.Audience != name:
		return fmt.Errorf("%w: sealed for another cookie", ErrInvalidSession)
	case (cl.Subject == "") == (cl.UserID == ""):
		return fmt.Errorf("%w: not exactly one of guest and user id", ErrInvalidSession)
	case !now.Before(time.Unix(cl.Expiry, 0)):
		return fmt.Errorf("%w: expired", ErrInvalidSession)
	case time.Unix(cl.IssuedAt, 0).After(now.Add(clockSkew)):
		return fmt.Errorf("%w: issued in the future", ErrInvalidSession)
	case c.maxAge > 0 && now.Sub(time.Unix(cl.IssuedAt, 0)) > c.maxAge:
		return fmt.Errorf("%w: older than max age", ErrInvalidSession)
	}
	return nil
}

// decodeCache maps cookie values this codec opened to their claims. It
// holds at most max entries, replacing the oldest; it is safe for
// concurrent use. A nil cache caches nothing.
type decodeCache struct {
	mu    sync.Mutex
	items map[string]sessionClaims
	ring  []string
	next  int
}

// DefaultDecodeCache is how many opened cookie values a JWECodec remembers.
const DefaultDecodeCache = 1024

func newDecodeCache(n int) *decodeCache {
	if n <= 0 {
		return nil
	}
	return &decodeCache{items: make(map[string]sessionClaims, n), ring: make([]string, 0, n)}
}

func (d *decodeCache) get(v string) (sessionClaims, bool) {
	if d == nil {
		return sessionClaims{}, false
	}
	d.mu.Lock()
	cl, ok := d.items[v]
	d.mu.Unlock()
	return cl, ok
}

func (d *decodeCache) put(v string, cl sessionClaims) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.items[v]; ok {
		return
	}
	if len(d.ring) < cap(d.ring) {
		d.ring = append(d.ring, v)
	} else {
		delete(d.items, d.ring[d.next])
		d.ring[d.next] = v
		d.next = (d.next + 1) % len(d.ring)
	}
	d.items[v] = cl
}

// canonicalCompact reports whether v is five base64url segments whose
// unused trailing bits are zero, as an encoder writes them. go-jose's
// decoder ignores those bits, so without this check a changed last
// character could decode to the same bytes and a modified cookie would
// still open. (go-jose rejects characters outside the alphabet itself.)
func canonicalCompact(v string) bool {
	if strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, '\r') >= 0 {
		return false // the decoder skips line breaks
	}
	n := 0
	for seg := range strings.SplitSeq(v, ".") {
		if n++; n > 5 {
			return false
		}
		if len(seg) == 0 {
			continue
		}
		i := strings.IndexByte(base64URLAlphabet, seg[len(seg)-1])
		switch len(seg) % 4 {
		case 1:
			return false
		case 2: // 4 unused bits
			if i < 0 || i&0x0f != 0 {
				return false
			}
		case 3: // 2 unused bits
			if i < 0 || i&0x03 != 0 {
				return false
			}
		}
	}
	return n == 5
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}
