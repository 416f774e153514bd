package shadow

import (
	"errors"
	"strings"

	"golang.org/x/oauth2"
)

// Credentials authenticate the SDK as a ZITADEL machine user (a "service
// account") on the user service and as the actor_token of the token
// exchange. Build them with [PAT].
type Credentials struct {
	kind string
	// source builds the token source once New knows the issuer and the
	// HTTP client.
	source func(c *config) (oauth2.TokenSource, error)
	err    error
}

// PAT uses a personal access token of a machine user. ZITADEL fixes its
// scopes at creation and exempts it from the audience check, so it serves
// both the user service and the token exchange as is (zitadel-wire.md
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
