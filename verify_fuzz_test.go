package shadow

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzJWTClaims feeds arbitrary payloads to the claims decoding of Verify:
// it never panics, and every NumericDate it accepts lies in the range whose
// time arithmetic cannot overflow.
func FuzzJWTClaims(f *testing.F) {
	for _, seed := range []string{
		`{"iss":"https://i","sub":"u","aud":"a","exp":1700000000,"iat":1699990000.5,"nbf":1699990000}`,
		`{"aud":["a","b"],"exp":1e300}`,
		`{"iat":9.3e18}`,
		`{"nbf":-1}`,
		`{"exp":"soon"}`,
		`{"act":{"sub":"svc","act":{"sub":"x"}},"urn:zitadel:iam:user:metadata":{"GUEST_CREATED_AT":"MjAyNg"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var c jwtClaims
		if json.Unmarshal(payload, &c) != nil {
			return
		}
		latest := time.Unix(maxNumericDate, 0).Add(time.Second)
		for _, d := range []*numericDate{c.Expiry, c.IssuedAt, c.NotBefore} {
			if d == nil {
				continue
			}
			tm := d.time()
			if tm.Before(time.Unix(0, 0)) || tm.After(latest) {
				t.Fatalf("accepted NumericDate %v as %v", float64(*d), tm)
			}
			_ = time.Now().Add(time.Minute).Before(tm) // the comparisons Verify makes
		}
	})
}
