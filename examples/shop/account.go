package main

import (
	"errors"
	"log"
	"net/http"
	"strconv"
	"time"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/signin"
)

// Sign-in, sign-up at ZITADEL and sign-out go through package signin: the
// authorization code flow with PKCE and a nonce, a sealed state cookie per
// attempt (any number of tabs, nothing kept on the server per started
// sign-in, the callback accepted only in the browser that started it), the
// ID token checked by the SDK's Verifier, and the merge of exactly the
// guest that started the sign-in.

// customer is a signed-in customer, known from the verified ID token.
type customer struct {
	UserID, Name, Email string
	IDToken             string // for the debug panel and the end_session hint
	AccessToken         string // a JWT (the seeded app issues JWT access tokens)
	FormerGuestID       string // the guest this account was upgraded from, if any
	MergedGuestID       string // the guest merged into this account at sign-in, if any
}

const customerCookie = "shop_customer"

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

// startLogin sends the browser to ZITADEL's sign-in; the form's or query's
// "hint" pre-fills the login name.
func (s *shop) startLogin(w http.ResponseWriter, r *http.Request) {
	var opts []signin.AuthOption
	if hint := r.FormValue("hint"); hint != "" {
		opts = append(opts, signin.WithLoginHint(hint))
	}
	s.beginSignIn(w, r, opts...)
}

// startSignUp sends the browser to ZITADEL's hosted registration
// (prompt=create), where a visitor can register with a passkey or a social
// login; back at the callback, their guest cart moves into the new account.
func (s *shop) startSignUp(w http.ResponseWriter, r *http.Request) {
	s.beginSignIn(w, r, signin.WithPrompt(signin.PromptCreate))
}

func (s *shop) beginSignIn(w http.ResponseWriter, r *http.Request, opts ...signin.AuthOption) {
	if s.currentCustomer(r) != nil {
		s.redirect(w, r, "/", "ok", "You are already signed in.")
		return
	}
	u, err := s.flow.AuthCodeURL(w, r, opts...)
	if err != nil {
		log.Printf("shop: start sign-in: %v", err)
		s.errorPage(w, r, http.StatusInternalServerError, "The sign-in could not be started. Please try again.")
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// callback finishes the sign-in. The guest that started it is merged into
// the account; a merge that fails keeps the guest, its cart and its cookie
// for the sign-out (settleGuest) or the next sign-in.
func (s *shop) callback(w http.ResponseWriter, r *http.Request) {
	res, err := s.flow.Callback(w, r)
	if err != nil {
		s.redirect(w, r, "/", "error", callbackMessage(err))
		return
	}
	u := res.User
	cu := customer{UserID: u.ID, Name: u.Name, Email: u.Email, IDToken: u.IDToken}
	if cu.Name == "" {
		cu.Name = u.Email
	}
	if u.Token != nil {
		cu.AccessToken = u.Token.AccessToken
	}
	if res.Merge.Status == signin.SameUser || s.upgraded.Has(u.ID) {
		cu.FormerGuestID = u.ID
	}
	kind, flash := "ok", "Welcome, "+cu.Name+"."
	switch res.Merge.Status {
	case signin.Merged:
		cu.MergedGuestID = res.Merge.GuestID
		if n := itemCount(res.Merge.Result.Merged); n > 0 {
			flash += " We moved " + plural(n, "item") + " from your guest cart into your account."
		}
	case signin.SameUser:
		flash += " Your account is your guest account: same user id, same cart."
	case signin.MergeDeferred:
		log.Printf("shop: merge deferred: %v", res.Merge.Err)
		kind = "error"
		flash += " We could not move your guest cart just now; it is safe, and we move it into your account when you sign out or sign in again."
	}
	if cu.FormerGuestID != "" && res.Merge.Status != signin.SameUser {
		flash += " Your account is your guest account: same user id, same cart."
	}
	id := randomString()
	s.customers.Put(id, cu)
	s.setCookie(w, customerCookie, id, int(customerTTL/time.Second))
	s.redirect(w, r, "/", kind, flash)
}

// callbackMessage explains a failed callback without ZITADEL's words.
func callbackMessage(err error) string {
	var ae *signin.AuthorizationError
	switch {
	case errors.As(err, &ae) && ae.Code == "access_denied":
		return "The sign-in was cancelled. Your cart is still here."
	case errors.Is(err, signin.ErrUnknownState):
		return "That sign-in was started in another browser or has expired, so it was not used. Please sign in here."
	case errors.Is(err, signin.ErrReplayedState), errors.Is(err, signin.ErrExpiredState):
		return "That sign-in link has expired or was already used. Please sign in again."
	case errors.Is(err, signin.ErrBadCallback):
		return "That sign-in link is not valid. Please sign in again."
	case errors.Is(err, shadow.ErrKeysUnavailable):
		log.Printf("shop: sign-in: %v", err)
		return "ZITADEL cannot be reached just now. Your cart is still here; please sign in again in a moment."
	}
	log.Printf("shop: sign-in: %v", err)
	return "The sign-in did not complete. Your cart is still here; please sign in again."
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
	return strconv.Itoa(n) + " " + word + "s"
}

// logout ends the shop's session and then ZITADEL's (RP-initiated logout
// at end_session), so the next sign-in asks for the password again;
// ZITADEL sends the browser back to the shop.
func (s *shop) logout(w http.ResponseWriter, r *http.Request) {
	cu := s.currentCustomer(r)
	if c, err := r.Cookie(s.cookieName(customerCookie)); err == nil {
		s.customers.Delete(c.Value)
	}
	s.setCookie(w, customerCookie, "", -1)
	msg := "You are signed out."
	if cu != nil {
		msg += s.settleGuest(w, r, cu.UserID)
	}
	s.flash.Set(w, "ok", msg)
	if cu == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	u, err := s.flow.LogoutURL(cu.IDToken, "")
	if err != nil {
		log.Printf("shop: sign out at ZITADEL: %v", err)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// settleGuest runs at sign-out when the browser still holds a guest
// session, the guest of a merge deferred at sign-in: it tries the merge
// into the customer's account again and then clears the guest session
// either way, so that the next person at this browser neither sees the
// customer's guest cart nor, by signing in, gets it merged into their
// account. It returns a sentence for the sign-out message.
func (s *shop) settleGuest(w http.ResponseWriter, r *http.Request, userID string) string {
	if _, err := s.mgr.ReadSession(r); err != nil {
		return ""
	}
	out := signin.MergeSession(w, r, s.mgr, userID)
	s.mgr.ClearSession(w)
	switch out.Status {
	case signin.Merged:
		if n := itemCount(out.Result.Merged); n > 0 {
			return " We moved " + plural(n, "item") + " from your guest cart into your account."
		}
	case signin.MergeDeferred:
		log.Printf("shop: sign-out: %v", out.Err)
		return " Your guest cart could not be moved into your account, so it was removed from this browser."
	}
	return ""
}
