package shadow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// sessionScope is the scope of the guest tokens the cookie helpers ask for:
// the profile claims and the metadata claim that carries the guest tag. No
// "openid", so ZITADEL signs no ID token the cookie would not keep anyway.
const sessionScope = "profile " + zitadel.ScopeUserMetadata

// impersonationScope is Impersonate's scope: sessionScope and an ID token.
const impersonationScope = "openid " + sessionScope

// Impersonate gets a token for the guest by OAuth 2.0 Token Exchange
// (RFC 8693 §2.1) at ZITADEL's token endpoint (POST /oauth/v2/token,
// docs/zitadel.md §6): subject_token is the guest's user id with
// subject_token_type urn:zitadel:params:oauth:token-type:user_id,
// actor_token the service account's token, requested_token_type
// urn:ietf:params:oauth:token-type:jwt, scope "openid profile
// urn:zitadel:iam:user:metadata". The access token is a JWT whose "act"
// claim names the service account.
//
// guestID must come from a sealed session or from Provision, never from
// request input. Impersonate refuses users that are not (or no longer)
// guests with [ErrNotGuest]: a user without the guest tag in the issued
// token's metadata claim (ListUserMetadata when the claim is missing), and
// a registered user whatever its tags say — a machine user, a password, a
// verified e-mail, an e-mail off the guest domain — read with GetUserByID
// concurrently with the exchange (no extra latency; docs/architecture.md
// invariant 8). It also refuses at once a guest this process saw
// upgraded (ErrNotGuest), merged or deleted (ErrNotFound). The checks
// complete with the exchange, so for a user who is no guest ZITADEL may
// still record an impersonation in its audit trail; the token itself is
// dropped. The token request is retried on connection errors,
// 429, 502, 503 and 504. Errors: [*OAuthError] matching [ErrNotFound] (unknown
// user), [ErrImpersonationDisabled] or [ErrPermissionDenied].
func (m *Manager) Impersonate(ctx context.Context, guestID string) (Token, error) {
	start := time.Now()
	ctx = m.begin(ctx, EventImpersonated)
	tok, err := m.impersonate(ctx, guestID, false, impersonationScope)
	m.emit(ctx, Event{Kind: EventImpersonated, GuestID: guestID, Duration: time.Since(start), Err: err})
	return tok, err
}

// Projection lag: ZITADEL reads the subject from an eventually consistent
// projection, so an exchange right after CreateUser may answer
// "subject_token invalid" (docs/zitadel.md §6.7). After a Provision the SDK
// then reads the user once with GetUserByID, which brings the projection up
// to date, and retries the exchange up to lagRetries times, waiting
// lagWait, doubling. That costs 4 sequential round trips (CreateUser, the
// refused exchange, GetUserByID, the exchange); so for lagMemory after a
// refusal, GetUserByID goes out together with the first exchange, and a
// lagging first intent costs 3. Without lag it costs 2 and no read.
const (
	lagRetries = 4
	lagWait    = 50 * time.Millisecond
	lagMemory  = 10 * time.Minute
)

