package zitadeltest

// WithTrailingSlashIssuer makes the issuer end in "/" (URL + "/"): in the
// discovery document, in the "iss" of every token and in the audience
// assertions must name. OpenID Connect compares issuers exactly, so a
// client that trims or adds the slash fails against it, as it would
// against an OP whose issuer is configured that way. Endpoints stay at
// URL + path.
func WithTrailingSlashIssuer() Option {
	return func(c *config) { c.issuerSuffix = "/" }
}
