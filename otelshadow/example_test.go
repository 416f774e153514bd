package otelshadow_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/otelshadow"
	"github.com/shadowaccounts/shadow/zitadeltest"
)

// Example wires a Manager to OpenTelemetry: WithTracer for the lifecycle
// spans and metrics, the Transport for a client span per ZITADEL request.
// In production, pass no provider options: the global TracerProvider and
// MeterProvider, set up with your exporter, are the defaults.
func Example() {
	fake := zitadeltest.NewServer()
	defer fake.Close()
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer tp.Shutdown(context.Background())

	tel, err := otelshadow.New(otelshadow.WithTracerProvider(tp))
	if err != nil {
		panic(err)
	}
	m, err := shadow.New(fake.Issuer(),
		shadow.WithOrganization(fake.OrganizationID()),
		shadow.WithClientID(fake.ClientID()),
		shadow.WithCredentials(shadow.PAT(fake.ServiceAccount().PAT)),
		shadow.WithCartStore(memstore.New()),
		shadow.WithTracer(tel),
		shadow.WithHTTPClient(&http.Client{Transport: tel.Transport(fake.Client().Transport), Timeout: 30 * time.Second}),
	)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	g, err := m.Provision(ctx)
	if err != nil {
		panic(err)
	}
	if _, err := m.Impersonate(ctx, g.ID); err != nil {
		panic(err)
	}

	var names []string
	for _, s := range exporter.GetSpans() {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Println(n)
	}
	// Output:
	// ZITADEL CreateUser
	// ZITADEL GetUserByID
	// ZITADEL token
	// shadow.Impersonate
	// shadow.Provision
}
