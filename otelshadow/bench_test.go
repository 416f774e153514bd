package otelshadow_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/otelshadow"
)

// BenchmarkOperation is the cost the instrumentation adds to one lifecycle
// operation: Start and End, a sampled span with its attributes, and the
// duration measurement, with a synchronous in-memory exporter.
func BenchmarkOperation(b *testing.B) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	tel, err := otelshadow.New(otelshadow.WithTracerProvider(tp), otelshadow.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ev := shadow.Event{Kind: shadow.EventProvisioned, GuestID: "0123456789abcdef0123456789abcdef", Duration: time.Millisecond}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tel.End(tel.Start(ctx, shadow.EventProvisioned), ev)
		if i%1024 == 0 {
			exp.Reset()
		}
	}
}
