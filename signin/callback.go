package signin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/shadowaccounts/shadow"
)

// User is the signed-in user, from the verified ID token.
type User struct {
	ID                string // "sub", the ZITADEL user id
	Email             string
	EmailVerified     bool
	Name              string
	GivenName         string
	FamilyName        string
	PreferredUsername string // the login name
	AuthTime          time.Time
	// IDToken is the raw ID token; keep it for LogoutURL's id_token_hint.
	IDToken string
	// Token holds the access token (and a refresh token when the
	// offline_access scope was granted).
	Token *oauth2.Token
	// Claims are the ID token's verified claims, Raw included.
	Claims *shadow.Claims
}

// Result is a finished sign-in.
type Result struct {
	User *User
	// ReturnTo is the local path given to WithReturnTo, or "".
	ReturnTo string
	// Merge says what became of the guest that started the sign-in.
	Merge MergeOutcome
}

// Callback finishes a sign-in at the redirect URL. In order:
//
//  1. the state: the "state" parameter must name a state cookie of this
//     browser, sealed by this Flow together with this browser's browser
//     cookie, not expired and not used before; the cookie is cleared
//     whatever follows. Otherwise an error matching
//     [ErrBadCallback] ([ErrNoState], [ErrUnknownState], [ErrInvalidState],
//     [ErrExpiredState], [ErrReplayedState]).
//  2. an "error" parameter (RFC 6749 §4.1.2.1) gives an [*AuthorizationError].
//  3. the code is exchanged at the token endpoint with the PKCE verifier
//     (POST, not retried: a code is single-use); a failure wraps [ErrExchange].
//  4. the ID token is checked by the Flow's shadow.Verifier (signature,
//     issuer exactly, audience = ClientID, expiry) and its "nonce" against
//     the state's, and "azp" when present (OpenID Connect Core 1.0
//     §3.1.3.7); a failure wraps shadow.ErrInvalidToken.
//  5. with a Manager, the guest sealed into the state at AuthCodeURL is
//     merged into the user (see MergeOutcome; ConfirmMerge may defer it).
//     A merge that fails is not a sign-in failure: Result.Merge.Err is a
//     [*MergeError] and the guest session and data are kept.
//
// On error nothing was merged and res is nil; the app should answer 400
// for ErrBadCallback and ErrAuthorization ([IsBadRequest]), 502 for
// ErrExchange, 503 for shadow.ErrKeysUnavailable (the signing keys could
// not be fetched), 401 for an invalid ID token, and never 500. The app
// signs the user in (its own session) when err is nil. Safe for
// concurrent use.
func (f *Flow) Callback(w http.ResponseWriter, r *http.Request) (*Result, error) {
	q := r.URL.Query()
	id := q.Get("state")
	if id == "" {
		return nil, ErrNoState
	}
	if !validStateID(id) {
		return nil, ErrUnknownState
	}
	c, err := r.Cookie(f.cookie + id)
	if err != nil {
		return nil, ErrUnknownState
	}
	http.SetCookie(w, f.stateCookie(id, "", -1))
	st, err := f.openState(id, c.Value)
	if err != nil {
		return nil, err
	}
	if !f.sameBrowser(r, st) {
		return nil, ErrUnknownState // a state cookie planted from another site
	}
	if !f.used.use(id, f.now(), time.Unix(st.Expiry, 0)) {
		return nil, ErrReplayedState
	}
	if e := q.Get("error"); e != "" {
		return nil, &AuthorizationError{Code: e, Description: q.Get("error_description"), URI: q.Get("error_uri")}
	}
	code := q.Get("code")
	if code == "" {
		return nil, fmt.Errorf("%w: no code in the callback", ErrExchange)
	}
	u, err := f.exchange(r.Context(), code, st)
	if err != nil {
		return nil, err
	}
	res := &Result{User: u, ReturnTo: st.ReturnTo}
	res.Merge = f.mergeOnSignIn(w, r, st.GuestID, u)
	return res, nil
}

// exchange redeems the code and verifies the ID token.
func (f *Flow) exchange(ctx context.Context, code string, st loginState) (*User, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, f.client)
	tok, err := f.oauth.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrExchange, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: token response without id_token", shadow.ErrInvalidToken)
	}
	claims, err := f.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	var idc struct {
		Nonce             string  `json:"nonce"`
		AZP               string  `json:"azp"`
		Email             string  `json:"email"`
		EmailVerified     bool    `json:"email_verified"`
		Name              string  `json:"name"`
		GivenName         string  `json:"given_name"`
		FamilyName        string  `json:"family_name"`
		PreferredUsername string  `json:"preferred_username"`
		AuthTime          float64 `json:"auth_time"`
	}
	if err := claims.Decode(&idc); err != nil {
		return nil, fmt.Errorf("%w: ID token claims: %v", shadow.ErrInvalidToken, err)
	}
	switch {
	case subtle.ConstantTimeCompare([]byte(idc.Nonce), []byte(st.Nonce)) != 1:
		return nil, fmt.Errorf("%w: ID token nonce does not match the sign-in", shadow.ErrInvalidToken)
	case idc.AZP != "" && idc.AZP != f.cfg.ClientID:
		return nil, fmt.Errorf("%w: ID token azp %q is not this client", shadow.ErrInvalidToken, idc.AZP)
	}
	u := &User{ID: claims.Subject, Email: idc.Email, EmailVerified: idc.EmailVerified, Name: idc.Name,
		GivenName: idc.GivenName, FamilyName: idc.FamilyName, PreferredUsername: idc.PreferredUsername,
		IDToken: raw, Token: tok, Claims: claims}
	if idc.AuthTime > 0 {
		u.AuthTime = time.Unix(int64(idc.AuthTime), 0)
	}
	return u, nil
}

// IsBadRequest reports whether err is the caller's fault (a bad callback
// or an authorization error), for which the app answers 400.
func IsBadRequest(err error) bool {
	return errors.Is(err, ErrBadCallback) || errors.Is(err, ErrAuthorization)
}
