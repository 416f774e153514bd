package shadow

import (
	"encoding/json"
	"strconv"
)

// decodeClaims reads the plaintext of a session JWE. The plaintext is
// authentic (AES-GCM checked it) and was written by Encode, so a small
// scanner for the shape Encode writes handles it; anything else (escaped
// strings, unknown members, another writer's layout) goes to encoding/json.
// The scanner exists because encoding/json's two passes over a 1 KB token
// cost more than the decryption itself.
func decodeClaims(b []byte) (sessionClaims, error) {
	var cl sessionClaims
	if s := (claimScanner{b: b}); s.claims(&cl) && s.i == len(b) {
		return cl, nil
	}
	cl = sessionClaims{}
	err := json.Unmarshal(b, &cl)
	return cl, err
}

// claimScanner scans the compact JSON Encode writes; every method reports
// false on anything unexpected.
type claimScanner struct {
	b []byte
	i int
}

func (s *claimScanner) byte(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string without escapes.
func (s *claimScanner) str() (string, bool) {
	if !s.byte('"') {
		return "", false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			v := string(s.b[start:s.i])
			s.i++
			return v, true
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

func (s *claimScanner) int() (int64, bool) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	return n, err == nil
}

// object scans {"key":value,...}, calling member for each key.
func (s *claimScanner) object(member func(key string) bool) bool {
	if !s.byte('{') {
		return false
	}
	if s.byte('}') {
		return true
	}
	for {
		k, ok := s.str()
		if !ok || !s.byte(':') || !member(k) {
			return false
		}
		if s.byte('}') {
			return true
		}
		if !s.byte(',') {
			return false
		}
	}
}

func (s *claimScanner) claims(cl *sessionClaims) bool {
	return s.object(func(k string) bool {
		var ok bool
		switch k {
		case "aud":
			cl.Audience, ok = s.str()
		case "sub":
			cl.Subject, ok = s.str()
		case "uid":
			cl.UserID, ok = s.str()
		case "iat":
			cl.IssuedAt, ok = s.int()
		case "exp":
			cl.Expiry, ok = s.int()
		case "tok":
			ok = s.token(&cl.Token)
		}
		return ok
	})
}

func (s *claimScanner) token(t *sessionToken) bool {
	return s.object(func(k string) bool {
		var ok bool
		switch k {
		case "at":
			t.AccessToken, ok = s.str()
		case "idt":
			t.IDToken, ok = s.str()
		case "tt":
			t.TokenType, ok = s.str()
		case "itt":
			t.IssuedTokenType, ok = s.str()
		case "scp":
			t.Scope, ok = s.str()
		case "exp":
			t.Expiry, ok = s.int()
		}
		return ok
	})
}
