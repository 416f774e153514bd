package shadow_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
)

func TestObserverSeesTheLifecycle(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var kinds []shadow.EventKind
	var failed []shadow.EventKind
	var logs bytes.Buffer
	e := newEnv(t, shadow.WithObserver(func(ev shadow.Event) {
		mu.Lock()
		defer mu.Unlock()
		kinds = append(kinds, ev.Kind)
		if ev.Err != nil {
			failed = append(failed, ev.Kind)
		}
		if ev.Duration < 0 || ev.Kind == shadow.EventSweepDone && ev.Sweep == nil {
			t.Errorf("bad event %+v", ev)
		}
	}), shadow.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))

	rec := newRecorder()
	s, err := e.mgr.EnsureGuest(rec, newRequest(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(12 * time.Hour)
	e.mgr.Middleware(http.NotFoundHandler()).ServeHTTP(newRecorder(), newRequest(t, []*http.Cookie{sessionCookie(t, rec)}))
	user := e.addCustomer(t, "buyer@example.com")
	if _, err := e.mgr.MergeInto(t.Context(), s.GuestID, user); err != nil {
		t.Fatal(err)
	}
	g := e.provision(t)
	if _, err := e.mgr.Upgrade(t.Context(), g.ID, shadow.Profile{GivenName: "A", FamilyName: "B", Email: "x@example.com", Password: "weak"}); err == nil {
		t.Fatal("weak password accepted")
	}
	if _, err := e.mgr.Sweep(t.Context(), shadow.SweepOptions{AllowLiveSessions: true, OlderThan: time.Hour, RequestsPerSecond: -1}); err != nil {
		t.Fatal(err)
	}
	want := []shadow.EventKind{shadow.EventProvisioned, shadow.EventImpersonated, shadow.EventRenewed,
		shadow.EventDeleted, shadow.EventMerged, shadow.EventProvisioned, shadow.EventUpgraded, shadow.EventSweepDone}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]shadow.EventKind{shadow.EventUpgraded}, failed); diff != "" {
		t.Errorf("failed events (-want +got):\n%s", diff)
	}
	out := logs.String()
	if !strings.Contains(out, "level=WARN msg=\"shadow: guest.upgraded\"") || !strings.Contains(out, "level=DEBUG msg=\"shadow: guest.provisioned\"") {
		t.Errorf("logs:\n%s", out)
	}
}
