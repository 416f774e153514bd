package zitadeltest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// The authorization code flow with PKCE: /oauth/v2/authorize, a minimal
// login page standing in for ZITADEL's login UI, and the code grant.

// pathLogin is the login page of ZITADEL's v1 login UI.
const pathLogin = "/ui/login/login"

// codeLifetime is how long an authorization code stays valid.
const codeLifetime = 10 * time.Minute

// serveAuthorize validates an authorization request in zitadel/oidc's
// order and sends the browser to the login page. Errors before the
// redirect URI is known to be registered are answered directly; later
// ones are redirected to the client.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	setOp(r, OpAuthorize)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, invalidRequest("error parsing form"))
		return
	}
	f := r.Form
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if f.Get("client_id") == "" {
		writeOAuthError(w, invalidRequest("auth request is missing client_id"))
		return
	}
	a := st.apps[f.Get("client_id")]
	if a == nil {
		writeOAuthError(w, invalidRequest("unable to retrieve client by id"))
		return
	}
	redirectURI := f.Get("redirect_uri")
	if redirectURI == "" {
		writeOAuthError(w, invalidRequest("auth request is missing redirect_uri"))
		return
	}
	scopes, oerr := validateScopes(scopeList(f.Get("scope")))
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	if !slices.Contains(a.redirectURIs, redirectURI) {
		writeOAuthError(w, invalidRequest("The requested redirect_uri is missing in the client configuration. "+
			"If you have any questions, you may contact the administrator of the application."))
		return
	}
	// The response types of an application follow its grant types: only
	// an application with the authorization_code grant may ask for "code".
	switch rt := f.Get("response_type"); {
	case rt == "":
		writeOAuthError(w, invalidRequest("The response type is missing in your request. "+
			"If you have any questions, you may contact the administrator of the application."))
		return
	case rt != "code" || !a.allowsGrant(zitadel.GrantAuthorizationCode):
		writeOAuthError(w, oauthErr(http.StatusBadRequest, "unauthorized_client",
			"The requested response type is missing in the client configuration. "+
				"If you have any questions, you may contact the administrator of the application."))
		return
	}
	state := f.Get("state")
	challenge, method := f.Get("code_challenge"), f.Get("code_challenge_method")
	switch {
	case challenge == "" && a.authMethod == AuthMethodNone:
		redirectError(w, r, redirectURI, state, "invalid_request", "code_challenge required")
		return
	case challenge != "" && method != "S256":
		redirectError(w, r, redirectURI, state, "invalid_request", "code_challenge_method is not supported")
		return
	}
	prompt := strings.Fields(f.Get("prompt"))
	if slices.Contains(prompt, "none") && len(prompt) > 1 {
		redirectError(w, r, redirectURI, state, "invalid_request", "The prompt parameter `none` must only be used as a single value")
		return
	}
	// Random ids bound to the browser: another browser cannot complete the
	// login of this request (login.go).
	req := &authRequest{
		id: "V2_" + randomToken(16), clientID: a.clientID, redirectURI: redirectURI, scopes: scopes,
		state: state, nonce: f.Get("nonce"), codeChallenge: challenge, loginHint: f.Get("login_hint"),
		audience:  st.projectAudience([]string{a.clientID, st.projectID}, scopes),
		userAgent: userAgentID(w, r, true), prompt: prompt, created: st.now(),
	}
	st.addAuthRequest(req)
	s.routeAuthRequest(w, r, req)
}

// redirectError sends an OAuth error to the client's redirect URI.
func redirectError(w http.ResponseWriter, r *http.Request, redirectURI, state, code, desc string) {
	q := url.Values{"error": {code}, "error_description": {desc}}
	if state != "" {
		q.Set("state", state)
	}
	http.Redirect(w, r, withQuery(redirectURI, q), http.StatusFound)
}

// withQuery adds q to the query of u, keeping what u already has.
func withQuery(u string, q url.Values) string {
	p, err := url.Parse(u)
	if err != nil {
		return u // registered redirect URIs are checked to parse
	}
	v := p.Query()
	for k, vals := range q {
		v[k] = vals
	}
	p.RawQuery = v.Encode()
	return p.String()
}

