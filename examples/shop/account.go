package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/shadowaccounts/shadow"
)

// customer is a signed-in customer, known from the OIDC sign-in.
type customer struct {
	UserID, Name, Email string
	IDToken             string // for the debug panel and the end_session hint
	AccessToken         string // a JWT (the seeded app issues JWT access tokens)
	FormerGuestID       string // the guest this account was upgraded from, if any
}

// pendingLogin is an authorization request on its way through ZITADEL.
// It is bound to the browser that started it and remembers the guest (if
// any) whose cart moves into the account when the sign-in completes.
type pendingLogin struct {
	verifier string // PKCE (RFC 7636)
	browser  string // the starting browser's binding cookie
	guestID  string // the guest session open at the start; "" for none
	upgraded bool   // the guest was just upgraded: the account is the guest
}

const (
	customerCookie = "shop_customer"
	browserCookie  = "shop_browser" // binds pending sign-ins to this browser
)

func (s *shop) currentCustomer(r *http.Request) *customer {
	c, err := r.Cookie(s.cookieName(customerCookie))
	if err != nil {
		return nil
	}
	if cu, ok := s.customers.Get(c.Value); ok {
		return &cu
	}
	return nil
}

// browserBinding returns this browser's binding value, setting one first
// if it has none.
func (s *shop) browserBinding(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(s.cookieName(browserCookie)); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	v := randomString()
	s.setCookie(w, browserCookie, v, 0)
	return v
}

// startLogin sends the browser to ZITADEL's authorization endpoint with
// PKCE (S256) and a fresh state per attempt, so several tabs can sign in
// at once; the form's or query's "hint" becomes the login_hint.
func (s *shop) startLogin(w http.ResponseWriter, r *http.Request) {
	if s.currentCustomer(r) != nil {
		s.redirect(w, r, "/", "ok", "You are already signed in.")
		return
	}
	guestID := ""
	if sess, ok := shadow.SessionFromContext(r.Context()); ok {
		guestID = sess.GuestID
	}
	s.beginLogin(w, r, r.FormValue("hint"), guestID, false)
}

func (s *shop) beginLogin(w http.ResponseWriter, r *http.Request, hint, guestID string, upgraded bool) {
	state := randomString()
	verifier := oauth2.GenerateVerifier()
	s.pending.Put(state, pendingLogin{verifier: verifier, browser: s.browserBinding(w, r), guestID: guestID, upgraded: upgraded})
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if hint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", hint))
	}
	http.Redirect(w, r, s.oauth.AuthCodeURL(state, opts...), http.StatusSeeOther)
}

// callback finishes the sign-in. The guest that started it, if its
// session is still this browser's, is merged into the account; a failed
// merge keeps the guest, its cart and its cookie for the next sign-in.
func (s *shop) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, ok := s.pending.Take(q.Get("state"))
	binding, err := r.Cookie(s.cookieName(browserCookie))
	switch {
	case !ok:
		s.redirect(w, r, "/", "error", "That sign-in link has expired or was already used. Please sign in again.")
		return
	case err != nil || binding.Value != p.browser:
		// Another browser's sign-in (a login CSRF): never sign this
		// browser in with it, never merge this browser's guest.
		s.redirect(w, r, "/", "error", "That sign-in was started in another browser, so it was not used. Please sign in here.")
		return
	case q.Get("error") != "":
		msg := "The sign-in did not complete. Your cart is still here; you can try again."
		if q.Get("error") == "access_denied" {
			msg = "The sign-in was cancelled. Your cart is still here."
		}
		s.redirect(w, r, "/", "error", msg)
		return
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, s.client)
	tok, err := s.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		log.Printf("shop: code exchange: %v", err)
		s.redirect(w, r, "/", "error", "The sign-in could not be completed. Your cart is still here; please sign in again.")
		return
	}
	cu, err := s.userinfo(ctx, tok.AccessToken)
	if err != nil {
		log.Printf("shop: userinfo: %v", err)
		s.redirect(w, r, "/", "error", "The sign-in could not be completed. Your cart is still here; please sign in again.")
		return
	}
	cu.AccessToken = tok.AccessToken
	cu.IDToken, _ = tok.Extra("id_token").(string)
	flash := "Welcome, " + cu.Name + "."
	kind := "ok"
	switch {
	case p.upgraded && p.guestID == cu.UserID:
		cu.FormerGuestID = p.guestID
		flash = "Welcome, " + cu.Name + ". Your account is your guest account: same user id, same cart."
	case p.guestID != "" && p.guestID != cu.UserID:
		sess, err := s.mgr.ReadSession(r)
		if err != nil || sess.GuestID != p.guestID {
			break // this browser no longer holds that guest: nothing to merge
		}
		res, err := s.mgr.MergeInto(r.Context(), p.guestID, cu.UserID)
		switch {
		case err == nil:
			if n := itemCount(res.Merged); n > 0 {
				flash += fmt.Sprintf(" We moved %s from your guest cart into your account.", plural(n, "item"))
			}
			s.mgr.ClearSession(w)
		case errors.Is(err, shadow.ErrNotGuest), errors.Is(err, shadow.ErrNotFound):
			s.mgr.ClearSession(w) // nothing left to move
		default:
			// The guest keeps its tag, cart and cookie: the next sign-in
			// moves the cart.
			log.Printf("shop: merge guest %s into %s: %v", p.guestID, cu.UserID, err)
			kind = "error"
			flash += " We could not move your guest cart just now; it is safe and moves into your account at your next sign-in."
		}
	}
	id := randomString()
	s.customers.Put(id, *cu)
	s.setCookie(w, customerCookie, id, int(customerTTL/time.Second))
	s.redirect(w, r, "/", kind, flash)
}

func itemCount(c shadow.Cart) int {
	n := 0
	for _, it := range c.Items {
		n += it.Quantity
	}
	return n
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// userinfo asks ZITADEL who the access token belongs to (OIDC Core §5.3).
func (s *shop) userinfo(ctx context.Context, accessToken string) (*customer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.issuer+"/oidc/v1/userinfo", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("userinfo: HTTP %d", resp.StatusCode)
	}
	var claims struct {
		Sub   string `json:"sub"`
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&claims); err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	if claims.Sub == "" {
		return nil, errors.New("userinfo without sub")
	}
	if claims.Name == "" {
		claims.Name = claims.Email
	}
	return &customer{UserID: claims.Sub, Name: claims.Name, Email: claims.Email}, nil
}

// logout ends the shop's session and then ZITADEL's (RP-initiated logout
// at end_session), which sends the browser back to the shop.
func (s *shop) logout(w http.ResponseWriter, r *http.Request) {
	cu := s.currentCustomer(r)
	if c, err := r.Cookie(s.cookieName(customerCookie)); err == nil {
		s.customers.Delete(c.Value)
	}
	s.setCookie(w, customerCookie, "", -1)
	s.flash.Set(w, "ok", "You are signed out.")
	if cu == nil || cu.IDToken == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	q := url.Values{"id_token_hint": {cu.IDToken}, "post_logout_redirect_uri": {s.baseURL + "/"},
		"client_id": {s.oauth.ClientID}}
	http.Redirect(w, r, s.issuer+"/oidc/v1/end_session?"+q.Encode(), http.StatusSeeOther)
}
