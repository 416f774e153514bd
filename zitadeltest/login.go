package zitadeltest

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// The browser side of the login: ZITADEL binds every authorization request
// to the browser that started it by its user-agent cookie, and remembers a
// login session per browser, so that a second sign-in skips the password
// until the session ends (prompt=login, end_session).
//
// Source: internal/auth/repository/eventsourcing/eventstore/auth_request.go
// getAuthRequest refuses an auth request of another user agent with
// PermissionDenied EVENT-adk13 "Errors.AuthRequest.UserAgentNotCorresponding";
// internal/api/http/middleware/user_agent_handler.go sets the cookie.

// userAgentCookie is the name of ZITADEL's user-agent cookie.
const userAgentCookie = "zitadel.useragent"

// pathRegister is the registration page of ZITADEL's v1 login UI, shown for
// prompt=create.
const pathRegister = "/ui/login/register"

// authRequestLifetime is how long an authorization request waits for the
// login; older ones are dropped, and at most maxAuthRequests are kept.
const (
	authRequestLifetime = 30 * time.Minute
	maxAuthRequests     = 10000
)

// maxCodes bounds the authorization codes waiting to be redeemed; expired
// ones are dropped first, then the oldest.
const maxCodes = 10000

// browsers holds per-browser state: login sessions and the first-credential
// codes of users (credential.go).
type browsers struct {
	sessions  map[string]*loginSession // by user-agent id
	authOrder []string                 // ids of st.authReqs, oldest first (some already gone)
	codeOrder []string                 // keys of st.codes, oldest first (some already redeemed)
	invites   map[string]*firstCredentialCode
	passkeys  map[string]*firstCredentialCode
}

// loginSession is a browser's signed-in user at the fake's login.
type loginSession struct {
	id       string // the tokens' "sid"
	userID   string
	authTime time.Time
}

func (b *browsers) init() {
	if b.sessions == nil {
		b.sessions = map[string]*loginSession{}
		b.invites = map[string]*firstCredentialCode{}
		b.passkeys = map[string]*firstCredentialCode{}
	}
}