// impersonate runs the exchange with scope; fresh says the guest was
// provisioned just now, so "subject_token invalid" is projection lag, not a
// missing user.
func (m *Manager) impersonate(ctx context.Context, guestID string, fresh bool, scope string) (Token, error) {
	if guestID == "" {
		return Token{}, errors.New("shadow: Impersonate: empty guest id")
	}
	if m.cfg.clientID == "" {
		return Token{}, ErrNoClientID
	}
	if reason, ended := m.tombs.get(guestID); ended { // docs/architecture.md invariant 6
		if reason == EndUpgraded {
			return Token{}, fmt.Errorf("%w: %s was upgraded", ErrNotGuest, guestID)
		}
		return Token{}, fmt.Errorf("%w: guest %s was %s", ErrNotFound, guestID, reason)
	}
	actor, err := m.cfg.bearer(ctx)
	if err != nil {
		return Token{}, errorf("service token: %w", err)
	}
	form := url.Values{
		"grant_type":           {zitadel.GrantTokenExchange},
		"subject_token":        {guestID},
		"subject_token_type":   {zitadel.TokenTypeUserID},
		"actor_token":          {actor},
		"actor_token_type":     {zitadel.TokenTypeAccessToken},
		"requested_token_type": {zitadel.TokenTypeJWT},
		"scope":                {scope},
	}
	// Whether the user is registered is read concurrently with the
	// exchange (same latency); a guest provisioned just now is not read.
	var registeredErr error
	var wg sync.WaitGroup
	if !fresh {
		wg.Go(func() { registeredErr = m.refuseRegistered(ctx, guestID) })
	}
	var tr *zitadel.TokenResponse
	var read <-chan error // GetUserByID, once sent
	if fresh && m.lag.recent() {
		read = m.readUser(ctx, guestID)
	}
	wait := lagWait
	for attempt := 0; ; attempt++ {
		tr, err = m.api.PostToken(ctx, form, m.cfg.clientAuth.apply(m.cfg.exactIssuer, m.cfg.now))
		err = apiErr(ctx, "token exchange", err)
		if err == nil || !fresh || attempt == lagRetries || !errors.Is(err, ErrNotFound) {
			break
		}
		if attempt == 0 {
			m.lag.saw()
			if read == nil {
				read = m.readUser(ctx, guestID)
			}
			if err := <-read; err != nil {
				wg.Wait()
				return Token{}, err
			}
			continue
		}
		if err := sleep(ctx, wait); err != nil {
			wg.Wait()
			return Token{}, err
		}
		wait *= 2
	}
	wg.Wait()
	if registeredErr != nil && (err == nil || errors.Is(registeredErr, ErrNotGuest)) {
		return Token{}, registeredErr // the token, if any, is dropped
	}
	if err != nil {
		return Token{}, err
	}
	tok := Token{AccessToken: tr.AccessToken, IDToken: tr.IDToken, TokenType: tr.TokenType,
		IssuedTokenType: tr.IssuedTokenType, Scope: tr.Scope}
	claims, parsed := readClaims(tr.AccessToken)
	if tr.ExpiresIn > 0 {
		tok.Expiry = m.now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	} else if parsed && claims.Expiry > 0 {
		tok.Expiry = time.Unix(claims.Expiry, 0)
	}
	if err := m.checkTokenIsGuest(ctx, guestID, claims, tr.IDToken); err != nil {
		return Token{}, err
	}
	return tok, nil
}

// checkTokenIsGuest confirms the guest tag from the metadata claim of the
// access token or the ID token, or, when neither carries the claim, from
// ListUserMetadata.
func (m *Manager) checkTokenIsGuest(ctx context.Context, guestID string, access tokenClaims, idToken string) error {
	md := access.Metadata
	if md == nil {
		if c, ok := readClaims(idToken); ok {
			md = c.Metadata
		}
	}
	if md != nil {
		for k := range md {
			if m.isTagKey(k) {
				return nil
			}
		}
		return fmt.Errorf("%w: %s", ErrNotGuest, guestID)
	}
	tags, _, err := m.guestTags(ctx, guestID)
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		return fmt.Errorf("%w: %s", ErrNotGuest, guestID)
	}
	return nil
}

// tokenClaims are the claims Impersonate reads from a token ZITADEL just
// issued to it over TLS; their signature is not checked here (resource
// servers check it with the Verifier).
type tokenClaims struct {
	Subject  string            `json:"sub"`
	Expiry   int64             `json:"exp"`
	Metadata map[string]string `json:"urn:zitadel:iam:user:metadata"`
}

// readClaims decodes the payload of a compact JWS; ok is false for
// anything else (an opaque token, say).
func readClaims(jwt string) (tokenClaims, bool) {
	var c tokenClaims
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return c, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return tokenClaims{}, false
	}
	return c, true
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
