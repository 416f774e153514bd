package main

import (
	"errors"
	"log"
	"net/http"
	"strings"

	"github.com/shadowaccounts/shadow"
)

type registerPage struct {
	Layout                layout
	Error                 string
	Problems              []string
	GivenName, FamilyName string
	Email                 string
	OfferLogin            bool
}

func (s *shop) registerForm(w http.ResponseWriter, r *http.Request) {
	if s.currentCustomer(r) != nil {
		s.redirect(w, r, "/", "ok", "You are already signed in.")
		return
	}
	render(w, http.StatusOK, "register", registerPage{Layout: s.frame(w, r, "Register · Shadow shop")})
}

// register upgrades the guest in place (same user id, same cart) and then
// signs the new account in. A visitor without a guest gets one first, so
// registering always works.
func (s *shop) register(w http.ResponseWriter, r *http.Request) {
	if s.currentCustomer(r) != nil {
		s.redirect(w, r, "/", "ok", "You are already signed in.")
		return
	}
	p := shadow.Profile{GivenName: strings.TrimSpace(r.PostFormValue("given_name")),
		FamilyName: strings.TrimSpace(r.PostFormValue("family_name")),
		Email:      strings.TrimSpace(r.PostFormValue("email")), Password: r.PostFormValue("password")}
	page := registerPage{GivenName: p.GivenName, FamilyName: p.FamilyName, Email: p.Email}
	sess, err := s.ensureGuest(w, r)
	if err == nil {
		_, err = s.mgr.Upgrade(r.Context(), sess.GuestID, p)
	}
	if err != nil {
		var rl *shadow.RateLimitError
		if errors.As(err, &rl) {
			s.fail(w, r, "register you", err)
			return
		}
		if errors.Is(err, shadow.ErrNotGuest) || errors.Is(err, shadow.ErrNotFound) {
			s.mgr.ClearSession(w) // a dead guest: start afresh on the next try
		}
		page.Error, page.Problems = upgradeMessage(err)
		page.OfferLogin = errors.Is(err, shadow.ErrEmailTaken)
		page.Layout = s.frame(w, r, "Register · Shadow shop")
		render(w, http.StatusUnprocessableEntity, "register", page)
		return
	}
	// The guest is now a registered user with the same id and cart: drop
	// the guest cookie and sign the account in for real.
	s.mgr.ClearSession(w)
	s.beginLogin(w, r, p.Email, sess.GuestID, true)
}

// upgradeMessage explains an Upgrade failure in the visitor's words; the
// SDK's and ZITADEL's texts and error ids go to the log only.
func upgradeMessage(err error) (string, []string) {
	var weak *shadow.PasswordPolicyError
	switch {
	case errors.As(err, &weak):
		var missing []string
		for _, rule := range weak.Unmet {
			missing = append(missing, ruleText(rule, weak.MinLength))
		}
		return "Please choose a stronger password. It needs:", missing
	case errors.Is(err, shadow.ErrWeakPassword):
		return "Please choose a stronger password: at least 8 characters with upper and lower case letters, a digit and a symbol.", nil
	case errors.Is(err, shadow.ErrEmailTaken):
		return "An account with this e-mail address exists already. Sign in to it and your cart comes along.", nil
	case errors.Is(err, shadow.ErrInvalidProfile):
		return "Please check the form:", profileProblems(err)
	case errors.Is(err, shadow.ErrNotGuest), errors.Is(err, shadow.ErrNotFound):
		return "Your guest session had ended. Please send the form again to register.", nil
	case errors.Is(err, shadow.ErrGuestBusy):
		return "Your cart is being updated in another tab. Please send the form again in a moment.", nil
	}
	var ae *shadow.APIError
	if errors.As(err, &ae) && ae.HTTPStatus == http.StatusBadRequest {
		log.Printf("shop: upgrade refused: %v", err)
		return "These details were not accepted. Please check your name and e-mail address.", nil
	}
	log.Printf("shop: upgrade: %v", err)
	return "Registration is not possible just now. Nothing was lost; please try again in a moment.", nil
}

func ruleText(r shadow.PasswordRule, minLength int) string {
	switch r {
	case shadow.RuleMinLength:
		if minLength > 0 {
			return "at least " + plural(minLength, "character")
		}
		return "more characters"
	case shadow.RuleLowercase:
		return "a lower-case letter"
	case shadow.RuleUppercase:
		return "an upper-case letter"
	case shadow.RuleNumber:
		return "a digit"
	case shadow.RuleSymbol:
		return "a symbol such as ! or -"
	}
	return string(r)
}

// profileProblems lists the fields the SDK found wrong, in the form's
// words.
func profileProblems(err error) []string {
	msg := err.Error()
	var out []string
	for _, f := range []struct{ field, text string }{
		{"given name", "Your first name is needed (up to 200 characters)."},
		{"family name", "Your last name is needed (up to 200 characters)."},
		{"e-mail", "Please give a plain e-mail address such as you@example.com."},
		{"password", "A password is needed (up to 200 characters)."},
	} {
		if strings.Contains(msg, f.field) {
			out = append(out, f.text)
		}
	}
	if len(out) == 0 {
		out = append(out, "Some details are missing or malformed.")
	}
	return out
}