// pageHead is the head of the fake's login and registration pages:
// readable on a phone (viewport) and in a desktop browser, no assets.
const pageHead = `<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f8;color:#1c1c28}
h1{font-size:1.4rem;margin:0 0 1rem}
form,h1,p{max-width:22rem;margin-left:auto;margin-right:auto}
h1{padding-top:2rem}
label{display:block;margin:0 0 .8rem;font-weight:600}
input{display:block;box-sizing:border-box;width:100%;margin-top:.25rem;padding:.6rem;font:inherit;border:1px solid #b8b8c8;border-radius:6px}
button{width:100%;padding:.7rem;font:inherit;font-weight:600;color:#fff;background:#3a2f9e;border:0;border-radius:6px}
.error{color:#a11;font-weight:600}
</style>
`

var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en">
<head>` + pageHead + `<title>Login</title></head>
<body>
<h1>Login</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="` + pathLogin + `">
<input type="hidden" name="authRequestID" value="{{.AuthRequestID}}">
<label>Login name <input type="text" name="loginName" value="{{.LoginName}}" autocomplete="username"></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit">Next</button>
</form>
</body>
</html>
`))

type loginView struct {
	AuthRequestID, LoginName, Error string
}

// serveLogin shows the login form (GET) and checks the credentials (POST),
// only in the browser that started the request. Wrong credentials show the
// form again with an error; success signs the browser in (a login session,
// ended by end_session) and redirects to the client with a code.
func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	setOp(r, OpLogin)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid form", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	req := s.authRequestOf(w, r)
	if req == nil {
		return
	}
	view := loginView{AuthRequestID: req.id, LoginName: req.loginHint}
	if r.Method != http.MethodPost {
		renderLogin(w, view)
		return
	}
	view.LoginName = r.Form.Get("loginName")
	u := st.userByLoginName(view.LoginName)
	switch {
	case u == nil:
		view.Error = "User could not be found"
	case !u.password.matches(r.Form.Get("password")):
		view.Error = "Password is invalid"
	}
	if view.Error != "" {
		renderLogin(w, view)
		return
	}
	s.issueCode(w, r, req, st.startLoginSession(req.userAgent, u))
}

func renderLogin(w http.ResponseWriter, v loginView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = loginPage.Execute(w, v) // writes to the recorder's buffer
}

// userByLoginName finds the active human user with this username or,
// when unambiguous, e-mail address; both compare case-insensitively.
// Machine users cannot log in.
func (st *state) userByLoginName(name string) *user {
	if name == "" {
		return nil
	}
	if id, ok := st.usernames[strings.ToLower(name)]; ok {
		if u := st.users[id]; !u.machine {
			return u
		}
		return nil
	}
	var found *user
	for _, u := range st.users {
		if !u.machine && strings.EqualFold(u.email, name) {
			if found != nil {
				return nil
			}
			found = u
		}
	}
	return found
}

// codeExchange is the authorization_code grant: the code is single-use,
// bound to its client and redirect URI, and checked against the PKCE
// verifier.
func (s *Server) codeExchange(r *http.Request, a *app) (*pendingTokens, *oauthError) {
	st := s.st
	f := r.Form
	code, redirectURI := f.Get("code"), f.Get("redirect_uri")
	switch {
	case code == "":
		return nil, invalidRequest("code missing")
	case redirectURI == "":
		return nil, invalidRequest("redirect_uri missing")
	}
	c := st.codes[code]
	if c == nil || c.req.clientID != a.clientID || !st.now().Before(c.expiresAt) {
		return nil, invalidRequest("Errors.User.Code.Invalid")
	}
	if c.req.codeChallenge != "" || a.authMethod == AuthMethodNone {
		if oerr := checkCodeVerifier(f.Get("code_verifier"), c.req.codeChallenge); oerr != nil {
			return nil, oerr
		}
	}
	if redirectURI != c.req.redirectURI {
		return nil, oauthErr(http.StatusBadRequest, "invalid_grant", "redirect_uri does not correspond")
	}
	delete(st.codes, code)
	p := s.issueTokens(grant{
		user: st.users[c.userID], app: a, scopes: c.req.scopes, audience: c.req.audience,
		authTime: c.authTime, amr: []string{"pwd"}, nonce: c.req.nonce, sessionID: c.sessionID,
	})
	p.resp.State = c.req.state
	return p, nil
}

// checkCodeVerifier is op.AuthorizeCodeChallenge for S256.
func checkCodeVerifier(verifier, challenge string) *oauthError {
	if challenge == "" {
		if verifier != "" {
			return invalidRequest("code_verifier unexpectedly provided")
		}
		return nil
	}
	if verifier == "" {
		return invalidRequest("code_challenge required")
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) != 1 {
		return oauthErr(http.StatusBadRequest, "invalid_grant", "invalid code challenge")
	}
	return nil
}
