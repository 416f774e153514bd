package shadow_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
)

// spanKey carries the path of operations a recordingTracer started.
type spanKey struct{}

// recordingTracer records each ended operation as "parent/child" paths,
// checking that End gets the ctx its Start returned.
type recordingTracer struct {
	t     *testing.T
	mu    sync.Mutex
	ended []string
	open  int
}

func (r *recordingTracer) Start(ctx context.Context, kind shadow.EventKind) context.Context {
	r.mu.Lock()
	r.open++
	r.mu.Unlock()
	path, _ := ctx.Value(spanKey{}).(string)
	if path != "" {
		path += "/"
	}
	return context.WithValue(ctx, spanKey{}, path+string(kind))
}

func (r *recordingTracer) End(ctx context.Context, e shadow.Event) {
	path, _ := ctx.Value(spanKey{}).(string)
	if !strings.HasSuffix(path, string(e.Kind)) {
		r.t.Errorf("End(%s) with the ctx of %q", e.Kind, path)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.open--
	r.ended = append(r.ended, path)
}

func TestTracerFollowsOperations(t *testing.T) {
	t.Parallel()
	tr := &recordingTracer{t: t}
	e := newEnv(t, shadow.WithTracer(tr))
	ctx := t.Context()
	g := e.provision(t)
	if _, err := e.mgr.Impersonate(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mgr.MergeInto(ctx, g.ID, e.addCustomer(t, "merge@shop.example")); err != nil {
		t.Fatal(err)
	}
	e.provision(t)
	e.clock.Advance(48 * time.Hour)
	if _, err := e.mgr.Sweep(ctx, shadow.SweepOptions{OlderThan: 24 * time.Hour, AllowLiveSessions: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"guest.provisioned", "guest.impersonated",
		"guest.merged/guest.deleted", "guest.merged",
		"guest.provisioned", "sweep.finished/guest.deleted", "sweep.finished",
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if diff := cmp.Diff(want, tr.ended); diff != "" {
		t.Errorf("ended operations (-want +got):\n%s", diff)
	}
	if tr.open != 0 {
		t.Errorf("%d operations started but not ended", tr.open)
	}
}
