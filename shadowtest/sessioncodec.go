package shadowtest

import (
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
)

// CodecConfig is what a codec under test is built with.
type CodecConfig struct {
	// Keys are 32-byte secrets: Keys[0] seals, all of them open.
	Keys [][]byte
	// Now is the codec's clock.
	Now func() time.Time
}

// NewSessionCodec builds a codec for one subtest from cfg.
type NewSessionCodec func(t *testing.T, cfg CodecConfig) shadow.SessionCodec

// TestSessionCodec runs the SessionCodec contract against codecs made by
// newCodec: round trips, tamper detection (every single-byte change),
// binding to the cookie name, expiry under an injected clock, key rotation,
// garbage that must not panic, and the 4096-byte cookie budget with a
// realistic 1.5 KB JWT.
func TestSessionCodec(t *testing.T, newCodec NewSessionCodec) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, newCodec NewSessionCodec)
	}{
		{"RoundTrip", testCodecRoundTrip},
		{"EveryByteChangeRejected", testCodecTamper},
		{"BoundToCookieName", testCodecName},
		{"Expiry", testCodecExpiry},
		{"KeyRotation", testCodecRotation},
		{"WrongKeyRejected", testCodecWrongKey},
		{"GarbageNeverPanics", testCodecGarbage},
		{"RealisticSessionFitsCookie", testCodecSize},
		{"OversizeSessionRejected", testCodecOversize},
		{"ConcurrentUse", testCodecConcurrent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newCodec) })
	}
}

// clock is a settable clock for codecs under test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newClock() *clock { return &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)} }

func key(b byte) []byte { return []byte(strings.Repeat(string(rune('A'+b%26)), 32)) }

func sampleSession(now time.Time) shadow.Session {
	return shadow.Session{
		GuestID: "3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c",
		Token: shadow.Token{AccessToken: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJndWVzdCJ9.c2ln", TokenType: "Bearer",
			IssuedTokenType: "urn:ietf:params:oauth:token-type:jwt", Scope: "openid profile",
			Expiry: now.Add(12 * time.Hour).Truncate(time.Second)},
		Expiry: now.Add(30 * 24 * time.Hour).Truncate(time.Second),
	}
}

// sessionOpt compares sessions by instant, not by time.Location.
var sessionOpt = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

func encode(t *testing.T, c shadow.SessionCodec, name string, s shadow.Session) string {
	t.Helper()
	v, err := c.Encode(name, s)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return v
}

func wantInvalid(t *testing.T, c shadow.SessionCodec, name, value, what string) {
	t.Helper()
	s, err := c.Decode(name, value)
	if !errors.Is(err, shadow.ErrInvalidSession) {
		t.Errorf("Decode of %s = (%+v, %v), want ErrInvalidSession", what, s, err)
	}
}

