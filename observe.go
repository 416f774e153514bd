package shadow

import (
	"context"
	"log/slog"
	"time"
)

// EventKind names a lifecycle event.
type EventKind string

// Lifecycle events.
const (
	EventProvisioned  EventKind = "guest.provisioned"  // Provision ended
	EventImpersonated EventKind = "guest.impersonated" // Impersonate ended (a first token)
	EventRenewed      EventKind = "guest.renewed"      // a guest token was renewed by the middleware
	EventUpgraded     EventKind = "guest.upgraded"     // Upgrade ended
	EventMerged       EventKind = "guest.merged"       // MergeInto ended
	EventDeleted      EventKind = "guest.deleted"      // a guest was deleted (by MergeInto or Sweep)
	EventSweepDone    EventKind = "sweep.finished"     // Sweep ended; Sweep holds the report
)

// Event is one lifecycle event, delivered to the Observer after the
// operation ended, successfully or not.
type Event struct {
	Kind     EventKind
	GuestID  string        // the guest concerned, when there is one
	UserID   string        // the surviving account: merged into (EventMerged), the same id (EventUpgraded)
	Duration time.Duration // wall time of the operation
	Err      error         // nil on success
	Sweep    *SweepReport  // EventSweepDone only
}

// Observer receives lifecycle events, for metrics or traces. It is called
// synchronously on the goroutine that did the work, so it must be quick and
// safe for concurrent use; it must not call the Manager.
type Observer func(Event)

// WithObserver delivers lifecycle events to o (default: none).
func WithObserver(o Observer) Option { return func(c *config) { c.observer = o } }

// Tracer follows each lifecycle operation while it runs, for tracing
// (package otelshadow implements it with OpenTelemetry). Start is called
// when an operation of kind begins, with the caller's ctx, and returns the
// ctx the operation runs with: the SDK sends its ZITADEL requests for the
// operation with that ctx, so a span Start put in it parents them. End is
// called once per Start, with the ctx Start returned and the operation's
// Event, before the Observer sees it; a deletion within MergeInto or Sweep
// is an operation of its own, started in theirs. Both are called
// synchronously on the goroutine that does the work: they must be quick,
// safe for concurrent use, and must not call the Manager.
type Tracer interface {
	Start(ctx context.Context, kind EventKind) context.Context
	End(ctx context.Context, e Event)
}

// WithTracer makes t follow every lifecycle operation (default: none).
func WithTracer(t Tracer) Option { return func(c *config) { c.tracer = t } }

// begin starts an operation for the Tracer; emit (or endTrace) ends it.
func (m *Manager) begin(ctx context.Context, kind EventKind) context.Context {
	if t := m.cfg.tracer; t != nil {
		return t.Start(ctx, kind)
	}
	return ctx
}

// endTrace ends the operation begun in ctx, without logging or observing e.
func (m *Manager) endTrace(ctx context.Context, e Event) {
	if t := m.cfg.tracer; t != nil {
		t.End(ctx, e)
	}
}

// WithLogger logs lifecycle events to l (default: silent): successes at
// Debug, failures at Warn, with the guest, the duration and the error. The
// SDK logs nothing else, and never a token or a password.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// silentLogger is the default logger.
var silentLogger = slog.New(slog.DiscardHandler)

func (m *Manager) log() *slog.Logger {
	if m.cfg.logger == nil {
		return silentLogger
	}
	return m.cfg.logger
}

// emit ends the operation begun in ctx, records the guests whose events
// say they ended (tombstones), logs e with ctx (so log handlers can
// correlate it with the trace) and hands it to the observer.
func (m *Manager) emit(ctx context.Context, e Event) {
	m.endTrace(ctx, e)
	m.buryOnEvent(e)
	if l := m.cfg.logger; l != nil {
		level, msg := slog.LevelDebug, "shadow: "+string(e.Kind)
		attrs := []slog.Attr{slog.Duration("duration", e.Duration)}
		if e.GuestID != "" {
			attrs = append(attrs, slog.String("guest", e.GuestID))
		}
		if e.UserID != "" {
			attrs = append(attrs, slog.String("user", e.UserID))
		}
		if e.Err != nil {
			level = slog.LevelWarn
			attrs = append(attrs, slog.Any("err", e.Err))
		}
		l.LogAttrs(ctx, level, msg, attrs...)
	}
	if m.cfg.observer != nil {
		m.cfg.observer(e)
	}
}
