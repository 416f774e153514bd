package signin

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func testFlow(t testing.TB, now func() time.Time) *Flow {
	t.Helper()
	f, err := newFlow(Config{Issuer: "https://zitadel.example", ClientID: "c", RedirectURL: "https://app.example/callback",
		Secrets: [][]byte{bytes.Repeat([]byte{1}, 32)}, Clock: now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// FuzzOpenState: any cookie value, under any state id, is a state this
// Flow sealed or an error matching ErrBadCallback; never a panic.
func FuzzOpenState(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	fl := testFlow(f, func() time.Time { return now })
	st := loginState{ID: strings.Repeat("A", 22), Verifier: "v", Nonce: "n", GuestID: "g", Expiry: now.Add(time.Minute).Unix()}
	sealed, err := fl.seal.sealJSON(purposeState, st)
	if err != nil {
		f.Fatal(err)
	}
	merge, _ := fl.seal.sealJSON(purposeMerge, pendingMerge{GuestID: "g", UserID: "u", Expiry: now.Add(time.Minute).Unix()})
	f.Add(st.ID, sealed)
	f.Add(st.ID, merge)
	f.Add(st.ID, sealed[:len(sealed)-1])
	f.Add("x", "a.b.c.d.e")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, id, value string) {
		got, err := fl.openState(id, value)
		switch {
		case err == nil && (got.ID != id || got.Verifier == "" || got.Nonce == ""):
			t.Fatalf("openState accepted %+v for id %q", got, id)
		case err == nil && got != st:
			t.Fatalf("openState accepted %+v, which was never sealed", got)
		case err != nil && !errors.Is(err, ErrBadCallback):
			t.Fatalf("error %v does not match ErrBadCallback", err)
		}
	})
}

func TestStateSealedForOnePurpose(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	fl := testFlow(t, func() time.Time { return now })
	merge, err := fl.seal.sealJSON(purposeMerge, loginState{ID: strings.Repeat("A", 22), Verifier: "v", Nonce: "n", Expiry: now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fl.openState(strings.Repeat("A", 22), merge); !errors.Is(err, ErrInvalidState) {
		t.Errorf("a pending-merge value opened as state: %v", err)
	}
	rotated, err := newFlow(Config{Issuer: "https://zitadel.example", ClientID: "c", RedirectURL: "https://app.example/callback",
		Secrets: [][]byte{bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{1}, 32)}, Clock: func() time.Time { return now }}) // new primary, old kept
	if err != nil {
		t.Fatal(err)
	}
	st := loginState{ID: strings.Repeat("B", 22), Verifier: "v", Nonce: "n", Expiry: now.Add(time.Hour).Unix()}
	old, _ := fl.seal.sealJSON(purposeState, st)
	if _, err := rotated.openState(st.ID, old); err != nil {
		t.Errorf("state sealed before a key rotation: %v", err)
	}
}

func TestUsedStatesBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	u := newUsedStates(3)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if !u.use(id, now, now.Add(time.Hour)) {
			t.Errorf("fresh %s refused", id)
		}
	}
	if n := u.len(); n != 3 {
		t.Errorf("%d remembered, want 3", n)
	}
	if u.use("e", now, now.Add(time.Hour)) {
		t.Error("replay of e accepted")
	}
	if !u.use("a", now, now.Add(time.Hour)) {
		t.Error("a, forgotten as the oldest, refused")
	}
}
