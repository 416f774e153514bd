package zitadeltest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// Machine credentials (docs/zitadel.md §5.2, §5.3): key files for the JWT
// profile grant, client secrets for the client credentials grant, and the
// two grants.

// machineKey is the public half of a machine user's key.
type machineKey struct {
	pub     crypto.PublicKey
	expires time.Time
}

// defaultKeyExpiration is the expiration ZITADEL gives a machine key added
// without one (domain.EnsureValidExpirationDate).
var defaultKeyExpiration = time.Date(9999, time.December, 31, 23, 59, 59, 0, time.UTC)

// seedKey is the RSA key of every seeded service account's key file. It is
// generated once per process, on first use, to keep servers cheap to start.
var seedKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("zitadeltest: generate machine key: " + err.Error())
	}
	return k
})

// newMachineKey generates an RSA 2048 key, ZITADEL's MachineKeySize.
func newMachineKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("zitadeltest: generate machine key: " + err.Error())
	}
	return k
}

// keyFileJSON renders a key file as ZITADEL downloads it
// (domain.MachineKeyMarshalJSON): the key in PKCS#1 PEM.
func keyFileJSON(keyID string, key *rsa.PrivateKey, expires time.Time, userID string) []byte {
	b, err := json.Marshal(struct {
		Type           string    `json:"type"`
		KeyID          string    `json:"keyId"`
		Key            string    `json:"key"`
		ExpirationDate time.Time `json:"expirationDate"`
		UserID         string    `json:"userId"`
	}{
		Type:           "serviceaccount",
		KeyID:          keyID,
		Key:            string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
		ExpirationDate: expires,
		UserID:         userID,
	})
	if err != nil {
		panic("zitadeltest: encode key file: " + err.Error())
	}
	return b
}

// machineClient is the client of a client credentials or JWT profile grant:
// the machine user itself, under the client id it authenticated with.
func machineClient(clientID string, u *user) *app {
	return &app{clientID: clientID, jwtAccessToken: u.accessTokenType == zitadel.AccessTokenJWT}
}

// clientCredentialsGrant is the client_credentials grant: the client id is
// a machine user's login name, the secret its client secret
// (client_credentials.go clientCredentialsAuth).
func (s *Server) clientCredentialsGrant(r *http.Request) (*pendingTokens, *oauthError) {
	st := s.st
	cc, oerr := parseClientCredentials(r)
	if oerr != nil {
		return nil, oerr
	}
	id, ok := st.usernames[strings.ToLower(cc.id)]
	if !ok {
		return nil, oauthErr(http.StatusBadRequest, "invalid_client", "client not found")
	}
	u := st.users[id]
	if !u.machine || u.secret == nil {
		return nil, oauthFromAPI(newError(zitadel.CodeFailedPrecondition, idMachineSecretMissing, "Errors.User.Machine.Secret.NotExisting"))
	}
	if !u.secret.matches(cc.secret) {
		return nil, oauthFromAPI(newError(zitadel.CodeInvalidArgument, idMachineSecretInvalid, "Errors.User.Machine.Secret.Invalid"))
	}
	return s.machineTokens(r, machineClient(cc.id, u), u)
}

// jwtBearerGrant is the JWT profile grant (RFC 7523 §2.1) with a machine
// user's key: no client authentication; every assertion failure is
// invalid_grant "invalid assertion".
func (s *Server) jwtBearerGrant(r *http.Request) (*pendingTokens, *oauthError) {
	raw := r.Form.Get("assertion")
	if raw == "" {
		return nil, invalidRequest("assertion missing")
	}
	u := s.st.verifyAssertion(raw, s.Issuer())
	if u == nil {
		return nil, oauthErr(http.StatusBadRequest, "invalid_grant", "invalid assertion")
	}
	return s.machineTokens(r, machineClient(u.id, u), u)
}

// verifyAssertion checks a JWT profile assertion as zitadel/oidc's
// VerifyJWTAssertion with ZITADEL's limits (token_jwt_profile.go): aud
// holds the issuer, exp is more than 1s ahead, iat is present, at most 1s
// ahead and at most 1h old, iss = sub names a user, and the signature
// verifies with that user's unexpired key named by kid.
func (st *state) verifyAssertion(raw, issuer string) *user {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512,
		jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512, jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		return nil
	}
	var c struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp *float64        `json:"exp"`
		Iat *float64        `json:"iat"`
	}
	if json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c) != nil || c.Exp == nil || c.Iat == nil {
		return nil
	}
	now := st.now()
	exp, iat := unixTime(*c.Exp), unixTime(*c.Iat).Round(time.Second)
	switch {
	case !audienceContains(c.Aud, issuer),
		!now.Add(time.Second).Before(exp),
		iat.After(now.Add(time.Second).Round(time.Second)),
		iat.Before(now.Add(-time.Hour).Round(time.Second)),
		c.Iss == "" || c.Iss != c.Sub:
		return nil
	}
	u := st.users[c.Sub]
	if u == nil {
		return nil
	}
	k := u.keys[jws.Signatures[0].Header.KeyID]
	if k == nil || !now.Before(k.expires) {
		return nil
	}
	if _, err := jws.Verify(k.pub); err != nil {
		return nil
	}
	return u
}

func unixTime(f float64) time.Time {
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9))
}

// machineTokens issues the tokens of a client credentials or JWT profile
// grant (accessTokenResponseFromSession): an access token of the user's
// access token type whose audience holds the projects named by
// urn:zitadel:iam:org:project:id:<id>:aud scopes, and an ID token for
// openid. The response carries no scope and no refresh token.
func (s *Server) machineTokens(r *http.Request, client *app, u *user) (*pendingTokens, *oauthError) {
	st := s.st
	scopes, oerr := validateScopes(scopeList(r.Form.Get("scope")))
	if oerr != nil {
		return nil, oerr
	}
	g := grant{
		user: u, app: client, scopes: scopes, audience: st.projectAudience(nil, scopes),
		sessionID: st.newSessionID(),
	}
	lifetime := s.cfg.accessTokenLifetime
	t, draft := st.issueAccessToken(s.Issuer(), g, lifetime, client.jwtAccessToken)
	p := &pendingTokens{access: draft, resp: tokenResponse{TokenResponse: zitadel.TokenResponse{
		AccessToken: t.value, TokenType: "Bearer", ExpiresIn: accessTokenLifetimeLeft(t.expiresAt, st.now()),
	}}}
	if slices.Contains(scopes, scopeOpenID) {
		// The machine client's ID token lifetime is 0: it expires as issued.
		p.id = st.idTokenDraft(s.Issuer(), g, 0)
	}
	return p, nil
}
