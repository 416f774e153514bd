package otelshadow_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/otelshadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// rig is a fake ZITADEL and a Manager instrumented with in-memory
// exporters.
type rig struct {
	fake   *zitadeltest.Server
	mgr    *shadow.Manager
	tel    *otelshadow.Telemetry
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
}

func newRig(t *testing.T) *rig {
	return newRigWith(t)
}

func newRigWith(t *testing.T, opts ...otelshadow.Option) *rig {
	t.Helper()
	r := &rig{fake: zitadeltest.Start(t), spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	tel, err := otelshadow.New(append([]otelshadow.Option{otelshadow.WithTracerProvider(tp), otelshadow.WithMeterProvider(mp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	r.tel = tel
	key, err := shadow.NewSessionKey([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	r.mgr, err = shadow.New(r.fake.Issuer(),
		shadow.WithOrganization(r.fake.OrganizationID()), shadow.WithClientID(r.fake.ClientID()),
		shadow.WithCredentials(shadow.PAT(r.fake.ServiceAccount().PAT)), shadow.WithCartStore(memstore.New()),
		shadow.WithSessionKeys(key), shadow.WithTracer(tel),
		shadow.WithHTTPClient(&http.Client{Transport: tel.Transport(r.fake.Client().Transport), Timeout: 10 * time.Second}),
		shadow.WithRetry(shadow.RetryOptions{MinWait: time.Millisecond, MaxWait: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// span returns the one ended span named name.
func (r *rig) span(t *testing.T, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range r.spans.GetSpans() {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans named %q, want 1; have %v", len(found), name, r.names())
	}
	return found[0]
}

func (r *rig) names() []string {
	var out []string
	for _, s := range r.spans.GetSpans() {
		out = append(out, s.Name)
	}
	slices.Sort(out)
	return out
}

func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

func TestLifecycleSpans(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := t.Context()
	g, err := r.mgr.Provision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.mgr.Impersonate(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	customer, err := r.fake.AddHumanUser(zitadeltest.NewHuman{GivenName: "Dana", FamilyName: "Demo",
		Email: "dana@shop.example", EmailVerified: true, Password: "Demo-Passw0rd!"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.mgr.MergeInto(ctx, g.ID, customer); err != nil {
		t.Fatal(err)
	}
	want := []string{
		// Impersonate reads the user concurrently with the exchange;
		// MergeInto reads the guest (its user and its tag) and the target
		// account (its user and its tag) concurrently, then deletes the guest.
		"ZITADEL CreateUser", "ZITADEL DeleteUser", "ZITADEL GetUserByID", "ZITADEL GetUserByID", "ZITADEL GetUserByID", "ZITADEL ListUserMetadata",
		"ZITADEL ListUserMetadata", "ZITADEL token", "shadow.DeleteGuest", "shadow.Impersonate", "shadow.MergeInto", "shadow.Provision",
	}
	if diff := cmp.Diff(want, r.names()); diff != "" {
		t.Errorf("span names (-want +got):\n%s", diff)
	}
	for _, c := range []struct{ parent, child string }{
		{"shadow.Provision", "ZITADEL CreateUser"},
		{"shadow.Impersonate", "ZITADEL token"},
		{"shadow.MergeInto", "shadow.DeleteGuest"},
		{"shadow.DeleteGuest", "ZITADEL DeleteUser"},
	} {
		p, ch := r.span(t, c.parent), r.span(t, c.child)
		if ch.Parent.SpanID() != p.SpanContext.SpanID() || ch.Parent.TraceID() != p.SpanContext.TraceID() {
			t.Errorf("%s is not the parent of %s", c.parent, c.child)
		}
	}
	for name, op := range map[string]string{"shadow.Provision": "guest.provisioned", "shadow.Impersonate": "guest.impersonated",
		"shadow.MergeInto": "guest.merged", "shadow.DeleteGuest": "guest.deleted"} {
		s := r.span(t, name)
		if got := attr(s, "enduser.pseudo.id"); got != g.ID {
			t.Errorf("%s: enduser.pseudo.id %q, want %q", name, got, g.ID)
		}
		if got := attr(s, "shadow.operation"); got != op {
			t.Errorf("%s: shadow.operation %q, want %q", name, got, op)
		}
		if s.Status.Code != codes.Unset || s.SpanKind != trace.SpanKindInternal {
			t.Errorf("%s: status %v, kind %v", name, s.Status, s.SpanKind)
		}
	}
	if got := attr(r.span(t, "ZITADEL CreateUser"), "http.response.status_code"); got != "200" {
		t.Errorf("CreateUser span status code %q", got)
	}
}

func TestErrorStatus(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	g, err := r.mgr.Provision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r.fake.SetImpersonation(false)
	if _, err := r.mgr.Impersonate(t.Context(), g.ID); err == nil {
		t.Fatal("Impersonate succeeded with impersonation off")
	}
	s := r.span(t, "shadow.Impersonate")
	if s.Status.Code != codes.Error || s.Status.Description != "impersonation_disabled" {
		t.Errorf("status %+v, want Error impersonation_disabled", s.Status)
	}
	if got := attr(s, "error.type"); got != "impersonation_disabled" {
		t.Errorf("error.type %q", got)
	}
	if got := attr(r.span(t, "ZITADEL token"), "http.response.status_code"); got != "403" {
		t.Errorf("token span status code %q, want 403", got)
	}
}

func TestErrorType(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", shadow.ErrNotGuest), "not_guest"},
		{&shadow.APIError{Code: "internal", HTTPStatus: 500}, "zitadel.internal"},
		{&shadow.APIError{Code: "not_found", HTTPStatus: 404}, "not_found"},
		{&shadow.OAuthError{Code: "invalid_scope", HTTPStatus: 400}, "oauth.invalid_scope"},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), "deadline_exceeded"},
		{fmt.Errorf("something with dana@shop.example"), "_OTHER"},
	} {
		if got := otelshadow.ErrorType(c.err); got != c.want {
			t.Errorf("ErrorType(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// TestNoPersonalData runs an upgrade with an e-mail, a name and a password
// and a failing one, and checks no attribute or event of any span holds
// them or a token.
func TestNoPersonalData(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := t.Context()
	g, err := r.mgr.Provision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := r.mgr.Impersonate(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	p := shadow.Profile{GivenName: "Quentin", FamilyName: "Quartermain", Email: "quentin@private.example",
		Password: "Sup3r-Secret!pw", Verification: shadow.ReturnCode}
	if _, err := r.mgr.Upgrade(ctx, g.ID, p); err != nil {
		t.Fatal(err)
	}
	g2, err := r.mgr.Provision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.mgr.Upgrade(ctx, g2.ID, p); err == nil { // the e-mail is taken now
		t.Fatal("second Upgrade with the same e-mail succeeded")
	}
	secrets := []string{p.Email, p.GivenName, p.FamilyName, p.Password, tok.AccessToken, tok.IDToken, r.fake.ServiceAccount().PAT}
	var kvs []attribute.KeyValue
	for _, s := range r.spans.GetSpans() {
		kvs = append(kvs, s.Attributes...)
		for _, ev := range s.Events {
			kvs = append(kvs, ev.Attributes...)
		}
		kvs = append(kvs, attribute.String("status", s.Status.Description))
	}
	if len(kvs) < 20 {
		t.Fatalf("only %d attributes recorded", len(kvs))
	}
	for _, kv := range kvs {
		v := kv.Value.Emit()
		for _, s := range secrets {
			if s != "" && strings.Contains(v, s) {
				t.Errorf("attribute %s holds personal data or a token: %q", kv.Key, v)
			}
		}
	}
	var upgraded []string
	for _, s := range r.spans.GetSpans() {
		if s.Name == "shadow.Upgrade" {
			upgraded = append(upgraded, attr(s, "enduser.pseudo.id")+" "+attr(s, "error.type"))
		}
	}
	if diff := cmp.Diff([]string{g.ID + " ", g2.ID + " email_taken"}, upgraded); diff != "" {
		t.Errorf("Upgrade spans (-want +got):\n%s", diff)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := t.Context()
	for range 2 {
		if _, err := r.mgr.Provision(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r.fake.FailNext(zitadeltest.OpCreateUser, zitadeltest.APIError(zitadeltest.CodePermissionDenied, "AUTH-AWfge", "No matching permissions found"))
	if _, err := r.mgr.Provision(ctx); err == nil {
		t.Fatal("Provision succeeded against a fault")
	}
	rep, err := r.mgr.Sweep(ctx, shadow.SweepOptions{OlderThan: time.Nanosecond, AllowLiveSessions: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deleted != 2 {
		t.Fatalf("sweep deleted %d, want 2", rep.Deleted)
	}
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{} // "metric|attrs" → count or sum
	var scopes []string
	for _, sm := range rm.ScopeMetrics {
		scopes = append(scopes, sm.Scope.Name)
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					if m.Name == "shadow.operation.duration" {
						got[m.Name+"|"+dp.Attributes.Encoded(attribute.DefaultEncoder())] = int64(dp.Count)
					} else {
						got[m.Name] += int64(dp.Count)
					}
				}
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					got[m.Name+"|"+dp.Attributes.Encoded(attribute.DefaultEncoder())] = dp.Value
				}
			}
		}
	}
	want := map[string]int64{
		"shadow.operation.duration|shadow.operation=guest.provisioned":                              2,
		"shadow.operation.duration|error.type=permission_denied,shadow.operation=guest.provisioned": 1,
		"shadow.operation.duration|shadow.operation=guest.deleted":                                  2,
		"shadow.operation.duration|shadow.operation=sweep.finished":                                 1,
		"shadow.sweep.guests|shadow.sweep.outcome=deleted":                                          2,
		"http.client.request.duration":                                                              int64(len(r.spans.GetSpans()) - 6),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	if !slices.Contains(scopes, otelshadow.ScopeName) {
		t.Errorf("scopes %v lack %s", scopes, otelshadow.ScopeName)
	}
}

// TestMiddlewareDistrustsTraceparent: a client's traceparent becomes a
// link, not the parent, and the lifecycle spans are children of the
// server span.
func TestMiddlewareDistrustsTraceparent(t *testing.T) {
	t.Parallel()
	r := newRigWith(t, otelshadow.WithPropagators(propagation.TraceContext{}))
	mux := http.NewServeMux()
	mux.Handle("POST /cart", r.mgr.GuestRequired(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	h := r.tel.Middleware(mux)
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "https://shop.example/cart", nil)
	const clientTrace = "0af7651916cd43dd8448eb211c80319c"
	req.Header.Set("traceparent", "00-"+clientTrace+"-b7ad6b7169203331-01")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	srv := r.span(t, "POST /cart")
	if srv.Parent.IsValid() && srv.Parent.IsRemote() {
		t.Errorf("server span is a child of the client's span %v", srv.Parent)
	}
	if srv.SpanContext.TraceID().String() == clientTrace {
		t.Errorf("server span joined the client's trace")
	}
	if len(srv.Links) != 1 || srv.Links[0].SpanContext.TraceID().String() != clientTrace {
		t.Errorf("links %v, want one to the client's span", srv.Links)
	}
	prov := r.span(t, "shadow.Provision")
	if prov.Parent.SpanID() != srv.SpanContext.SpanID() {
		t.Errorf("shadow.Provision is not a child of the server span")
	}
}
