// Package bench holds comparison benchmarks that measure shadow against
// other libraries in the same run: the Verifier against coreos/go-oidc's
// IDTokenVerifier, and the session codec against go-jose's own JWE
// decryption and gorilla/securecookie. It is its own module so that those
// libraries never enter shadow's go.mod. Run it with:
//
//	go test -run '^$' -bench . -benchmem ./bench/
package bench
