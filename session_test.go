package shadow_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/shadowtest"
)

func newTestCodec(t *testing.T, cfg shadowtest.CodecConfig) shadow.SessionCodec {
	t.Helper()
	var keys []shadow.SessionKey
	for _, k := range cfg.Keys {
		sk, err := shadow.NewSessionKey(k)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, sk)
	}
	c, err := shadow.NewJWECodec(keys[0], keys[1:], shadow.WithCodecClock(cfg.Now))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestJWECodecConformance(t *testing.T) {
	t.Parallel()
	shadowtest.TestSessionCodec(t, newTestCodec)
}

// FuzzJWECodecDecode feeds arbitrary cookie values to Decode: it must never
// panic, and anything it accepts must be a value sealed here (the harness
// may run this setup once per worker, so the exact string can differ).
func FuzzJWECodecDecode(f *testing.F) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	k, err := shadow.NewSessionKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	c, err := shadow.NewJWECodec(k, nil, shadow.WithCodecClock(clock))
	if err != nil {
		f.Fatal(err)
	}
	valid, err := c.Encode("sess", shadow.Session{GuestID: "g1", Token: shadow.Token{AccessToken: "a.b.c"}, Expiry: now.Add(time.Hour)})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{valid, valid[:len(valid)/2], "", "....", "a.b.c.d.e", strings.Repeat(".", 4096),
		"eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0....", "eyJhbGciOiJub25lIn0.e30."} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		s, err := c.Decode("sess", v)
		if err != nil {
			if !errors.Is(err, shadow.ErrInvalidSession) {
				t.Fatalf("Decode error %v does not wrap ErrInvalidSession", err)
			}
			return
		}
		if s.GuestID != "g1" || s.Token.AccessToken != "a.b.c" {
			t.Fatalf("Decode accepted a value it did not seal: %q -> %+v", v, s)
		}
	})
}