// userAgentID returns the browser's user-agent id, setting a new cookie on
// w when r has none and create is set.
func userAgentID(w http.ResponseWriter, r *http.Request, create bool) string {
	if c, err := r.Cookie(userAgentCookie); err == nil && c.Value != "" {
		return c.Value
	}
	if !create {
		return ""
	}
	id := randomToken(16)
	http.SetCookie(w, &http.Cookie{Name: userAgentCookie, Value: id, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	return id
}

// addAuthRequest stores req after dropping expired authorization requests
// and, beyond maxAuthRequests, the oldest ones, so that abandoned logins
// take bounded memory.
func (st *state) addAuthRequest(req *authRequest) {
	now := st.now()
	addBounded(st.authReqs, &st.browsers.authOrder, req.id, req, maxAuthRequests,
		func(old *authRequest) bool { return now.Sub(old.created) <= authRequestLifetime })
}

// addCode stores an authorization code after dropping expired codes and,
// beyond maxCodes, the oldest ones: codes nobody redeems (abandoned
// callbacks) take bounded memory.
func (st *state) addCode(code string, c *authCode) {
	now := st.now()
	addBounded(st.codes, &st.browsers.codeOrder, code, c, maxCodes,
		func(old *authCode) bool { return now.Before(old.expiresAt) })
}

// addBounded adds key to m and to order (m's keys, oldest first, some
// already removed from m), first dropping from the front the entries that
// are gone, no longer live or beyond limit. Every entry of one map has the
// same lifetime, so creation order is expiry order and pruning looks at
// the oldest only; order is compacted when it holds mostly removed keys.
func addBounded[V any](m map[string]*V, order *[]string, key string, v *V, limit int, live func(*V) bool) {
	o := *order
	for len(o) > 0 {
		if old := m[o[0]]; old != nil && live(old) && len(m) < limit {
			break
		}
		delete(m, o[0])
		o = o[1:]
	}
	if len(o) > 2*limit {
		kept := o[:0]
		for _, k := range o {
			if m[k] != nil {
				kept = append(kept, k)
			}
		}
		o = kept
	}
	m[key] = v
	*order = append(o, key)
}

// routeAuthRequest sends the browser on after /oauth/v2/authorize stored
// req: straight back with a code when the browser's login session allows
// it, to the registration page for prompt=create, else to the login page.
func (s *Server) routeAuthRequest(w http.ResponseWriter, r *http.Request, req *authRequest) {
	st := s.st
	st.browsers.init()
	sess := st.browsers.sessions[req.userAgent]
	if sess != nil {
		if u := st.users[sess.userID]; u == nil || u.state != zitadel.UserStateActive {
			delete(st.browsers.sessions, req.userAgent)
			sess = nil
		}
	}
	switch {
	case slices.Contains(req.prompt, "none"):
		if sess == nil {
			delete(st.authReqs, req.id)
			redirectError(w, r, req.redirectURI, req.state, "login_required", "Errors.User.NotLoggedIn")
			return
		}
		s.issueCode(w, r, req, sess)
	case slices.Contains(req.prompt, "create"):
		http.Redirect(w, r, pathRegister+"?authRequestID="+url.QueryEscape(req.id), http.StatusFound)
	case sess != nil && !slices.Contains(req.prompt, "login") && !slices.Contains(req.prompt, "select_account"):
		s.issueCode(w, r, req, sess)
	default:
		http.Redirect(w, r, pathLogin+"?authRequestID="+url.QueryEscape(req.id), http.StatusFound)
	}
}

// issueCode ends req with a code for the session's user, sent to the
// client's redirect URI.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, req *authRequest, sess *loginSession) {
	st := s.st
	delete(st.authReqs, req.id)
	code := randomToken(32)
	st.addCode(code, &authCode{req: req, userID: sess.userID, authTime: sess.authTime,
		expiresAt: st.now().Add(codeLifetime), sessionID: sess.id})
	q := url.Values{"code": {code}}
	if req.state != "" {
		q.Set("state", req.state)
	}
	http.Redirect(w, r, withQuery(req.redirectURI, q), http.StatusFound)
}

// startLoginSession signs u in in the browser ua, replacing its session.
func (st *state) startLoginSession(ua string, u *user) *loginSession {
	st.browsers.init()
	sess := &loginSession{id: st.newSessionID(), userID: u.id, authTime: st.now()}
	st.browsers.sessions[ua] = sess
	return sess
}

// endLoginSessions ends the browser login sessions with the session id sid.
func (st *state) endLoginSessions(sid string) {
	for ua, sess := range st.browsers.sessions {
		if sess.id == sid {
			delete(st.browsers.sessions, ua)
		}
	}
}

// authRequestOf finds the authorization request of the login or
// registration form and checks that this browser started it. It answers
// and returns nil when not.
func (s *Server) authRequestOf(w http.ResponseWriter, r *http.Request) *authRequest {
	req := s.st.authReqs[r.Form.Get("authRequestID")]
	if req == nil {
		http.Error(w, "Auth Request does not exist", http.StatusNotFound)
		return nil
	}
	if ua := userAgentID(w, r, false); ua == "" || ua != req.userAgent {
		// EVENT-adk13: the login UI shows the error; the request stays for
		// its own browser.
		http.Error(w, "Errors.AuthRequest.UserAgentNotCorresponding (EVENT-adk13)", http.StatusForbidden)
		return nil
	}
	return req
}

var registerPage = template.Must(template.New("register").Parse(`<!DOCTYPE html>
<html lang="en">
<head>` + pageHead + `<title>Register</title></head>
<body>
<h1>Register</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="` + pathRegister + `">
<input type="hidden" name="authRequestID" value="{{.AuthRequestID}}">
<label>Given name <input type="text" name="firstname" value="{{.GivenName}}" autocomplete="given-name"></label>
<label>Family name <input type="text" name="lastname" value="{{.FamilyName}}" autocomplete="family-name"></label>
<label>E-mail <input type="email" name="email" value="{{.Email}}" autocomplete="email"></label>
<label>Password <input type="password" name="register-password" autocomplete="new-password"></label>
<button type="submit">Register</button>
</form>
</body>
</html>
`))

type registerView struct {
	AuthRequestID, GivenName, FamilyName, Email, Error string
}

// serveRegister is the hosted registration of prompt=create: a new human
// user of the seeded organization with a password and an unverified e-mail
// (ZITADEL would mail a code), signed in in this browser and sent back to
// the client with a code. Passkeys and identity providers are not offered.
func (s *Server) serveRegister(w http.ResponseWriter, r *http.Request) {
	setOp(r, OpRegister)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid form", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	req := s.authRequestOf(w, r)
	if req == nil {
		return
	}
	f := r.Form
	view := registerView{AuthRequestID: req.id, Email: req.loginHint}
	if r.Method != http.MethodPost {
		renderPage(w, registerPage, view)
		return
	}
	view.GivenName, view.FamilyName, view.Email = f.Get("firstname"), f.Get("lastname"), strings.TrimSpace(f.Get("email"))
	u, msg := s.st.register(s.orgID, view.GivenName, view.FamilyName, view.Email, f.Get("register-password"))
	if msg != "" {
		view.Error = msg
		renderPage(w, registerPage, view)
		return
	}
	s.issueCode(w, r, req, s.st.startLoginSession(req.userAgent, u))
}

// register creates a user at the registration page; msg is the page's
// error, empty on success.
func (st *state) register(orgID, given, family, email, password string) (*user, string) {
	switch {
	case strings.TrimSpace(given) == "" || strings.TrimSpace(family) == "":
		return nil, "Given name and family name are required"
	case validEmail(email) != nil:
		return nil, "E-mail is invalid"
	case st.usernameTaken(email, ""):
		return nil, "User already exists"
	}
	if aerr := checkPasswordComplexity(password); aerr != nil {
		return nil, aerr.message()
	}
	u, aerr := st.newUser(orgID, "")
	if aerr != nil {
		return nil, aerr.message()
	}
	u.username = email
	u.givenName, u.familyName = strings.TrimSpace(given), strings.TrimSpace(family)
	u.displayName = u.givenName + " " + u.familyName
	u.preferredLanguage = "und"
	u.email = email
	u.emailCode = randomToken(6)
	u.password = hashPassword(password)
	u.passwordChanged = u.created
	st.insertUser(u)
	return u, ""
}

func renderPage(w http.ResponseWriter, t *template.Template, v any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = t.Execute(w, v) // errors only from the writer
}
