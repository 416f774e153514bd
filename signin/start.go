package signin

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/shadowaccounts/shadow"
)

// Prompt is the OIDC "prompt" parameter (OpenID Connect Core 1.0
// §3.1.2.1), with ZITADEL's "create".
type Prompt string

// Prompts ZITADEL understands.
const (
	// PromptLogin asks for the credentials even when the browser has a
	// ZITADEL session.
	PromptLogin Prompt = "login"
	// PromptSelectAccount shows the account chooser.
	PromptSelectAccount Prompt = "select_account"
	// PromptCreate opens ZITADEL's hosted registration instead of the
	// login: the path for passkeys and social login at sign-up. The new
	// user comes back to the callback like a sign-in, and the guest that
	// started it is merged into them.
	PromptCreate Prompt = "create"
)

// AuthOption adjusts one sign-in.
type AuthOption func(*authParams)

type authParams struct {
	loginHint string
	prompt    Prompt
	returnTo  string
	errs      []error
}

// WithLoginHint pre-fills the login name at ZITADEL ("login_hint").
func WithLoginHint(loginName string) AuthOption {
	return func(p *authParams) { p.loginHint = loginName }
}

// WithPrompt sets "prompt" to one of PromptLogin, PromptSelectAccount or
// PromptCreate.
func WithPrompt(pr Prompt) AuthOption {
	return func(p *authParams) {
		switch pr {
		case PromptLogin, PromptSelectAccount, PromptCreate:
			p.prompt = pr
		default:
			p.errs = append(p.errs, fmt.Errorf("shadow: sign-in: unknown prompt %q", pr))
		}
	}
}

// WithReturnTo seals a local path (such as "/cart") into the state;
// Callback returns it in Result.ReturnTo. Anything but a path starting
// with a single "/" is refused, so it cannot become an open redirect.
func WithReturnTo(path string) AuthOption {
	return func(p *authParams) {
		if !localPath(path) {
			p.errs = append(p.errs, fmt.Errorf("shadow: sign-in: return path %q is not a local path", path))
			return
		}
		p.returnTo = path
	}
}

func localPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "/\\") &&
		!strings.ContainsAny(p, "\r\n\t") && len(p) <= 512
}

// AuthCodeURL starts a sign-in: it sets the attempt's sealed state cookie
// on w (and the browser cookie, when r has none) and returns the URL of ZITADEL's authorization endpoint to send the
// browser to, with response_type=code, client_id, redirect_uri, scope, a
// random state, a random nonce, and code_challenge (S256, RFC 7636 §4.2).
//
// The guest id of r's sealed guest session (Config.Manager's ReadSession),
// if any, is sealed into the state: that guest, and only in this browser,
// is merged by the callback. The guest id never comes from request input.
// AuthCodeURL makes no network call. Errors: an invalid option.
func (f *Flow) AuthCodeURL(w http.ResponseWriter, r *http.Request, opts ...AuthOption) (string, error) {
	var p authParams
	for _, o := range opts {
		o(&p)
	}
	if len(p.errs) > 0 {
		return "", errors.Join(p.errs...)
	}
	st := loginState{
		ID:       randomString(16),
		Verifier: oauth2.GenerateVerifier(),
		Nonce:    randomString(24),
		ReturnTo: p.returnTo,
		Expiry:   f.now().Add(f.cfg.StateLifetime).Unix(),
	}
	if s, ok := f.guestSession(r); ok {
		st.GuestID = s.GuestID
	}
	st.Browser = f.browserID(w, r)
	v, err := f.seal.sealJSON(purposeState, st)
	if err != nil {
		return "", fmt.Errorf("shadow: sign-in: seal state: %w", err)
	}
	http.SetCookie(w, f.stateCookie(st.ID, v, int(f.cfg.StateLifetime.Seconds())))
	aopts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(st.Verifier), oauth2.SetAuthURLParam("nonce", st.Nonce)}
	if p.loginHint != "" {
		aopts = append(aopts, oauth2.SetAuthURLParam("login_hint", p.loginHint))
	}
	if p.prompt != "" {
		aopts = append(aopts, oauth2.SetAuthURLParam("prompt", string(p.prompt)))
	}
	return f.oauth.AuthCodeURL(st.ID, aopts...), nil
}

// Start is AuthCodeURL followed by a 302 redirect to the returned URL. On
// error it writes nothing and returns the error.
func (f *Flow) Start(w http.ResponseWriter, r *http.Request, opts ...AuthOption) error {
	u, err := f.AuthCodeURL(w, r, opts...)
	if err != nil {
		return err
	}
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}

// stateCookie is the cookie of one attempt: HttpOnly, SameSite=Lax (the
// redirect back from ZITADEL is a top-level GET), Secure for an https
// redirect URL, and only sent to the callback's path.
func (f *Flow) stateCookie(id, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: f.cookie + id, Value: value, Path: f.path, MaxAge: maxAge,
		HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteLaxMode}
}

// browserCookieLifetime is how long the browser cookie lives: a year, so
// that it is created once per browser, not per sign-in.
const browserCookieLifetime = 365 * 24 * time.Hour

// browserID returns the value of r's browser cookie, creating the cookie
// on w when r has none. Every state is sealed with it and a callback must
// present the same: a state cookie planted by another site of the same
// domain (Domain=, "cookie tossing", which the __Secure- prefix of the
// state cookies does not stop) comes without it. Over https its name has
// the __Host- prefix, so no other host can set it.
func (f *Flow) browserID(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(f.browser); err == nil && validStateID(c.Value) {
		return c.Value
	}
	id := randomString(16)
	http.SetCookie(w, &http.Cookie{Name: f.browser, Value: id, Path: "/", MaxAge: int(browserCookieLifetime.Seconds()),
		HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteLaxMode})
	return id
}

// sameBrowser reports whether r presents the browser cookie st was sealed
// with.
func (f *Flow) sameBrowser(r *http.Request, st loginState) bool {
	c, err := r.Cookie(f.browser)
	return err == nil && st.Browser != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(st.Browser)) == 1
}

// guestSession reads the guest session of r, if a Manager is configured.
// The session of a guest that ended (upgraded, merged, swept) still names
// its guest, so that the callback recognizes an upgraded user signing in as
// itself (SameUser) or a merged guest (GuestGone) and clears the cookie.
func (f *Flow) guestSession(r *http.Request) (shadow.Session, bool) {
	if f.cfg.Manager == nil {
		return shadow.Session{}, false
	}
	s, err := f.cfg.Manager.ReadSession(r)
	var ended *shadow.GuestEndedError
	if errors.As(err, &ended) {
		return shadow.Session{GuestID: ended.GuestID}, true
	}
	return s, err == nil
}
