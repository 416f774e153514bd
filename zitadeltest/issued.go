package zitadeltest

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// TokenKind tells the tokens IssuedTokens reports apart.
type TokenKind int

// Token kinds. ID tokens are not stored, so they are not reported.
const (
	TokenPAT     TokenKind = iota + 1 // a machine user's personal access token
	TokenAccess                       // an access token, opaque or JWT
	TokenRefresh                      // a refresh token
)

// String returns "PAT", "Access" or "Refresh".
func (k TokenKind) String() string {
	switch k {
	case TokenPAT:
		return "PAT"
	case TokenAccess:
		return "Access"
	case TokenRefresh:
		return "Refresh"
	}
	return "TokenKind(" + strconv.Itoa(int(k)) + ")"
}

// Actor is the act claim of an impersonated token: who acted, and the
// actor's own actor when it was itself impersonated.
type Actor struct {
	Issuer  string
	Subject string // the actor's user id
	Actor   *Actor
}

// IssuedToken is a copy of a token the server issued.
type IssuedToken struct {
	Kind     TokenKind
	ID       string // the token id (a JWT's jti); "" for refresh tokens
	JWT      bool   // an access token issued as a JWT
	UserID   string // the subject
	ClientID string // the application, or the machine user of a credentials grant; "" for PATs
	Scopes   []string
	Audience []string
	Actor    *Actor // set for impersonated tokens
	IssuedAt time.Time
	// ExpiresAt is the expiry; zero for PATs, which never expire. For
	// refresh tokens it is the absolute expiry (90 days).
	ExpiresAt time.Time
	// Revoked reports a token revoked at /oauth/v2/revoke, ended with its
	// session, rotated (refresh tokens), or invalidated by a username
	// change or the deletion of its user.
	Revoked bool
}

// IssuedTokens returns copies of every PAT, access token and refresh token
// the server issued, oldest first, revoked ones included. Safe for
// concurrent use.
func (s *Server) IssuedTokens() []IssuedToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	type entry struct {
		seq uint64
		t   IssuedToken
	}
	var all []entry
	for _, t := range s.st.tokens {
		kind := TokenAccess
		if t.kind == tokenPAT {
			kind = TokenPAT
		}
		all = append(all, entry{t.seq, IssuedToken{
			Kind: kind, ID: t.id, JWT: t.jwt, UserID: t.userID, ClientID: t.clientID,
			Scopes: slices.Clone(t.scopes), Audience: slices.Clone(t.audience), Actor: t.actor.export(),
			IssuedAt: t.issuedAt, ExpiresAt: t.expiresAt, Revoked: t.revoked,
		}})
	}
	for _, r := range s.st.refresh {
		all = append(all, entry{r.seq, IssuedToken{
			Kind: TokenRefresh, UserID: r.userID, ClientID: r.clientID,
			Scopes: slices.Clone(r.scopes), Audience: slices.Clone(r.audience), Actor: r.actor.export(),
			IssuedAt: r.issuedAt, ExpiresAt: r.absoluteExpiry, Revoked: r.revoked,
		}})
	}
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]IssuedToken, len(all))
	for i, e := range all {
		out[i] = e.t
	}
	return out
}

func (a *actor) export() *Actor {
	if a == nil {
		return nil
	}
	return &Actor{Issuer: a.issuer, Subject: a.subject, Actor: a.act.export()}
}
