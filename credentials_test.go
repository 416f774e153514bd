package shadow_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
)

// rsaPEM returns a fresh RSA key in PKCS#1 or PKCS#8 PEM.
func rsaPEM(t testing.TB, bits int, pkcs8 bool) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	if pkcs8 {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func keyFileJSON(t testing.TB, fields map[string]string) []byte {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeyFileParsing(t *testing.T) {
	t.Parallel()
	pkcs1, pkcs8 := rsaPEM(t, 2048, false), rsaPEM(t, 2048, true)
	good := map[string]string{"type": "serviceaccount", "keyId": "k1", "key": pkcs1, "userId": "u1",
		"expirationDate": "2099-01-01T00:00:00Z"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		if v == "<delete>" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for name, c := range map[string]struct {
		file    []byte
		wantErr string // empty: valid
	}{
		"PKCS1":           {keyFileJSON(t, good), ""},
		"PKCS8":           {keyFileJSON(t, with("key", pkcs8)), ""},
		"NoExpiration":    {keyFileJSON(t, with("expirationDate", "<delete>")), ""},
		"NotJSON":         {[]byte("{nope"), "not JSON"},
		"ApplicationKey":  {keyFileJSON(t, with("type", "application")), `field "type"`},
		"NoKeyID":         {keyFileJSON(t, with("keyId", "<delete>")), `field "keyId"`},
		"NoUserID":        {keyFileJSON(t, with("userId", "")), `field "userId"`},
		"BadDate":         {keyFileJSON(t, with("expirationDate", "tomorrow")), `field "expirationDate"`},
		"NoPEM":           {keyFileJSON(t, with("key", "MIIEvg...")), `field "key"`},
		"WrongPEMType":    {keyFileJSON(t, with("key", strings.ReplaceAll(pkcs1, "RSA PRIVATE KEY", "CERTIFICATE"))), `field "key"`},
		"CorruptKey":      {keyFileJSON(t, with("key", strings.Replace(pkcs1, "MII", "MIJ", 1))), `field "key"`},
		"TrailingGarbage": {keyFileJSON(t, with("key", pkcs1+"junk")), `field "key"`},
		"WeakKey":         {keyFileJSON(t, with("key", rsaPEM(t, 1024, false))), "at least 2048"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := shadow.KeyFile(c.file)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("KeyFile: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("KeyFile = %v, want an error mentioning %s", err, c.wantErr)
			}
		})
	}
}

func TestExpiredKeyFileFailsInNew(t *testing.T) {
	t.Parallel()
	cr, err := shadow.KeyFile(keyFileJSON(t, map[string]string{"type": "serviceaccount", "keyId": "k1",
		"key": rsaPEM(t, 2048, false), "userId": "u1", "expirationDate": "2020-01-01T00:00:00Z"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = shadow.New("https://id.example.com", shadow.WithOrganization("o"), shadow.WithClientID("c"),
		shadow.WithProjectID("p"), shadow.WithCredentials(cr), shadow.WithCartStore(memstore.New()),
		shadow.WithSessionKeys(testSessionKey(t)))
	if err == nil || !strings.Contains(err.Error(), `"expirationDate"`) {
		t.Fatalf("New with an expired key = %v", err)
	}
}

// FuzzKeyFile: any input gives a key file or an error, never a panic.
func FuzzKeyFile(f *testing.F) {
	f.Add(keyFileJSON(f, map[string]string{"type": "serviceaccount", "keyId": "k", "key": rsaPEM(f, 2048, false), "userId": "u"}))
	f.Add([]byte(`{"type":"serviceaccount","keyId":"k","userId":"u","key":"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"}`))
	f.Add([]byte(`{"type":"serviceaccount","keyId":"k","userId":"u","key":"-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := shadow.KeyFile(data); err != nil && !strings.HasPrefix(err.Error(), "shadow: key file") {
			t.Fatalf("error without the key file prefix: %v", err)
		}
	})
}
