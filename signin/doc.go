// Package signin signs users in with ZITADEL (OpenID Connect, authorization
// code flow with PKCE and a nonce) and merges the guest that started the
// sign-in into the account it signed into.
//
//	flow, err := signin.New(ctx, signin.Config{
//		Issuer: issuer, ClientID: clientID, RedirectURL: "https://shop.example/callback",
//		Secrets: [][]byte{secret}, Manager: mgr,
//	})
//	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) { flow.Start(w, r) })
//	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
//		res, err := flow.Callback(w, r) // verified user; guest merged
//		...
//	})
//
// It lives apart from package shadow so that the root package keeps a small
// surface and apps with their own login need not import it; it builds on
// golang.org/x/oauth2 for the protocol and on shadow's Verifier and
// Manager.MergeInto.
//
// # Security properties
//
//   - Endpoints come from OIDC discovery, whose issuer must equal
//     Config.Issuer byte for byte (OpenID Connect Discovery 1.0 §4.3).
//   - Every sign-in attempt has its own random state and its own sealed,
//     short-lived cookie (PKCE verifier, nonce, guest id, expiry), so any
//     number of tabs sign in at once and the server keeps no memory per
//     started sign-in; used states are remembered (bounded) to refuse
//     replays.
//   - A callback is accepted only in the browser that started it: a login
//     CSRF (an attacker's code and state sent to a victim) finds no state
//     cookie and is refused with ErrUnknownState; nothing is exchanged or
//     merged. Every state is also sealed with the browser's own random
//     cookie (__Host-shadow-browser over https, one per browser, a year),
//     so a state cookie planted by a sibling subdomain (Domain=, which the
//     __Secure- prefix of the state cookies does not stop) is refused too.
//   - The guest to merge is sealed into the state from the sealed guest
//     session at the start, never read from request input; the guest
//     session is cleared only when the merge finished or the guest is gone,
//     so a transient failure loses nothing (Status MergeDeferred).
//   - The ID token is checked by shadow's Verifier (signature, exact
//     issuer, audience, expiry) and its nonce against the state's.
//
// # Sign-up without a password form
//
// WithPrompt(PromptCreate) sends the visitor to ZITADEL's hosted
// registration, where they can register with a passkey or a social login;
// they come back through Callback and their guest is merged into the new
// account. To keep the guest's user id instead, see
// shadow.Manager.UpgradeWithoutPassword, which sets the profile in place
// and returns an invite code or passkey registration link.
//
// See docs/signin.md for a complete handler set.
package signin
