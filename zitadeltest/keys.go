package zitadeltest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// WebKey is the kind of the instance's signing key, ZITADEL's "web key".
type WebKey int

// Web keys ZITADEL can be configured with (cmd/defaults.yaml WebKeys, the
// v2 web key service).
const (
	WebKeyRSA2048   WebKey = iota // RSA 2048 with RS256: ZITADEL's default
	WebKeyECDSAP256               // ECDSA P-256 with ES256
)

// String returns the key's JOSE algorithm, "RS256" or "ES256".
func (k WebKey) String() string {
	switch k {
	case WebKeyRSA2048:
		return "RS256"
	case WebKeyECDSAP256:
		return "ES256"
	}
	return "WebKey(" + strconv.Itoa(int(k)) + ")"
}

func (k WebKey) valid() bool { return k == WebKeyRSA2048 || k == WebKeyECDSAP256 }

// webKey is one signing key of the instance. It is immutable once made,
// so tokens are signed with it after Server.mu is released.
type webKey struct {
	id     string
	alg    jose.SignatureAlgorithm
	pub    crypto.PublicKey
	signer jose.Signer
}

// newWebKey generates a key of kind k named id; it takes no lock.
func newWebKey(k WebKey, id string) *webKey {
	var (
		priv crypto.Signer
		alg  jose.SignatureAlgorithm
		err  error
	)
	switch k {
	case WebKeyECDSAP256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		alg = jose.ES256
	default:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
		alg = jose.RS256
	}
	if err != nil {
		panic("zitadeltest: generate signing key: " + err.Error())
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: alg,
		Key:       jose.JSONWebKey{Key: priv, KeyID: id, Algorithm: string(alg), Use: "sig"},
	}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic("zitadeltest: create signer: " + err.Error())
	}
	return &webKey{id: id, alg: alg, pub: priv.Public(), signer: signer}
}

// signingKey returns the current key, generating the first one on first
// use so that servers which never sign a token skip key generation.
func (st *state) signingKey() *webKey {
	if len(st.keys) == 0 {
		st.setKeys([]*webKey{newWebKey(st.webKey, st.newID())})
	}
	return st.keys[len(st.keys)-1]
}

// setKeys replaces the key set, current key last, and renders the JWKS
// once for every request that follows.
func (st *state) setKeys(keys []*webKey) {
	st.keys = keys
	set := jose.JSONWebKeySet{}
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.pub, KeyID: k.id, Algorithm: string(k.alg), Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic("zitadeltest: encode JWKS: " + err.Error())
	}
	st.jwks = b
}

// RotateKeys makes a new signing key current, with a new kid, and returns
// that kid. The previous key stays in the JWKS, and tokens it signed stay
// valid, until the next RotateKeys removes it; tokens signed by a removed
// key are refused like any invalid token. Safe for concurrent use.
func (s *Server) RotateKeys() string {
	s.mu.Lock()
	kind, id := s.st.webKey, s.st.newID()
	s.mu.Unlock()
	k := newWebKey(kind, id) // generated without holding the lock
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := []*webKey{k}
	if n := len(s.st.keys); n > 0 {
		keys = []*webKey{s.st.keys[n-1], k}
	}
	s.st.setKeys(keys)
	return k.id
}

// jwtDraft is a JWT whose claims are fixed under Server.mu; it is signed
// after the mutex is released, since signing dominates token issuance.
type jwtDraft struct {
	key    *webKey
	claims map[string]any
}

func (st *state) draft(claims map[string]any) *jwtDraft {
	return &jwtDraft{key: st.signingKey(), claims: claims}
}

// sign returns the draft as a compact JWS.
func (d *jwtDraft) sign() string {
	payload, err := json.Marshal(d.claims)
	if err != nil {
		panic("zitadeltest: encode claims: " + err.Error())
	}
	jws, err := d.key.signer.Sign(payload)
	if err != nil {
		panic("zitadeltest: sign: " + err.Error())
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		panic("zitadeltest: serialize JWS: " + err.Error())
	}
	return s
}

// verifyJWT checks raw's signature against the instance keys and returns
// its payload; ok is false for anything else, including any JWT before the
// first key exists and JWTs of a key RotateKeys has removed.
func (st *state) verifyJWT(raw string) (payload []byte, ok bool) {
	if len(st.keys) == 0 || strings.Count(raw, ".") != 2 {
		return nil, false
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, false
	}
	h := jws.Signatures[0].Header
	for _, k := range st.keys {
		if k.id == h.KeyID && string(k.alg) == h.Algorithm {
			payload, err = jws.Verify(k.pub)
			return payload, err == nil
		}
	}
	return nil, false
}

// serveKeys serves the JWKS (GET /oauth/v2/keys): the current key and the
// one before the last RotateKeys.
func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request) {
	setOp(r, OpKeys)
	s.mu.Lock()
	s.st.signingKey()
	body := s.st.jwks
	s.mu.Unlock()
	// JWKSCacheControlMaxAge defaults to 5m.
	w.Header().Set("Cache-Control", "max-age=300, must-revalidate")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
