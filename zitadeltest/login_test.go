package zitadeltest

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

const callbackURL = "https://app.example.com/callback"

// authorizeURL is an authorization request of the seeded app with prompt.
func authorizeURL(s *Server, prompt string) string {
	q := url.Values{"client_id": {s.ClientID()}, "redirect_uri": {callbackURL}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"st"}, "nonce": {"n"}, "code_challenge": {pkce("v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v")},
		"code_challenge_method": {"S256"}}
	if prompt != "" {
		q.Set("prompt", prompt)
	}
	return s.URL + zitadel.PathAuthorize + "?" + q.Encode()
}

func loginServer(t *testing.T) (*Server, string) {
	t.Helper()
	s := startFixed(t)
	if err := s.SetRedirectURIs(s.ClientID(), callbackURL); err != nil {
		t.Fatal(err)
	}
	id, err := s.AddHumanUser(NewHuman{GivenName: "Ada", FamilyName: "L", Email: "ada@example.com", Password: "Secr3tP4ssw0rd!"})
	if err != nil {
		t.Fatal(err)
	}
	return s, id
}

// TestAuthRequestBoundToBrowser: an attacker who learns a victim's
// authorization request id cannot sign into it from his browser (ZITADEL's
// EVENT-adk13); ids are random.
func TestAuthRequestBoundToBrowser(t *testing.T) {
	t.Parallel()
	s, _ := loginServer(t)
	victim, attacker := browser(s), browser(s)
	first := get(t, victim, authorizeURL(s, ""))
	second := get(t, victim, authorizeURL(s, ""))
	loginURL := s.URL + first.header.Get("Location")
	id := query(t, loginURL, "authRequestID")
	if id == "" || id == query(t, s.URL+second.header.Get("Location"), "authRequestID") || !strings.HasPrefix(id, "V2_") || len(id) < 20 {
		t.Fatalf("auth request ids %q and %q: want random and distinct", id, second.header.Get("Location"))
	}
	_ = get(t, attacker, authorizeURL(s, "")) // the attacker has a user-agent cookie of his own
	for _, c := range []*http.Client{attacker, browser(s)} {
		if r := login(t, s, c, loginURL, "ada@example.com", "Secr3tP4ssw0rd!"); r.status != http.StatusForbidden ||
			!strings.Contains(string(r.body), "EVENT-adk13") {
			t.Errorf("login from another browser: %d %s, want 403 EVENT-adk13", r.status, r.body)
		}
		if r := get(t, c, loginURL); r.status != http.StatusForbidden {
			t.Errorf("login page from another browser: %d", r.status)
		}
	}
	if r := login(t, s, victim, loginURL, "ada@example.com", "Secr3tP4ssw0rd!"); r.status != http.StatusFound ||
		!strings.HasPrefix(r.header.Get("Location"), callbackURL+"?code=") {
		t.Errorf("victim's own login: %d %s", r.status, r.header.Get("Location"))
	}
}

func query(t *testing.T, u, key string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query().Get(key)
}

// TestLoginSession: a signed-in browser skips the form until end_session;
// prompt=login always asks, prompt=none never does.
func TestLoginSession(t *testing.T) {
	t.Parallel()
	s, _ := loginServer(t)
	b := s.NewBrowser()
	if _, err := s.SignInSilently(b, authorizeURL(s, "")); !errors.Is(err, ErrPasswordRequired) {
		t.Fatalf("fresh browser: %v, want ErrPasswordRequired", err)
	}
	cb, err := s.SignInSilently(b, authorizeURL(s, "none"))
	if err != nil || query(t, cb, "error") != "login_required" || query(t, cb, "state") != "st" {
		t.Errorf("prompt=none without session: %q %v, want error=login_required", cb, err)
	}
	if _, err := s.SignIn(b, authorizeURL(s, ""), "ada@example.com", "wrong"); err == nil || !strings.Contains(err.Error(), "Password is invalid") {
		t.Errorf("wrong password: %v", err)
	}
	cb, err = s.SignIn(b, authorizeURL(s, ""), "ada@example.com", "Secr3tP4ssw0rd!")
	if err != nil || query(t, cb, "code") == "" {
		t.Fatalf("SignIn: %q %v", cb, err)
	}
	for _, prompt := range []string{"", "none"} {
		if cb, err := s.SignInSilently(b, authorizeURL(s, prompt)); err != nil || query(t, cb, "code") == "" {
			t.Errorf("signed in, prompt %q: %q %v, want a code", prompt, cb, err)
		}
	}
	for _, prompt := range []string{"login", "select_account"} {
		if _, err := s.SignInSilently(b, authorizeURL(s, prompt)); !errors.Is(err, ErrPasswordRequired) {
			t.Errorf("prompt=%s: %v, want ErrPasswordRequired", prompt, err)
		}
	}
	cb, _ = s.SignInSilently(b, authorizeURL(s, "none login"))
	if query(t, cb, "error") != "invalid_request" {
		t.Errorf("prompt=none login: %q, want invalid_request", cb)
	}
	// The code's tokens carry the session; end_session with their ID token ends it.
	tr := tokenResp(t, form(t, s, zitadel.PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {query(t, cb2(t, s, b), "code")},
		"redirect_uri": {callbackURL}, "client_id": {s.ClientID()}, "code_verifier": {"v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v-v"}}, "", ""))
	other := s.NewBrowser() // end_session from elsewhere, by id_token_hint
	if r := get(t, other, s.URL+zitadel.PathEndSession+"?id_token_hint="+url.QueryEscape(tr.IDToken)); r.status != http.StatusOK {
		t.Fatalf("end_session: %d", r.status)
	}
	if _, err := s.SignInSilently(b, authorizeURL(s, "")); !errors.Is(err, ErrPasswordRequired) {
		t.Errorf("after end_session: %v, want ErrPasswordRequired", err)
	}
	// end_session without a hint ends the calling browser's session.
	if _, err := s.SignIn(b, authorizeURL(s, ""), "ada@example.com", "Secr3tP4ssw0rd!"); err != nil {
		t.Fatal(err)
	}
	if r := get(t, b, s.URL+zitadel.PathEndSession); r.status != http.StatusOK {
		t.Fatalf("end_session: %d", r.status)
	}
	if _, err := s.SignInSilently(b, authorizeURL(s, "")); !errors.Is(err, ErrPasswordRequired) {
		t.Errorf("after end_session without hint: %v, want ErrPasswordRequired", err)
	}
}

