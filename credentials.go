package shadow

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// Credentials authenticate the SDK as a ZITADEL machine user (a "service
// account") on the user service and as the actor_token of the token
// exchange. Build them with [PAT], [KeyFile] or [ClientCredentials].
//
// Every kind becomes an oauth2.TokenSource cached with
// oauth2.ReuseTokenSourceWithExpiry and refreshed a minute before expiry:
// never a token request per API call.
type Credentials struct {
	kind string
	// source builds the token source once New knows the issuer, the HTTP
	// client and the project.
	source func(c *config) (oauth2.TokenSource, error)
	err    error
}

// earlyExpiry is how long before expiry a cached service token is renewed.
const earlyExpiry = time.Minute

// tokenTimeout bounds one service-token request; oauth2.TokenSource has no
// ctx, so it cannot follow the caller's (who stops waiting when its ctx
// ends, see config.bearer).
const tokenTimeout = 30 * time.Second

// PAT uses a personal access token of a machine user. ZITADEL fixes its
// scopes at creation and exempts it from the audience check, so it serves
// both the user service and the token exchange as is (docs/zitadel.md
// §5.1). No token request is ever made.
func PAT(token string) Credentials {
	token = strings.TrimSpace(token)
	if token == "" {
		return Credentials{kind: "PAT", err: errors.New("shadow: PAT: empty token")}
	}
	return Credentials{kind: "PAT", source: func(*config) (oauth2.TokenSource, error) {
		return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"}), nil
	}}
}

// KeyFile uses a machine user's key file as ZITADEL downloads it:
// {"type":"serviceaccount","keyId":…,"key":"-----BEGIN RSA PRIVATE KEY-----…",
// "expirationDate":…,"userId":…}, with a PKCS#1 or PKCS#8 RSA key. Tokens
// come from the JWT profile grant (RFC 7523 §2.1; docs/zitadel.md §5.2): an
// RS256 assertion with "kid" = keyId, "iss" = "sub" = userId, "aud" = the
// issuer, valid for one hour. A malformed file gives an error naming the
// field; an expired key fails in New.
func KeyFile(data []byte) (Credentials, error) {
	kf, err := parseKeyFile(data, "serviceaccount")
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{kind: "key file", source: func(c *config) (oauth2.TokenSource, error) {
		if !kf.Expiration.IsZero() && !c.now().Before(kf.Expiration) {
			return nil, fmt.Errorf("shadow: key file: field \"expirationDate\": key %s expired at %s", kf.KeyID, kf.Expiration.Format(time.RFC3339))
		}
		src := &jwtProfileSource{cfg: c, kf: kf}
		return oauth2.ReuseTokenSourceWithExpiry(nil, src, earlyExpiry), nil
	}}, nil
}

// ClientCredentials uses a machine user's client id and secret with the
// client credentials grant (RFC 6749 §4.4), authenticated by HTTP Basic
// with URL-encoded credentials (RFC 6749 §2.3.1) through
// golang.org/x/oauth2/clientcredentials.
func ClientCredentials(clientID, secret string) Credentials {
	if clientID == "" || secret == "" {
		return Credentials{kind: "client credentials", err: errors.New("shadow: ClientCredentials: empty client id or secret")}
	}
	return Credentials{kind: "client credentials", source: func(c *config) (oauth2.TokenSource, error) {
		cc := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: c.issuer + zitadel.PathToken,
			Scopes: c.serviceScopes(), AuthStyle: oauth2.AuthStyleInHeader}
		// Every token request gets tokenTimeout, whatever the app's client.
		hc := &http.Client{Transport: c.retryClient.StandardClient().Transport, Timeout: tokenTimeout}
		ctx := context.WithValue(zitadel.Idempotent(context.Background()), oauth2.HTTPClient, hc)
		return oauth2.ReuseTokenSourceWithExpiry(nil, cc.TokenSource(ctx), earlyExpiry), nil
	}}
}

// serviceScopes are the scopes of a non-PAT service token: the ZITADEL API
// audience, and the exchanging application's project audience, which
// ZITADEL ≥ v4.15.3 requires of a token-exchange actor (§5.5).
func (c *config) serviceScopes() []string {
	s := []string{"openid", zitadel.ScopeZitadelAPIAudience}
	if c.projectID != "" {
		s = append(s, "urn:zitadel:iam:org:project:id:"+c.projectID+":aud")
	}
	return s
}

// keyFile is a ZITADEL key file, of a machine user or of an application.
type keyFile struct {
	Type       string
	KeyID      string
	UserID     string
	ClientID   string
	AppID      string
	Expiration time.Time
	Key        *rsa.PrivateKey
}

