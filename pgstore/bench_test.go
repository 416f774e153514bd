package pgstore_test

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/pgstore"
)

// benchStore returns a store whose table already holds 1000 carts of 20
// lines, analyzed, like a table in service: on a new, tiny table the
// planner caches sequential-scan plans that stay until autovacuum analyzes
// it.
func benchStore(b *testing.B) (*pgstore.Store, string) {
	s, table := newStore(b)
	exec(b, `INSERT INTO `+table+` (owner, sku, quantity)
		SELECT 'background-' || (g / 20), 'sku-' || (g % 20), 1 FROM generate_series(0, 19999) g`)
	exec(b, `ANALYZE `+table)
	return s, table
}

// BenchmarkAdd adds one unit to one of 1000 carts of 20 SKUs at a time,
// reporting the median and 99th-percentile latency of an Add.
func BenchmarkAdd(b *testing.B) {
	s, _ := benchStore(b)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		owner, item := fmt.Sprintf("user-%03d", i%1000), shadow.Item{SKU: fmt.Sprintf("sku-%02d", i%20), Quantity: 1}
		start := time.Now()
		if err := s.Add(b.Context(), owner, item); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		i++
	}
	reportLatency(b, lat)
}

// BenchmarkAddParallel measures Add throughput from 8×GOMAXPROCS
// concurrent goroutines, each with its own carts (ns/op is wall time over
// all goroutines' operations).
func BenchmarkAddParallel(b *testing.B) {
	s, _ := benchStore(b)
	b.SetParallelism(8)
	var workers atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		me, i := workers.Add(1), 0
		for pb.Next() {
			owner := fmt.Sprintf("user-%d-%03d", me, i%1000)
			if err := s.Add(b.Context(), owner, shadow.Item{SKU: fmt.Sprintf("sku-%02d", i%20), Quantity: 1}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkMerge50x50 merges a 50-line guest cart into a 50-line user
// cart sharing 25 SKUs with it, reporting per-merge latency percentiles.
// Filling the carts is not timed.
func BenchmarkMerge50x50(b *testing.B) {
	s, table := benchStore(b)
	fill := `INSERT INTO ` + table + ` (owner, sku, quantity)
		SELECT $1, 'sku-' || g, 1 + g % 3 FROM generate_series($2::int, $2::int + 49) g`
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		guest, user := fmt.Sprintf("guest-%d", i), fmt.Sprintf("user-%d", i)
		exec(b, fill, guest, 0)
		exec(b, fill, user, 25)
		b.StartTimer()
		start := time.Now()
		moved, err := s.Merge(b.Context(), guest, user, shadow.SumQuantities)
		lat = append(lat, time.Since(start))
		if err != nil || len(moved.Items) != 50 {
			b.Fatalf("Merge moved %d lines, %v; want 50", len(moved.Items), err)
		}
	}
	b.StopTimer()
	if got, err := s.Get(b.Context(), "user-0"); err != nil || len(got.Items) != 75 {
		b.Fatalf("merged cart has %d lines, %v; want 75", len(got.Items), err)
	}
	reportLatency(b, lat)
}

// BenchmarkGet reads a 50-line cart.
func BenchmarkGet(b *testing.B) {
	s, table := benchStore(b)
	exec(b, `INSERT INTO `+table+` (owner, sku, quantity) SELECT 'u', 'sku-' || g, 1 FROM generate_series(1, 50) g`)
	for b.Loop() {
		if c, err := s.Get(b.Context(), "u"); err != nil || len(c.Items) != 50 {
			b.Fatalf("Get = %d lines, %v", len(c.Items), err)
		}
	}
}

// reportLatency reports the median and 99th percentile of lat in µs.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / float64(time.Microsecond)
	}
	b.ReportMetric(at(0.50), "p50-us")
	b.ReportMetric(at(0.99), "p99-us")
}

// BenchmarkMoverMoveGuest moves a guest's 50-line cart (into a 50-line
// cart sharing 25 SKUs) and 20 rows in each of two owner tables (10 of
// them conflicting with the account's, resolved by KeepAccountRow) in one
// transaction, reporting per-move latency percentiles. Filling is not
// timed.
func BenchmarkMoverMoveGuest(b *testing.B) {
	carts, table := benchStore(b)
	schema := strings.Trim(strings.Split(table, ".")[0], `"`)
	var tables []pgstore.OwnerTable
	for _, name := range []string{"widgets", "drafts"} {
		t := pgx.Identifier{schema, name}.Sanitize()
		exec(b, `CREATE TABLE `+t+` (owner text NOT NULL, item text NOT NULL, PRIMARY KEY (owner, item))`)
		exec(b, `INSERT INTO `+t+` SELECT 'background-' || (g / 20), 'item-' || (g % 20) FROM generate_series(0, 19999) g`)
		exec(b, `ANALYZE `+t)
		tables = append(tables, pgstore.OwnerTable{Schema: schema, Name: name, Key: []string{"item"}})
	}
	m, err := pgstore.NewMover(testPool(b), pgstore.MoverConfig{Carts: carts, Tables: tables})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	fillCart := `INSERT INTO ` + table + ` (owner, sku, quantity)
		SELECT $1, 'sku-' || g, 1 + g % 3 FROM generate_series($2::int, $2::int + 49) g`
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		guest, user := fmt.Sprintf("guest-%d", i), fmt.Sprintf("user-%d", i)
		exec(b, fillCart, guest, 0)
		exec(b, fillCart, user, 25)
		for _, t := range tables {
			name := pgx.Identifier{schema, t.Name}.Sanitize()
			exec(b, `INSERT INTO `+name+` SELECT $1, 'item-' || g FROM generate_series(0, 19) g`, guest)
			exec(b, `INSERT INTO `+name+` SELECT $1, 'item-' || g FROM generate_series(10, 29) g`, user)
		}
		b.StartTimer()
		start := time.Now()
		res, err := m.MoveGuest(b.Context(), guest, user)
		lat = append(lat, time.Since(start))
		if err != nil || res.Records != 90 {
			b.Fatalf("MoveGuest = %+v, %v; want 90 records (50 lines, 2×20 rows)", res, err)
		}
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkGuestEnded is the shared ended-guest check another replica
// runs at most every shadow.DefaultEndedCheckInterval per active guest:
// GuestEnded on a table of 10,000 ended guests, half of the lookups
// finding one; it reports the median and 99th-percentile latency.
func BenchmarkGuestEnded(b *testing.B) {
	s, table := newStore(b)
	schema := strings.Split(table, ".")[0]
	exec(b, `INSERT INTO `+schema+`.shadow_ended_guests (guest, reason, ended_at)
		SELECT 'guest-' || lpad(g::text, 5, '0'), 'upgraded', now() FROM generate_series(0, 9999) g`)
	exec(b, `ANALYZE `+schema+`.shadow_ended_guests`)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		guest := fmt.Sprintf("guest-%05d", i%20_000) // from 10,000 on: never ended
		start := time.Now()
		_, ended, err := s.GuestEnded(b.Context(), guest)
		if err != nil || ended != (i%20_000 < 10_000) {
			b.Fatalf("GuestEnded(%s) = %v, %v", guest, ended, err)
		}
		lat = append(lat, time.Since(start))
		i++
	}
	reportLatency(b, lat)
}
