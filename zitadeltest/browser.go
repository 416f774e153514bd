package zitadeltest

import (
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
)

// A login driver for tests: it walks a browser through the fake's real
// authorization endpoint, login and registration pages, so that app tests
// sign users in without scraping HTML.

// ErrPasswordRequired is returned by SignInSilently when the fake shows
// its login form: the browser has no login session the request may use.
var ErrPasswordRequired = errors.New("zitadeltest: the login asks for the password")

// NewBrowser returns an HTTP client with its own cookie jar (a browser)
// that trusts the server's TLS certificate. Use it for the app under test
// too, so that the app's cookies and the fake's user-agent cookie travel
// as in a real browser.
func (s *Server) NewBrowser() *http.Client {
	jar, _ := cookiejar.New(nil) // cookiejar.New never fails without options
	c := *s.Client()
	c.Jar = jar
	return &c
}

// SignIn signs loginName in with password at authURL (the app's
// authorization URL, as its sign-in handler redirected to) through the
// fake's pages in browser, and returns the URL ZITADEL sends the browser
// back to: the app's redirect URI with code and state, or with an error.
// The browser is not sent there; the test does that. A browser already
// signed in at the fake is sent back without the form (unless the request
// has prompt=login). Errors: the login form refused the credentials (its
// message), or the fake answered with an error page.
func (s *Server) SignIn(browser *http.Client, authURL, loginName, password string) (string, error) {
	loc, form, err := s.openAuthURL(browser, authURL)
	if err != nil || loc != "" {
		return loc, err
	}
	if form.action != pathLogin {
		return "", fmt.Errorf("zitadeltest: SignIn: the fake shows %s, not the login form", form.action)
	}
	return s.submit(browser, pathLogin, url.Values{
		"authRequestID": {form.authRequestID}, "loginName": {loginName}, "password": {password},
	})
}

// SignInSilently follows authURL in browser and returns the redirect back
// to the app when the browser's login session at the fake suffices;
// ErrPasswordRequired when the fake shows its login form instead.
func (s *Server) SignInSilently(browser *http.Client, authURL string) (string, error) {
	loc, _, err := s.openAuthURL(browser, authURL)
	if err == nil && loc == "" {
		return "", ErrPasswordRequired
	}
	return loc, err
}

// Registration is what a visitor enters at the fake's hosted registration.
type Registration struct {
	GivenName, FamilyName, Email, Password string
}

// SignUp registers a new user at authURL, an authorization URL with
// prompt=create, through the fake's registration page in browser, and
// returns the URL the browser is sent back to (the app's redirect URI with
// a code). The new user is signed in at the fake.
func (s *Server) SignUp(browser *http.Client, authURL string, reg Registration) (string, error) {
	loc, form, err := s.openAuthURL(browser, authURL)
	if err != nil || loc != "" {
		return loc, err
	}
	if form.action != pathRegister {
		return "", fmt.Errorf("zitadeltest: SignUp: the fake shows %s, not the registration form (prompt=create?)", form.action)
	}
	return s.submit(browser, pathRegister, url.Values{
		"authRequestID": {form.authRequestID}, "firstname": {reg.GivenName}, "lastname": {reg.FamilyName},
		"email": {reg.Email}, "register-password": {reg.Password},
	})
}

// loginForm is the form a fake page shows.
type loginForm struct{ action, authRequestID string }

// stayOnFake copies browser so that it follows redirects on the fake only
// and stops at one leaving it.
func (s *Server) stayOnFake(browser *http.Client) *http.Client {
	host := s.host()
	c := *browser
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != host || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return &c
}

func (s *Server) host() string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return ""
	}
	return u.Host
}

// openAuthURL follows authURL on the fake: it returns the redirect leaving
// the fake, or the form the fake shows.
func (s *Server) openAuthURL(browser *http.Client, authURL string) (string, loginForm, error) {
	resp, err := s.stayOnFake(browser).Get(authURL)
	if err != nil {
		return "", loginForm{}, fmt.Errorf("zitadeltest: open %s: %w", authURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.Header.Get("Location"), loginForm{}, nil
	case resp.StatusCode != http.StatusOK:
		return "", loginForm{}, fmt.Errorf("zitadeltest: %s answered %d: %s", resp.Request.URL.Path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" {
		return "", loginForm{}, fmt.Errorf("zitadeltest: %s is no login page", resp.Request.URL)
	}
	return "", loginForm{action: resp.Request.URL.Path, authRequestID: id}, nil
}

// submit posts a form of the fake and returns the redirect back to the
// app, or the page's error message.
func (s *Server) submit(browser *http.Client, path string, form url.Values) (string, error) {
	resp, err := s.stayOnFake(browser).PostForm(strings.TrimSuffix(s.URL, "/")+path, form)
	if err != nil {
		return "", fmt.Errorf("zitadeltest: post %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return resp.Header.Get("Location"), nil
	}
	msg := strings.TrimSpace(string(body))
	if _, rest, ok := strings.Cut(msg, `role="alert">`); ok {
		msg, _, _ = strings.Cut(rest, "<")
		msg = html.UnescapeString(msg)
	}
	return "", fmt.Errorf("zitadeltest: %s refused: %s", path, msg)
}