// parseKeyFile reads and checks a key file of the wanted type.
func parseKeyFile(data []byte, wantType string) (*keyFile, error) {
	var raw struct {
		Type           string `json:"type"`
		KeyID          string `json:"keyId"`
		Key            string `json:"key"`
		ExpirationDate string `json:"expirationDate"`
		UserID         string `json:"userId"`
		ClientID       string `json:"clientId"`
		AppID          string `json:"appId"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("shadow: key file: not JSON: %v", err)
	}
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("shadow: key file: field %q: "+format, append([]any{field}, a...)...)
	}
	kf := &keyFile{Type: raw.Type, KeyID: raw.KeyID, UserID: raw.UserID, ClientID: raw.ClientID, AppID: raw.AppID}
	switch {
	case raw.Type != wantType:
		return nil, bad("type", "%q, want %q", raw.Type, wantType)
	case raw.KeyID == "":
		return nil, bad("keyId", "missing")
	case wantType == "serviceaccount" && raw.UserID == "":
		return nil, bad("userId", "missing")
	case wantType == "application" && raw.ClientID == "":
		return nil, bad("clientId", "missing")
	}
	if raw.ExpirationDate != "" {
		t, err := time.Parse(time.RFC3339, raw.ExpirationDate)
		if err != nil {
			return nil, bad("expirationDate", "not an RFC 3339 time: %q", raw.ExpirationDate)
		}
		kf.Expiration = t
	}
	block, rest := pem.Decode([]byte(raw.Key))
	if block == nil {
		return nil, bad("key", "no PEM block")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, bad("key", "data after the PEM block")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, bad("key", "PKCS#1: %v", err)
		}
		kf.Key = k
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, bad("key", "PKCS#8: %v", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, bad("key", "PKCS#8 key is a %T, want RSA", k)
		}
		kf.Key = rk
	default:
		return nil, bad("key", "PEM block %q, want RSA PRIVATE KEY or PRIVATE KEY", block.Type)
	}
	if kf.Key.N.BitLen() < 2048 {
		return nil, bad("key", "RSA key of %d bits, want at least 2048", kf.Key.N.BitLen())
	}
	return kf, nil
}

// assertionLifetime is the validity of a signed assertion; ZITADEL refuses
// an "iat" older than one hour.
const assertionLifetime = time.Hour

// signAssertion signs an RFC 7523 JWT: iss = sub = subject, aud = the
// issuer exactly as configured (trailing slash or not), which ZITADEL
// compares with its own issuer.
func signAssertion(kf *keyFile, subject, issuer string, now time.Time) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: kf.Key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kf.KeyID))
	if err != nil {
		return "", err
	}
	id, err := newGuestID()
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: subject, Subject: subject, Audience: jwt.Audience{issuer}, ID: id,
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(assertionLifetime)),
	}).Serialize()
}

// jwtProfileSource gets a service token with the JWT profile grant.
type jwtProfileSource struct {
	cfg *config
	kf  *keyFile
}

func (s *jwtProfileSource) Token() (*oauth2.Token, error) {
	assertion, err := signAssertion(s.kf, s.kf.UserID, s.cfg.exactIssuer, s.cfg.now())
	if err != nil {
		return nil, fmt.Errorf("shadow: sign JWT profile assertion: %w", err)
	}
	form := url.Values{
		"grant_type": {zitadel.GrantJWTBearer},
		"assertion":  {assertion},
		"scope":      {strings.Join(s.cfg.serviceScopes(), " ")},
	}
	ctx, cancel := context.WithTimeout(context.Background(), tokenTimeout)
	defer cancel()
	tr, err := s.cfg.tokenClient().PostToken(ctx, form, nil)
	if err != nil {
		return nil, apiErr(ctx, "JWT profile grant", err)
	}
	tok := &oauth2.Token{AccessToken: tr.AccessToken, TokenType: tr.TokenType}
	if tr.ExpiresIn > 0 {
		// oauth2's reuse logic compares with time.Now, whatever WithClock says.
		tok.Expiry = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return tok, nil
}

// ClientAuthMethod is how the OIDC application authenticates at the token
// endpoint for the token exchange (RFC 6749 §2.3, OIDC Core §9).
type ClientAuthMethod int

// Client authentication methods. ZITADEL recommends a confidential client
// (anything but AuthNone) for token exchange.
const (
	AuthNone              ClientAuthMethod = iota // client_id only (a public PKCE app)
	AuthClientSecretBasic                         // HTTP Basic with URL-encoded id and secret
	AuthClientSecretPost                          // client_id and client_secret in the form
	AuthPrivateKeyJWT                             // client_assertion signed with an application key
)

// clientAuth authenticates the OIDC application at the token endpoint.
type clientAuth struct {
	method   ClientAuthMethod
	clientID string
	secret   string
	key      *keyFile
}

// apply adds the client's credentials to a token request; issuer is the
// exact issuer, the audience of a private_key_jwt assertion.
func (a clientAuth) apply(issuer string, now func() time.Time) zitadel.ClientAuth {
	return func(_ context.Context, form url.Values, h http.Header) error {
		switch a.method {
		case AuthClientSecretBasic:
			req := http.Request{Header: h}
			req.SetBasicAuth(url.QueryEscape(a.clientID), url.QueryEscape(a.secret))
		case AuthClientSecretPost:
			form.Set("client_id", a.clientID)
			form.Set("client_secret", a.secret)
		case AuthPrivateKeyJWT:
			assertion, err := signAssertion(a.key, a.clientID, issuer, now())
			if err != nil {
				return err
			}
			form.Set("client_assertion_type", zitadel.ClientAssertionTypeJWTBearer)
			form.Set("client_assertion", assertion)
		default:
			form.Set("client_id", a.clientID)
		}
		return nil
	}
}
