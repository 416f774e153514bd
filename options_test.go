package shadow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
)

func TestNewReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := shadow.New("ftp://example.com",
		shadow.WithCredentials(shadow.PAT("  ")),
		shadow.WithGuestEmailDomain("not a domain"),
		shadow.WithCookieName("bad;name"),
		shadow.WithSessionLifetime(-1),
	)
	if err == nil {
		t.Fatal("New accepted an invalid configuration")
	}
	for _, want := range []string{"https", "WithOrganization", "PAT: empty token",
		"WithGuestEmailDomain", "WithCookieName", "WithSessionLifetime"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestNewAcceptsAMinimalConfiguration(t *testing.T) {
	t.Parallel()
	for _, issuer := range []string{"https://my-instance.zitadel.cloud", "https://id.example.com/", "http://localhost:8080", "http://127.0.0.1:9000"} {
		_, err := shadow.New(issuer,
			shadow.WithOrganization("org"), shadow.WithClientID("client"), shadow.WithCredentials(shadow.PAT("pat")),
			shadow.WithCartStore(memstore.New()), shadow.WithSessionKeys(testSessionKey(t)))
		if err != nil {
			t.Errorf("New(%q): %v", issuer, err)
		}
	}
	if _, err := shadow.New("http://example.com", shadow.WithOrganization("org"), shadow.WithClientID("client"),
		shadow.WithCredentials(shadow.PAT("pat")), shadow.WithCartStore(memstore.New()),
		shadow.WithSessionKeys(testSessionKey(t))); err == nil {
		t.Error("New accepted plain http for a non-local issuer")
	}
}

func TestSessionKeys(t *testing.T) {
	t.Parallel()
	if _, err := shadow.NewSessionKey(make([]byte, 31)); err == nil {
		t.Error("NewSessionKey accepted 31 bytes")
	}
	if _, err := shadow.SessionKeyFromPassphrase("short"); err == nil {
		t.Error("SessionKeyFromPassphrase accepted a short passphrase")
	}
	// The same passphrase derives the same key: a value sealed under one
	// derivation opens under another.
	a, err := shadow.SessionKeyFromPassphrase(strings.Repeat("p", 32))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := shadow.SessionKeyFromPassphrase(strings.Repeat("p", 32))
	other, _ := shadow.SessionKeyFromPassphrase(strings.Repeat("q", 32))
	ca, _ := shadow.NewJWECodec(a, nil)
	cb, _ := shadow.NewJWECodec(b, nil)
	co, _ := shadow.NewJWECodec(other, nil)
	v, err := ca.Encode("s", shadow.Session{GuestID: "g", Expiry: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cb.Decode("s", v); err != nil {
		t.Errorf("same passphrase, other derivation: %v", err)
	}
	if _, err := co.Decode("s", v); err == nil {
		t.Error("another passphrase opened the value")
	}
}
