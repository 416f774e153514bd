package zitadel

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestCheckRetryOnlyIdempotent(t *testing.T) {
	t.Parallel()
	idem := Idempotent(t.Context())
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code, Header: http.Header{}} }
	for _, c := range []struct {
		ctx  context.Context
		resp *http.Response
		err  error
		want bool
	}{
		{idem, resp(429), nil, true},
		{idem, resp(502), nil, true},
		{idem, resp(503), nil, true},
		{idem, resp(504), nil, true},
		{idem, resp(500), nil, false},
		{idem, resp(501), nil, false},
		{idem, resp(400), nil, false},
		{idem, resp(200), nil, false},
		{idem, nil, errors.New("connection reset"), true},
		{t.Context(), resp(503), nil, false},
		{t.Context(), nil, errors.New("connection reset"), false},
	} {
		got, _ := checkRetry(c.ctx, c.resp, c.err)
		if got != c.want {
			code := 0
			if c.resp != nil {
				code = c.resp.StatusCode
			}
			t.Errorf("checkRetry(idempotent=%v, %d, %v) = %v, want %v", IsIdempotent(c.ctx), code, c.err, got, c.want)
		}
	}
	ctx, cancel := context.WithCancel(idem)
	cancel()
	if retry, err := checkRetry(ctx, resp(503), nil); retry || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: retry=%v err=%v", retry, err)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	min, max := 100*time.Millisecond, 5*time.Second
	for attempt := range 10 {
		ceiling := min << attempt
		if ceiling > max {
			ceiling = max
		}
		for range 50 {
			if d := Backoff(min, max, attempt, nil); d < 0 || d > ceiling {
				t.Fatalf("attempt %d: %v outside [0, %v]", attempt, d, ceiling)
			}
		}
	}
	r := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"2"}}}
	if d := Backoff(min, max, 0, r); d != 2*time.Second {
		t.Errorf("Retry-After 2: %v", d)
	}
	r.Header.Set("Retry-After", "3600")
	if d := Backoff(min, max, 0, r); d != max {
		t.Errorf("Retry-After 3600 capped: %v, want %v", d, max)
	}
	if d, ok := RetryAfter(time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC).Format(http.TimeFormat), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); !ok || d != 10*time.Second {
		t.Errorf("HTTP-date Retry-After: %v %v", d, ok)
	}
	if _, ok := RetryAfter("soon", time.Now()); ok {
		t.Error("accepted a bad Retry-After")
	}
}
