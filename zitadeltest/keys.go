package zitadeltest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// signingKey is the instance's web key: RSA 2048 with RS256, ZITADEL's
// default (cmd/defaults.yaml WebKeys).
type signingKey struct {
	id     string
	priv   *rsa.PrivateKey
	signer jose.Signer
}

// signingKey returns the instance key, generating it on first use so that
// servers which never sign a token skip the cost of RSA key generation.
func (st *state) signingKey() *signingKey {
	if st.key != nil {
		return st.key
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("zitadeltest: generate signing key: " + err.Error())
	}
	id := st.newID()
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.RS256,
		Key:       jose.JSONWebKey{Key: priv, KeyID: id, Algorithm: string(jose.RS256), Use: "sig"},
	}, nil)
	if err != nil {
		panic("zitadeltest: create signer: " + err.Error())
	}
	st.key = &signingKey{id: id, priv: priv, signer: signer}
	return st.key
}

// sign returns claims as a compact JWS signed with the instance key.
func (st *state) sign(claims any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic("zitadeltest: encode claims: " + err.Error())
	}
	jws, err := st.signingKey().signer.Sign(payload)
	if err != nil {
		panic("zitadeltest: sign: " + err.Error())
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		panic("zitadeltest: serialize JWS: " + err.Error())
	}
	return s
}

// verifyJWT checks raw's RS256 signature against the instance key and
// returns its payload; ok is false for anything else, including any JWT
// before the key exists.
func (st *state) verifyJWT(raw string) (payload []byte, ok bool) {
	if st.key == nil || strings.Count(raw, ".") != 2 {
		return nil, false
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(jws.Signatures) != 1 || jws.Signatures[0].Header.KeyID != st.key.id {
		return nil, false
	}
	payload, err = jws.Verify(&st.key.priv.PublicKey)
	return payload, err == nil
}

// serveKeys serves the JWKS (GET /oauth/v2/keys).
func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request) {
	setOp(r, OpKeys)
	s.mu.Lock()
	k := s.st.signingKey()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &k.priv.PublicKey, KeyID: k.id, Algorithm: string(jose.RS256), Use: "sig",
	}}}
	s.mu.Unlock()
	// JWKSCacheControlMaxAge defaults to 5m.
	w.Header().Set("Cache-Control", "max-age=300, must-revalidate")
	writeJSON(w, http.StatusOK, set)
}