// cb2 signs the browser's session in silently and returns the callback.
func cb2(t *testing.T, s *Server, b *http.Client) string {
	t.Helper()
	cb, err := s.SignInSilently(b, authorizeURL(s, ""))
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

func TestRegistrationPage(t *testing.T) {
	t.Parallel()
	s, _ := loginServer(t)
	b := s.NewBrowser()
	if _, err := s.SignUp(b, authorizeURL(s, ""), Registration{}); err == nil {
		t.Error("SignUp without prompt=create reached a registration form")
	}
	for _, c := range []struct {
		reg  Registration
		want string
	}{
		{Registration{GivenName: "G", FamilyName: "H", Email: "not-mail", Password: "Secr3tP4ssw0rd!"}, "E-mail is invalid"},
		{Registration{GivenName: "", FamilyName: "H", Email: "g@example.com", Password: "Secr3tP4ssw0rd!"}, "Given name and family name are required"},
		{Registration{GivenName: "G", FamilyName: "H", Email: "ada@example.com", Password: "Secr3tP4ssw0rd!"}, "User already exists"},
		{Registration{GivenName: "G", FamilyName: "H", Email: "g@example.com", Password: "short"}, "Password is too short"},
	} {
		if _, err := s.SignUp(b, authorizeURL(s, "create"), c.reg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.reg, err, c.want)
		}
	}
	cb, err := s.SignUp(b, authorizeURL(s, "create"), Registration{GivenName: "Grace", FamilyName: "Hopper",
		Email: "grace@example.com", Password: "Secr3tP4ssw0rd!"})
	if err != nil || query(t, cb, "code") == "" {
		t.Fatalf("SignUp: %q %v", cb, err)
	}
	var found *User
	for _, u := range s.Users() {
		if u.Email == "grace@example.com" {
			found = &u
		}
	}
	if found == nil || !found.HasPassword || found.EmailVerified || found.Username != "grace@example.com" || found.OrganizationID != s.OrganizationID() {
		t.Errorf("registered user %+v", found)
	}
	if _, err := s.SignInSilently(b, authorizeURL(s, "")); err != nil {
		t.Errorf("after registration the browser is signed in: %v", err)
	}
}

func TestCreateInviteCode(t *testing.T) {
	t.Parallel()
	s, registered := loginServer(t)
	pat := s.ServiceAccount().PAT
	guest := createGuest(t, s, "guest-1")
	r := connect(t, s, pat, "CreateInviteCode", `{"userId":"`+guest+`","returnCode":{}}`)
	code, _ := s.InviteCode(guest)
	if r.status != http.StatusOK || code == "" || !strings.Contains(string(r.body), `"inviteCode":"`+code+`"`) {
		t.Fatalf("CreateInviteCode returnCode: %d %s (code %q)", r.status, r.body, code)
	}
	// REST: POST /v2/users/{userId}/invite_code; sending mails: no code in the answer.
	r = do(t, s, http.MethodPost, "/v2/users/"+guest+"/invite_code", pat, "application/json",
		`{"sendCode":{"urlTemplate":"https://app.example/invite?u={{.UserID}}&c={{.Code}}","applicationName":"Shop"}}`)
	if r.status != http.StatusOK || strings.Contains(string(r.body), "inviteCode") {
		t.Errorf("REST CreateInviteCode sendCode: %d %s", r.status, r.body)
	}
	code, _ = s.InviteCode(guest)
	checkJSON(t, connect(t, s, pat, "CreateInviteCode", `{"userId":"`+registered+`"}`), http.StatusBadRequest,
		connectError("failed_precondition", "COMMAND-EF34g", "Errors.User.AlreadyInitialised"))
	checkJSON(t, connect(t, s, pat, "CreateInviteCode", `{"userId":"nobody"}`), http.StatusBadRequest,
		connectError("failed_precondition", "COMMAND-Wgvn4", "User could not be found"))
	if r := connect(t, s, pat, "CreateInviteCode", `{"userId":"`+guest+`","returnCode":{},"sendCode":{}}`); r.status != http.StatusBadRequest {
		t.Errorf("both oneof members: %d %s", r.status, r.body)
	}
	if r := connect(t, s, pat, "CreateInviteCode", `{"userId":"`+guest+`","sendCode":{"urlTemplate":"{{.Nope"}}`); r.status != http.StatusBadRequest {
		t.Errorf("broken URL template: %d %s", r.status, r.body)
	}
	if err := s.RedeemInviteCode(guest, "wrong", "Secr3tP4ssw0rd!"); err == nil || !strings.Contains(err.Error(), "COMMAND-Wgn4q") {
		t.Errorf("wrong code: %v", err)
	}
	if err := s.RedeemInviteCode(guest, code, "Secr3tP4ssw0rd!"); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.User(guest); !u.HasPassword || !u.EmailVerified {
		t.Errorf("after redeeming: %+v", u)
	}
	if err := s.RedeemInviteCode(guest, code, "Secr3tP4ssw0rd!"); err == nil {
		t.Error("invite code redeemed twice")
	}
}

