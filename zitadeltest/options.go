package zitadeltest

import (
	"errors"
	"fmt"
	"time"
)

// Option configures a Server created by NewServer or Start.
type Option func(*config)

type config struct {
	accessTokenLifetime      time.Duration
	clock                    func() time.Time
	correctMetadataKeyFilter bool
	webKey                   WebKey
	projectionLag            time.Duration
	plainHTTP                bool
	issuerSuffix             string // "/" with WithTrailingSlashIssuer
}

func defaultConfig() config {
	return config{
		accessTokenLifetime: 12 * time.Hour, // cmd/defaults.yaml DefaultAccessTokenLifetime
		clock:               time.Now,
	}
}

func (c config) validate() error {
	var errs []error
	if c.accessTokenLifetime <= 0 {
		errs = append(errs, errors.New("access token lifetime must be positive"))
	}
	if c.clock == nil {
		errs = append(errs, errors.New("clock must not be nil"))
	}
	if c.projectionLag < 0 {
		errs = append(errs, errors.New("projection lag must not be negative"))
	}
	if !c.webKey.valid() {
		errs = append(errs, fmt.Errorf("unknown web key %v", c.webKey))
	}
	return errors.Join(errs...)
}

// WithAccessTokenLifetime sets the lifetime of the access and ID tokens the
// server issues (ZITADEL's default is 12h). It must be positive.
func WithAccessTokenLifetime(d time.Duration) Option {
	return func(c *config) { c.accessTokenLifetime = d }
}

// WithClock sets the base clock of the server (time.Now by default).
// SetTime and Advance shift the server's time relative to it.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.clock = now }
}

// WithCorrectMetadataKeyFilter makes ListUsers' metadataKeyFilter map its
// method correctly. By default the server reproduces ZITADEL's bug (v4.1 up
// to at least v4.13): the method is cast numerically onto the wrong
// internal enum, so TEXT_FILTER_METHOD_CONTAINS behaves as ENDS_WITH and
// ENDS_WITH as CONTAINS (also for the IGNORE_CASE variants).
func WithCorrectMetadataKeyFilter() Option {
	return func(c *config) { c.correctMetadataKeyFilter = true }
}

// WithWebKey sets the kind of the instance's signing keys: WebKeyRSA2048
// (RS256), ZITADEL's default, or WebKeyECDSAP256 (ES256), which ZITADEL's
// web key configuration also offers and which signs many times faster.
func WithWebKey(k WebKey) Option {
	return func(c *config) { c.webKey = k }
}

// WithProjectionLag starts the server with ZITADEL's projection lag on, as
// SetProjectionLag(d) does: the token exchange refuses a user created
// through the API less than d ago until a GetUserByID reads it. Off by
// default.
func WithProjectionLag(d time.Duration) Option {
	return func(c *config) { c.projectionLag = d }
}

// WithPlainHTTP serves the instance over plain HTTP instead of TLS, bound to
// the loopback interface (127.0.0.1) like every Server, so a browser reaches
// it without a certificate warning: for demos and browser tests on one
// machine. ZITADEL's own local setup also runs without TLS; the SDK accepts
// an http:// issuer only on loopback (127.0.0.0/8, ::1, localhost).
func WithPlainHTTP() Option {
	return func(c *config) { c.plainHTTP = true }
}
