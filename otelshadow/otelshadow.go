// Package otelshadow instruments package shadow with OpenTelemetry: a span
// and a duration measurement for each lifecycle operation (Provision,
// Impersonate, the middleware's renewals, Upgrade, MergeInto, Sweep and each
// guest deletion), a client span and the HTTP client metrics for each
// request to ZITADEL, and a server middleware for the app's public
// endpoints.
//
// Wire it into a Manager with two options:
//
//	tel, err := otelshadow.New() // the global TracerProvider and MeterProvider
//	...
//	m, err := shadow.New(issuer,
//		shadow.WithTracer(tel),
//		shadow.WithHTTPClient(&http.Client{Transport: tel.Transport(nil), Timeout: 30 * time.Second}),
//		...)
//
// The instrumentation scope is this module's path, [ScopeName]. It lives in
// its own module so that the core module does not depend on OpenTelemetry.
//
// # What is recorded
//
// Operation spans are named "shadow.Provision", "shadow.Impersonate",
// "shadow.Renew", "shadow.Upgrade", "shadow.MergeInto",
// "shadow.DeleteGuest" and "shadow.Sweep". They carry "shadow.operation"
// (the [shadow.EventKind]), the guest's id as "enduser.pseudo.id" (a guest
// is a pseudonymous end user: OpenTelemetry's semantic conventions), the
// counts of a sweep, and on failure the status Error and "error.type". Each
// ZITADEL request made for an operation is a client span under it, named
// "ZITADEL <method>" (e.g. "ZITADEL CreateUser", "ZITADEL token"), with
// otelhttp's HTTP attributes; a retried request gives one span per attempt.
//
// No personal data goes into an attribute: no e-mail address, name,
// password or token, and no error message (ZITADEL's may quote input);
// errors are recorded by their type only ("not_guest",
// "zitadel.permission_denied", ...). The account a guest is merged into is
// not recorded either. Request bodies and headers are never recorded.
//
// Metrics: "shadow.operation.duration" (histogram, seconds; attributes
// "shadow.operation" and, on failure, "error.type"),
// "shadow.sweep.guests" (counter of users a sweep deleted, skipped or
// failed to delete; attribute "shadow.sweep.outcome"), and otelhttp's
// "http.client.request.duration" for the requests to ZITADEL.
//
// # Public endpoints
//
// A visitor's browser can send any traceparent header. [Telemetry.Middleware]
// therefore treats every request as coming from a public endpoint: its
// server span is a new root span with a link to the client's span context,
// never a child of it, so a client can neither join the app's traces nor
// choose their sampling.
package otelshadow

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/shadowaccounts/shadow"
)

// ScopeName is the instrumentation scope of the tracer and the meter: this
// module's path.
const ScopeName = "github.com/shadowaccounts/shadow/otelshadow"

// Attribute keys of the shadow operations.
const (
	OperationKey    = attribute.Key("shadow.operation")     // the shadow.EventKind, e.g. "guest.provisioned"
	SweepOutcomeKey = attribute.Key("shadow.sweep.outcome") // "deleted", "skipped" or "failed"
)

// Option configures [New].
type Option func(*config)

type config struct {
	tp    trace.TracerProvider
	mp    metric.MeterProvider
	props propagation.TextMapPropagator
}

// WithTracerProvider sets the TracerProvider (default: otel.GetTracerProvider()).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithMeterProvider sets the MeterProvider (default: otel.GetMeterProvider()).
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// WithPropagators sets the propagators that Transport injects into requests
// to ZITADEL and Middleware extracts from incoming requests (default:
// otel.GetTextMapPropagator()).
func WithPropagators(p propagation.TextMapPropagator) Option { return func(c *config) { c.props = p } }

// Telemetry is the instrumentation: a [shadow.Tracer] for WithTracer, a
// Transport for the Manager's HTTP client and a Middleware. It is safe for
// concurrent use.
type Telemetry struct {
	tp       trace.TracerProvider
	mp       metric.MeterProvider
	props    propagation.TextMapPropagator
	tracer   trace.Tracer
	duration metric.Float64Histogram
	swept    metric.Int64Counter
}

// New builds the instrumentation. It fails only when an instrument cannot
// be created.
func New(opts ...Option) (*Telemetry, error) {
	c := config{}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.props == nil {
		c.props = otel.GetTextMapPropagator()
	}
	t := &Telemetry{tp: c.tp, mp: c.mp, props: c.props, tracer: c.tp.Tracer(ScopeName)}
	meter := c.mp.Meter(ScopeName)
	var err, err2 error
	t.duration, err = meter.Float64Histogram("shadow.operation.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of shadow's lifecycle operations."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 300))
	t.swept, err2 = meter.Int64Counter("shadow.sweep.guests",
		metric.WithUnit("{user}"), metric.WithDescription("Tagged users a sweep deleted, skipped or failed to delete."))
	if err := errors.Join(err, err2); err != nil {
		return nil, err
	}
	return t, nil
}