func testCodecRoundTrip(t *testing.T, newCodec NewSessionCodec) {
	clk := newClock()
	c := newCodec(t, CodecConfig{Keys: [][]byte{key(1)}, Now: clk.Now})
	user := sampleSession(clk.Now())
	user.GuestID, user.UserID = "", "298374650912837465"
	for _, want := range []shadow.Session{sampleSession(clk.Now()), user} {
		got, err := c.Decode("sess", encode(t, c, "sess", want))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		// Seen is when the value was sealed, if the codec reports it.
		if !got.Seen.IsZero() && !got.Seen.Equal(clk.Now().Truncate(time.Second)) {
			t.Errorf("Seen = %v, want the sealing time %v or zero", got.Seen, clk.Now())
		}
		got.Seen = time.Time{}
		if diff := cmp.Diff(want, got, sessionOpt); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	both := sampleSession(clk.Now())
	both.UserID = "298374650912837465"
	if _, err := c.Encode("sess", both); err == nil {
		t.Error("Encode accepted a session with both a guest and a user id")
	}
}

func testCodecTamper(t *testing.T, newCodec NewSessionCodec) {
	clk := newClock()
	c := newCodec(t, CodecConfig{Keys: [][]byte{key(1)}, Now: clk.Now})
	v := encode(t, c, "sess", sampleSession(clk.Now()))
	if _, err := c.Decode("sess", v); err != nil { // a codec may cache the opened value
		t.Fatalf("Decode of the original: %v", err)
	}
	for i := range len(v) {
		for _, delta := range []byte{1, 0x20, 0x80} {
			b := []byte(v)
			b[i] ^= delta
			if string(b) == v {
				continue
			}
			if s, err := c.Decode("sess", string(b)); !errors.Is(err, shadow.ErrInvalidSession) {
				t.Fatalf("byte %d ^ %#x accepted: (%+v, %v)", i, delta, s, err)
			}
		}
	}
	wantInvalid(t, c, "sess", v[:len(v)-1], "a truncated value")
	wantInvalid(t, c, "sess", v+"A", "a value with a byte appended")
}

func testCodecName(t *testing.T, newCodec NewSessionCodec) {
	clk := newClock()
	c := newCodec(t, CodecConfig{Keys: [][]byte{key(1)}, Now: clk.Now})
	v := encode(t, c, "cart", sampleSession(clk.Now()))
	if _, err := c.Decode("cart", v); err != nil {
		t.Errorf("Decode under its own name: %v", err)
	}
	wantInvalid(t, c, "other", v, "a value sealed for another cookie name (after it was opened under its own)")
}

func testCodecExpiry(t *testing.T, newCodec NewSessionCodec) {
	clk := newClock()
	c := newCodec(t, CodecConfig{Keys: [][]byte{key(1)}, Now: clk.Now})
	s := sampleSession(clk.Now())
	s.Expiry = clk.Now().Add(time.Hour)
	v := encode(t, c, "sess", s)
	clk.advance(59 * time.Minute)
	if _, err := c.Decode("sess", v); err != nil {
		t.Fatalf("Decode before expiry: %v", err)
	}
	clk.advance(2 * time.Minute)
	wantInvalid(t, c, "sess", v, "an expired value")
	if _, err := c.Encode("sess", shadow.Session{GuestID: "g", Expiry: clk.Now().Add(-time.Second)}); err == nil {
		t.Error("Encode of a session that has already expired succeeded")
	}
}

func testCodecRotation(t *testing.T, newCodec NewSessionCodec) {
	clk := newClock()
	old := newCodec(t, CodecConfig{Keys: [][]byte{key(1)}, Now: clk.Now})
	rotated := newCodec(t, CodecConfig{Keys: [][]byte{key(2), key(1)}, Now: clk.Now})
	s := sampleSession(clk.Now())
	if _, err := rotated.Decode("sess", encode(t, old, "sess", s)); err != nil {
		t.Errorf("a value sealed with the previous key: %v", err)
	}
	fresh := encode(t, rotated, "sess", s)
	wantInvalid(t, old, "sess", fresh, "a new value under a codec without the new primary key")
	onlyNew := newCodec(t, CodecConfig{Keys: [][]byte{key(2)}, Now: clk.Now})
	if _, err := onlyNew.Decode("sess", fresh); err != nil {
		t.Errorf("a new value sealed with the primary key: %v", err)
	}
}

func testCodecWrongKey(t *testing.T, newCodec NewSessionCodec) {
	clk := newClock()
	a := newCodec(t, CodecConfig{Keys: [][]byte{key(1)}, Now: clk.Now})
	b := newCodec(t, CodecConfig{Keys: [][]byte{key(3)}, Now: clk.Now})
	wantInvalid(t, b, "sess", encode(t, a, "sess", sampleSession(clk.Now())), "a value sealed with another key")
}

func testCodecGarbage(t *testing.T, newCodec NewSessionCodec) {
	clk := newClock()
	c := newCodec(t, CodecConfig{Keys: [][]byte{key(1)}, Now: clk.Now})
	inputs := []string{"", ".", "....", "a.b.c.d.e", "eyJhbGciOiJub25lIn0..", strings.Repeat("A", 5000),
		"eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0....", `{"json":true}`, "\x00\xff\xfe", "%zz"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		wantInvalid(t, c, "sess", in, "garbage")
	}
}

// testCodecSize seals a session with a realistic 1.5 KB access token.
func testCodecSize(t *testing.T, newCodec NewSessionCodec) {
	clk := newClock()
	c := newCodec(t, CodecConfig{Keys: [][]byte{key(1)}, Now: clk.Now})
	s := sampleSession(clk.Now())
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	jwt := make([]byte, 1536)
	for i := range jwt {
		jwt[i] = alphabet[r.IntN(len(alphabet))]
	}
	jwt[36], jwt[1190] = '.', '.'
	s.Token.AccessToken = string(jwt)
	v := encode(t, c, "__Host-shadow", s)
	if n := len("__Host-shadow") + len(v); n >= shadow.MaxCookieBytes {
		t.Errorf("cookie with a 1.5 KB JWT is %d bytes, want under %d", n, shadow.MaxCookieBytes)
	}
}

// testCodecOversize wants an error, not a truncated cookie, when the
// sealed session cannot fit.
func testCodecOversize(t *testing.T, newCodec NewSessionCodec) {
	clk := newClock()
	c := newCodec(t, CodecConfig{Keys: [][]byte{key(1)}, Now: clk.Now})
	s := sampleSession(clk.Now())
	s.Token.AccessToken = strings.Repeat("x", shadow.MaxCookieBytes)
	if v, err := c.Encode("sess", s); err == nil {
		t.Errorf("Encode of a %d-byte token gave a %d-byte value, want an error", len(s.Token.AccessToken), len(v))
	}
}

func testCodecConcurrent(t *testing.T, newCodec NewSessionCodec) {
	clk := newClock()
	c := newCodec(t, CodecConfig{Keys: [][]byte{key(1), key(2)}, Now: clk.Now})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := sampleSession(clk.Now())
			s.GuestID = strings.Repeat("g", i+1)
			for range 20 {
				v, err := c.Encode("sess", s)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := c.Decode("sess", v)
				if err != nil || got.GuestID != s.GuestID {
					t.Errorf("concurrent round trip: %+v, %v", got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
