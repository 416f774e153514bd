package signin

import (
	"net/url"
)

// LogoutURL returns the URL that signs the user out at ZITADEL too
// (OpenID Connect RP-Initiated Logout 1.0 §2): discovery's
// end_session_endpoint with id_token_hint (the User.IDToken of the
// sign-in; may be empty), client_id, post_logout_redirect_uri
// (Config.PostLogoutRedirectURL, when set) and state (when not empty; it
// comes back on the post-logout redirect). Ending the ZITADEL session means
// the next sign-in asks for the credentials again. The app clears its own
// session before sending the browser there. Errors: [ErrNoEndSession].
func (f *Flow) LogoutURL(idTokenHint, state string) (string, error) {
	if f.discover.EndSessionEndpoint == "" {
		return "", ErrNoEndSession
	}
	u, err := url.Parse(f.discover.EndSessionEndpoint)
	if err != nil {
		return "", ErrNoEndSession
	}
	q := u.Query()
	q.Set("client_id", f.cfg.ClientID)
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if f.cfg.PostLogoutRedirectURL != "" {
		q.Set("post_logout_redirect_uri", f.cfg.PostLogoutRedirectURL)
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