// spanNames are the operation spans' names by event kind.
var spanNames = map[shadow.EventKind]string{
	shadow.EventProvisioned:  "shadow.Provision",
	shadow.EventImpersonated: "shadow.Impersonate",
	shadow.EventRenewed:      "shadow.Renew",
	shadow.EventUpgraded:     "shadow.Upgrade",
	shadow.EventMerged:       "shadow.MergeInto",
	shadow.EventDeleted:      "shadow.DeleteGuest",
	shadow.EventSweepDone:    "shadow.Sweep",
}

type startKey struct{}

// Start starts the operation's span (shadow.Tracer).
func (t *Telemetry) Start(ctx context.Context, kind shadow.EventKind) context.Context {
	name, ok := spanNames[kind]
	if !ok {
		name = "shadow." + string(kind)
	}
	ctx, _ = t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(OperationKey.String(string(kind))))
	return context.WithValue(ctx, startKey{}, time.Now())
}

// End ends the operation's span and records its duration (shadow.Tracer).
func (t *Telemetry) End(ctx context.Context, e shadow.Event) {
	span := trace.SpanFromContext(ctx)
	attrs := []attribute.KeyValue{OperationKey.String(string(e.Kind))}
	if e.GuestID != "" {
		span.SetAttributes(semconv.EnduserPseudoID(e.GuestID))
	}
	if r := e.Sweep; r != nil {
		span.SetAttributes(
			attribute.Int("shadow.sweep.scanned", r.Scanned), attribute.Int("shadow.sweep.deleted", r.Deleted),
			attribute.Int("shadow.sweep.skipped", len(r.Skipped)), attribute.Int("shadow.sweep.failed", len(r.Failed)),
			attribute.Bool("shadow.sweep.dry_run", r.DryRun))
		for outcome, n := range map[string]int{"deleted": r.Deleted, "skipped": len(r.Skipped), "failed": len(r.Failed)} {
			if n > 0 {
				t.swept.Add(ctx, int64(n), metric.WithAttributes(SweepOutcomeKey.String(outcome)))
			}
		}
	}
	if e.Err != nil {
		et := ErrorType(e.Err)
		attrs = append(attrs, semconv.ErrorTypeKey.String(et))
		span.SetAttributes(semconv.ErrorTypeKey.String(et))
		span.SetStatus(codes.Error, et)
	}
	d := e.Duration
	if start, ok := ctx.Value(startKey{}).(time.Time); ok && d <= 0 {
		d = time.Since(start)
	}
	t.duration.Record(ctx, d.Seconds(), metric.WithAttributes(attrs...))
	span.End()
}

// ErrorType names err by its kind, never by its message: the sentinel it
// matches ("not_found", "not_guest", ...), else ZITADEL's code
// ("zitadel.<connect code>" or "oauth.<error>"), "canceled" or
// "deadline_exceeded", else "_OTHER".
func ErrorType(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{
		{context.Canceled, "canceled"}, {context.DeadlineExceeded, "deadline_exceeded"},
		{shadow.ErrNotGuest, "not_guest"}, {shadow.ErrGuestBusy, "guest_busy"},
		{shadow.ErrEmailTaken, "email_taken"}, {shadow.ErrInvalidProfile, "invalid_profile"},
		{shadow.ErrImpersonationDisabled, "impersonation_disabled"}, {shadow.ErrPermissionDenied, "permission_denied"},
		{shadow.ErrRateLimited, "rate_limited"}, {shadow.ErrUnavailable, "unavailable"},
		{shadow.ErrNotFound, "not_found"}, {shadow.ErrInvalidSession, "invalid_session"},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	var ae *shadow.APIError
	if errors.As(err, &ae) {
		return "zitadel." + ae.Code
	}
	var oe *shadow.OAuthError
	if errors.As(err, &oe) {
		return "oauth." + oe.Code
	}
	return "_OTHER"
}

// Transport wraps base (http.DefaultTransport when nil) so that each
// request to ZITADEL is a client span, a child of the operation that sent
// it, named "ZITADEL <method>", and is measured by otelhttp's HTTP client
// metrics. Give it to the Manager with shadow.WithHTTPClient. It injects
// the trace context into the request headers with the propagators
// (WithPropagators).
func (t *Telemetry) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(t.tp), otelhttp.WithMeterProvider(t.mp), otelhttp.WithPropagators(t.props),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "ZITADEL " + zitadelMethod(r) }))
}

// zitadelMethod names a request to ZITADEL: the RPC of a Connect path
// ("CreateUser"), else the last element of an OAuth path ("token", "keys",
// "openid-configuration"), else the HTTP method.
func zitadelMethod(r *http.Request) string {
	p := strings.TrimSuffix(r.URL.Path, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 && i < len(p)-1 {
		return p[i+1:]
	}
	return r.Method
}

// Middleware traces the app's requests as server spans named by their
// route pattern, for endpoints the public reaches: a client's traceparent
// never becomes the parent of the span; it is kept as a link (see the
// package doc). Put it outside the Manager's middleware, so the lifecycle
// spans of a request are its children.
func (t *Telemetry) Middleware(next http.Handler) http.Handler {
	return otelhttp.NewHandler(next, "shadow",
		otelhttp.WithTracerProvider(t.tp), otelhttp.WithMeterProvider(t.mp), otelhttp.WithPropagators(t.props),
		otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if r.Pattern != "" {
				return r.Pattern
			}
			return r.Method
		}))
}
