package main

import (
	"errors"
	"log"
	"net/http"
	"strings"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/signin"
)

type registerPage struct {
	Layout                layout
	Error                 string
	Problems              []string
	GivenName, FamilyName string
	Email                 string
	OfferLogin            bool
	Passwordless          bool // the error belongs to the passwordless form
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
	s.beginSignIn(w, r, signin.WithLoginHint(p.Email))
}

// invite is a passwordless registration waiting for its first credential,
// for the embedded fake's stand-in of ZITADEL's invite page.
type invite struct {
	UserID, Code, Email string
}

type invitePage struct {
	Layout layout
	Token  string
	Email  string
	Error  string
}

// registerPasswordless upgrades the guest in place without a password
// (same user id, same cart): ZITADEL mails an invite link where the user
// sets a passkey or a password. On the embedded fake, which sends no mail,
// the shop shows that step itself.
func (s *shop) registerPasswordless(w http.ResponseWriter, r *http.Request) {
	if s.currentCustomer(r) != nil {
		s.redirect(w, r, "/", "ok", "You are already signed in.")
		return
	}
	p := shadow.PasswordlessProfile{GivenName: strings.TrimSpace(r.PostFormValue("given_name")),
		FamilyName: strings.TrimSpace(r.PostFormValue("family_name")),
		Email:      strings.TrimSpace(r.PostFormValue("email")), Credential: shadow.InviteCode,
		ReturnCode: s.demo != nil, ApplicationName: "Shadow shop"}
	page := registerPage{GivenName: p.GivenName, FamilyName: p.FamilyName, Email: p.Email, Passwordless: true}
	sess, err := s.ensureGuest(w, r)
	var res shadow.PasswordlessResult
	if err == nil {
		res, err = s.mgr.UpgradeWithoutPassword(r.Context(), sess.GuestID, p)
	}
	if err != nil && !errors.Is(err, shadow.ErrCredentialNotCreated) {
		var rl *shadow.RateLimitError
		if errors.As(err, &rl) {
			s.fail(w, r, "register you", err)
			return
		}
		if errors.Is(err, shadow.ErrNotGuest) || errors.Is(err, shadow.ErrNotFound) {
			s.mgr.ClearSession(w)
		}
		page.Error, page.Problems = upgradeMessage(err)
		page.OfferLogin = errors.Is(err, shadow.ErrEmailTaken)
		page.Layout = s.frame(w, r, "Register · Shadow shop")
		render(w, http.StatusUnprocessableEntity, "register", page)
		return
	}
	s.mgr.ClearSession(w)
	if err != nil { // upgraded, but the invite could not be created
		log.Printf("shop: passwordless upgrade: %v", err)
		s.redirect(w, r, "/", "error", "Your account is created with your cart, but the invite mail could not be sent. Use “forgot password” at the sign-in to set a credential.")
		return
	}
	if s.demo == nil || res.InviteCode == "" {
		s.redirect(w, r, "/", "ok", "Your account is created with your cart. We sent an invite to "+p.Email+": follow its link to set a passkey or password, then sign in.")
		return
	}
	token := randomString()
	s.invites.Put(token, invite{UserID: sess.GuestID, Code: res.InviteCode, Email: p.Email})
	s.redirect(w, r, "/demo/invite/"+token, "ok", "Your account is created with your cart: same user id. On a real ZITADEL an invite mail arrives now; here you set your password on the next page.")
}

// demoInvite stands in for ZITADEL's invite page on the embedded fake.
func (s *shop) demoInvite(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.invites.Get(r.PathValue("token"))
	if s.demo == nil || !ok {
		s.errorPage(w, r, http.StatusNotFound, "This invite is no longer valid.")
		return
	}
	render(w, http.StatusOK, "invite", invitePage{Layout: s.frame(w, r, "Set your password · Shadow shop"),
		Token: r.PathValue("token"), Email: inv.Email})
}

func (s *shop) demoInviteSet(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.invites.Get(r.PathValue("token"))
	if s.demo == nil || !ok {
		s.errorPage(w, r, http.StatusNotFound, "This invite is no longer valid.")
		return
	}
	if err := s.demo.fake.RedeemInviteCode(inv.UserID, inv.Code, r.PostFormValue("password")); err != nil {
		render(w, http.StatusUnprocessableEntity, "invite", invitePage{Layout: s.frame(w, r, "Set your password · Shadow shop"),
			Token: r.PathValue("token"), Email: inv.Email,
			Error: "Please choose a stronger password: at least 8 characters with upper- and lower-case letters, a digit and a symbol."})
		return
	}
	s.invites.Delete(r.PathValue("token"))
	s.beginSignIn(w, r, signin.WithLoginHint(inv.Email))
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
