package zitadel

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

type idempotentKey struct{}

// Idempotent marks ctx so that a request sent with it may be retried.
// Requests without the mark are sent exactly once (docs/architecture.md invariant 5).
func Idempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// IsIdempotent reports whether ctx carries the Idempotent mark.
func IsIdempotent(ctx context.Context) bool {
	v, _ := ctx.Value(idempotentKey{}).(bool)
	return v
}

// RetryPolicy says how often and how long to retry.
type RetryPolicy struct {
	MaxAttempts int           // attempts in all, first included; 1 disables retries
	MinWait     time.Duration // base of the exponential backoff
	MaxWait     time.Duration // cap of one wait, Retry-After included
}

// NewRetryClient wraps hc in a retryablehttp.Client configured for ZITADEL:
// no logging, errors passed through so the caller sees the final status and
// body, retries only for requests marked Idempotent and only on connection
// errors, 429, 502, 503 and 504, with full-jitter exponential backoff that
// honours Retry-After (capped at MaxWait). A cancelled ctx stops at once.
func NewRetryClient(hc *http.Client, p RetryPolicy) *retryablehttp.Client {
	if p.MaxAttempts < 1 {
		p.MaxAttempts = 1
	}
	return &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       nil,
		RetryWaitMin: p.MinWait,
		RetryWaitMax: p.MaxWait,
		RetryMax:     p.MaxAttempts - 1,
		CheckRetry:   checkRetry,
		Backoff:      Backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
}

func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if !IsIdempotent(ctx) {
		return false, nil
	}
	if err != nil {
		var open *BreakerOpenError
		if errors.As(err, &open) || IsTLSError(err) {
			return false, err // the budget refused it, or TLS is misconfigured: retrying changes nothing
		}
		// Redirect loops and bad schemes are final.
		return retryablehttp.ErrorPropagatedRetryPolicy(ctx, resp, err)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	}
	return false, nil
}

// Backoff is the wait before retry number attempt+1: the Retry-After of a
// 429 or 503 when present, else a random duration in [0, min·2^attempt]
// ("full jitter"), never more than max.
func Backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := RetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return min(d, maxWait)
		}
	}
	ceiling := maxWait
	if attempt < 32 {
		if d := minWait << attempt; d > 0 && d < maxWait {
			ceiling = d
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// RetryAfter parses a Retry-After value (RFC 9110 §10.2.3): delay seconds
// or an HTTP date, relative to now; the wait is at most 24 hours.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(24*time.Hour/time.Second) {
			s = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), 24*time.Hour), true
	}
	return 0, false
}

// IsTLSError reports whether err is a failure of TLS itself: an untrusted,
// expired or misnamed certificate, a handshake the server refused, or a
// server that does not speak TLS on the port. These are configuration
// faults (issuer URL, CA bundle, proxy), not outages: retrying cannot help.
func IsTLSError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
		ech      *tls.ECHRejectionError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		roots    x509.SystemRootsError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &record), errors.As(err, &alert), errors.As(err, &ech),
		errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &roots):
		return true
	}
	// net/http replaces a RecordHeaderError by this plain error when the
	// server answered in plain HTTP (net/http Transport).
	return err != nil && strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}