func TestCreatePasskeyRegistrationLink(t *testing.T) {
	t.Parallel()
	s, _ := loginServer(t)
	pat := s.ServiceAccount().PAT
	guest := createGuest(t, s, "guest-1")
	r := connect(t, s, pat, "CreatePasskeyRegistrationLink", `{"userId":"`+guest+`","returnCode":{}}`)
	id, code, _ := s.PasskeyRegistrationCode(guest)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"code":{"id":"`+id+`","code":"`+code+`"}`) {
		t.Fatalf("returnCode: %d %s", r.status, r.body)
	}
	r = do(t, s, http.MethodPost, "/v2/users/"+guest+"/passkeys/registration_link", pat, "application/json",
		`{"sendLink":{"urlTemplate":"https://app.example/pk?u={{.UserID}}&i={{.CodeID}}&c={{.Code}}"}}`)
	if r.status != http.StatusOK || strings.Contains(string(r.body), `"code"`) {
		t.Errorf("REST sendLink: %d %s", r.status, r.body)
	}
	if r := connect(t, s, pat, "CreatePasskeyRegistrationLink", `{"userId":"nobody"}`); r.status != http.StatusNotFound {
		t.Errorf("unknown user: %d %s", r.status, r.body)
	}
	if r := connect(t, s, "", "CreatePasskeyRegistrationLink", `{"userId":"`+guest+`"}`); r.status != http.StatusUnauthorized {
		t.Errorf("no token: %d %s", r.status, r.body)
	}
}

// TestAuthRequestsBounded: abandoned authorization requests expire and
// never exceed maxAuthRequests.
func TestAuthRequestsBounded(t *testing.T) {
	t.Parallel()
	s, _ := loginServer(t)
	s.mu.Lock()
	st := s.st
	for range maxAuthRequests + 5 {
		id := randomToken(12)
		st.addAuthRequest(&authRequest{id: id, created: st.now()})
	}
	n := len(st.authReqs)
	s.mu.Unlock()
	if n != maxAuthRequests {
		t.Errorf("%d pending auth requests, want %d", n, maxAuthRequests)
	}
	s.Advance(authRequestLifetime + time.Second)
	s.mu.Lock()
	st.addAuthRequest(&authRequest{id: "last", created: st.now()})
	n = len(st.authReqs)
	order := len(st.browsers.authOrder)
	s.mu.Unlock()
	if n != 1 || order != 1 {
		t.Errorf("%d auth requests (%d in order) after their lifetime, want only the new one", n, order)
	}
}

// TestCodesBounded: codes that are never redeemed (a signed-in browser
// started sign-ins and abandoned their callbacks) expire and never exceed
// maxCodes, so the embedded fake's memory stays bounded.
func TestCodesBounded(t *testing.T) {
	t.Parallel()
	s, _ := loginServer(t)
	b := s.NewBrowser()
	if _, err := s.SignIn(b, authorizeURL(s, ""), "ada@example.com", "Secr3tP4ssw0rd!"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.SignInSilently(b, authorizeURL(s, "")); err != nil {
			t.Fatal(err)
		}
	}
	s.Advance(codeLifetime + time.Second)
	if _, err := s.SignInSilently(b, authorizeURL(s, "")); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	n := len(s.st.codes)
	s.mu.Unlock()
	if n != 1 {
		t.Errorf("%d codes after the others expired, want only the new one", n)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	for range maxCodes + 5 {
		st.addCode(randomToken(12), &authCode{req: &authRequest{}, expiresAt: st.now().Add(codeLifetime)})
	}
	if n, order := len(st.codes), len(st.browsers.codeOrder); n != maxCodes || order > 2*maxCodes+1 {
		t.Errorf("%d codes (%d in order), want %d", n, order, maxCodes)
	}
}
