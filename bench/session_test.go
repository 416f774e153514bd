package bench

import (
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/gorilla/securecookie"

	"github.com/shadowaccounts/shadow"
)

// sessionFixture is a guest session carrying a 1 KB access token, sealed by
// shadow's codec.
func sessionFixture(b *testing.B) (shadow.Session, []byte) {
	b.Helper()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		b.Fatal(err)
	}
	s := shadow.Session{GuestID: "3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c",
		Token: shadow.Token{AccessToken: "eyJhbGciOiJSUzI1NiJ9." + strings.Repeat("x", 1000) + ".sig", TokenType: "Bearer",
			Expiry: time.Now().Add(12 * time.Hour)},
		Expiry: time.Now().Add(24 * time.Hour)}
	return s, secret
}

func codec(b *testing.B, secret []byte, opts ...shadow.CodecOption) *shadow.JWECodec {
	b.Helper()
	k, err := shadow.NewSessionKey(secret)
	if err != nil {
		b.Fatal(err)
	}
	c, err := shadow.NewJWECodec(k, nil, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkSessionDecode decodes the cookie of a session with a 1 KB token:
// cold (a cookie not seen before: shadow without its cache, against
// go-jose's bare parse and decrypt of the same JWE), warm (the same cookie
// again, as each request of a guest sends it), and gorilla/securecookie
// decoding the same payload.
func BenchmarkSessionDecode(b *testing.B) {
	s, secret := sessionFixture(b)
	cold := codec(b, secret, shadow.WithDecodeCache(0))
	value, err := cold.Encode("__Host-shadow", s)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("shadow-cold", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := cold.Decode("__Host-shadow", value); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-jose-parse-decrypt", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			obj, err := jose.ParseEncryptedCompact(value, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := obj.Decrypt(secret); err != nil {
				b.Fatal(err)
			}
		}
	})
	warm := codec(b, secret)
	b.Run("shadow-warm", func(b *testing.B) {
		if _, err := warm.Decode("__Host-shadow", value); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := warm.Decode("__Host-shadow", value); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("securecookie", func(b *testing.B) {
		sc := securecookie.New(secret, secret).SetSerializer(securecookie.JSONEncoder{})
		sc.MaxLength(8192)
		payload, _ := json.Marshal(s)
		var m map[string]any
		_ = json.Unmarshal(payload, &m)
		enc, err := sc.Encode("__Host-shadow", m)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			var out map[string]any
			if err := sc.Decode("__Host-shadow", enc, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
