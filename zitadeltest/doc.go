// Package zitadeltest is an in-memory fake of a ZITADEL instance (v4.13 or
// later) for tests: what net/http/httptest is to net/http, it is to
// ZITADEL. It serves the user service, OIDC discovery and keys, the token
// endpoint (token exchange, client credentials, JWT profile, authorization
// code with PKCE, refresh token), a minimal login page, userinfo,
// introspection and revocation over TLS, with ZITADEL's JSON, error
// bodies, error ids and HTTP statuses.
//
// # Starting
//
// In a test, Start returns a running server and closes it when the test
// ends; NewServer does the same without a testing.TB (call Close):
//
//	s := zitadeltest.Start(t)
//	hc := s.Client() // trusts the server's TLS certificate
//	// point the code under test at s.URL (== s.Issuer()) with hc
//
// Options set the access-token lifetime (WithAccessTokenLifetime, 12h by
// default), the base clock (WithClock), the kind of signing key
// (WithWebKey: RSA 2048 with RS256 by default, as in ZITADEL; ECDSA P-256
// with ES256 signs many times faster), projection lag from the start
// (WithProjectionLag) and the metadata key filter mapping
// (WithCorrectMetadataKeyFilter). Invalid options panic.
//
// # Seeded state
//
// Each server holds one organization (OrganizationID), a project
// (ProjectID) with an OIDC application (ClientID: grant types token
// exchange, authorization code and refresh token; auth method none with
// PKCE; JWT access tokens; user info in ID tokens; no redirect URIs until
// SetRedirectURIs), and a service account (ServiceAccount) with the roles
// IAM_USER_MANAGER and IAM_END_USER_IMPERSONATOR and three credentials: a
// personal access token, a key file exactly as ZITADEL downloads it (RSA
// 2048, PKCS#1; the key is generated once per process) and a client secret
// whose client id is the account's login name. The instance's security
// policy allows impersonation (SetImpersonation turns it off).
//
// AddOrganization, AddHumanUser (with a password, metadata, a verified
// e-mail), AddMachineUser (roles, a key file, a client secret, JWT access
// tokens), AddApp (grant types, auth method, secret or public key) and
// SetRedirectURIs change the state directly, under the server's single
// mutex, without HTTP.
//
// # Faults
//
// Faults are typed values armed per Operation, a typed constant, never a
// string: FailNext for the next request of an operation (several queue up
// in order), SetFault for every request until ClearFaults, SetLatency for
// all requests. APIError answers any ZITADEL error by code, id and message
// in the endpoint's body shape (Connect, REST or OAuth); RateLimited
// answers 429 with or without Retry-After; Unavailable 503; Latency delays
// one operation; DropConnection closes the connection before serving and
// DropAfterCommit after the change took effect, so the client cannot know.
//
//	s.FailNext(zitadeltest.OpCreateUser, zitadeltest.Unavailable())
//	s.SetFault(zitadeltest.OpDeleteUser, zitadeltest.APIError(zitadeltest.CodeInternal, "COMMAND-x", "boom"))
//
// SetProjectionLag (or WithProjectionLag) makes the token exchange refuse
// users created moments ago with "subject_token invalid" until a
// GetUserByID reads them or the delay passes, as ZITADEL's lagging
// projection does (docs/zitadel.md §6.7); it is off by default.
//
// # Misconfigurations and regressions
//
// For tests of configuration checks, the seeded working setup can be
// broken one piece at a time: SetImpersonation(false) turns the instance's
// impersonation policy off, RevokeTokens revokes a user's PATs and tokens,
// SetDiscoveryIssuer makes discovery announce another issuer, and
// SetScopeRegression reproduces ZITADEL v4.15.3's token-exchange scope
// regression (issues #12319, #12322). AddApp (an application without the
// token exchange grant) and AddMachineUser (a service account without a
// role) cover the rest. SetVersion sets the release GetInstance reports.
//
// # Clock and keys
//
// Now, SetTime and Advance drive the server's clock, which stamps creation
// and change dates and token times and decides expiry: move it instead of
// sleeping. RotateKeys makes a new signing key current; the previous key
// stays in the JWKS, and its tokens stay valid, until the next RotateKeys.
//
// # Inspection
//
// User, Users, App, CheckPassword and IssuedTokens (PATs, access and
// refresh tokens with kind, user, client, scopes, audience, expiry, actor
// and whether they were revoked) return copies. Requests (method, path,
// status, duration, operation), Count and ResetRequests read the request
// log; every request is logged before its answer is sent. All methods are
// safe for concurrent use.
//
// # Endpoints
//
// User service, over Connect (POST /zitadel.user.v2.UserService/<Method>,
// JSON) and its REST transcoding:
//
//	CreateUser          POST   /v2/users/new
//	GetUserByID         GET    /v2/users/{userId}
//	UpdateUser          PATCH  /v2/users/{userId}
//	DeleteUser          DELETE /v2/users/{userId}
//	ListUsers           POST   /v2/users
//	SetUserMetadata     POST   /v2/users/{userId}/metadata
//	ListUserMetadata    POST   /v2/users/{userId}/metadata/search
//	DeleteUserMetadata  DELETE /v2/users/{userId}/metadata?keys=
//
// Settings service: GetPasswordComplexitySettings over Connect and as GET
// /v2/settings/password/complexity, answering ZITADEL's default policy.
//
// Instance service: GetInstance over Connect, with the release SetVersion
// sets (DefaultVersion otherwise); it needs iam.read, which of the fake's
// roles only RoleIAMOwnerViewer grants.
//
// The API takes "Authorization: Bearer" with a PAT or an access token of
// the server whose audience holds ZITADEL's project (scope
// urn:zitadel:iam:org:project:id:zitadel:aud); impersonated tokens are
// refused with 403 APP-Shi0J. Permissions follow the roles:
// IAM_USER_MANAGER grants user.read, user.write and user.delete on every
// organization, ORG_USER_MANAGER on the machine user's own one,
// IAM_/ORG_END_USER_IMPERSONATOR grant impersonation; users may read (and,
// without metadata or verification changes, update) themselves. Without a
// matching membership the answer is 404 AUTHZ-cdgFk, with memberships but
// not the permission 403 AUTH-AWfge.
//
// OIDC and OAuth at ZITADEL's paths: /.well-known/openid-configuration,
// /oauth/v2/keys, /oauth/v2/token, /oauth/v2/authorize with the login page
// /ui/login/login and the registration page /ui/login/register
// (prompt=create), /oidc/v1/userinfo, /oauth/v2/introspect,
// /oauth/v2/revoke and /oidc/v1/end_session. As in ZITADEL, authorization
// requests have random ids bound to the browser that started them by its
// "zitadel.useragent" cookie (another browser gets 403 EVENT-adk13), and a
// successful login leaves a login session in that browser: the next
// authorization skips the password unless prompt=login or select_account,
// prompt=none answers login_required without one, and end_session (by
// id_token_hint or the browser's cookie) ends it. NewBrowser, SignIn,
// SignInSilently and SignUp drive these pages for tests. The user service
// also serves CreateInviteCode and CreatePasskeyRegistrationLink (Connect
// and REST); InviteCode, PasskeyRegistrationCode and RedeemInviteCode stand
// in for the mails and ZITADEL's invite page. WithTrailingSlashIssuer makes
// the issuer end in "/". Applications authenticate by
// their method: none, client_secret_basic, client_secret_post or
// private_key_jwt. The token endpoint serves token exchange (every case of
// docs/zitadel.md §6), client_credentials (a machine user's login name and
// secret, by Basic with URL-encoded credentials or by post, never both),
// urn:ietf:params:oauth:grant-type:jwt-bearer (an assertion signed with a
// machine key: kid, iss = sub, aud = the issuer, iat at most 1h old),
// authorization_code with PKCE S256 and refresh_token.
//
// # The contract suite
//
// contract_*_test.go state ZITADEL's behaviour case by case over plain
// HTTP. They run against the fake always, and against a real ZITADEL when
// ZITADEL_TEST_ISSUER, ZITADEL_TEST_PAT, ZITADEL_TEST_ORG_ID and
// ZITADEL_TEST_CLIENT_ID are set (go test -run TestContract ./zitadeltest).
//
// # Where the fake follows ZITADEL's oddities
//
//   - ListUsers' metadataKeyFilter swaps CONTAINS and ENDS_WITH (and their
//     IGNORE_CASE variants), as ZITADEL does from v4.1 on;
//     WithCorrectMetadataKeyFilter maps them as documented instead.
//     ListUserMetadata's keyFilter is always correct.
//   - A metadata key filter and a value filter in one AND must match the
//     same metadata entry; filters on a user without metadata compare
//     against NULL, so notQuery does not select it either.
//   - ListUsers sorts descending unless asc is set, by user id when no
//     column is given; limit 0 means no limit.
//   - CreateUser with an existing userId answers 400 failed_precondition,
//     a taken username 409 already_exists.
//   - Token exchange with requested_token_type id_token skips the actor's
//     impersonation permission check, as ZITADEL's code path does.
//   - openid is not a required scope (zitadel/oidc since ZITADEL v2.54):
//     without it no ID token is issued.
//   - The ID token of the client credentials and JWT profile grants
//     expires as it is issued (the machine client's ID token lifetime is
//     0); their answers carry no scope.
//   - An unknown application is invalid_client "no active client not
//     found", an unknown client_credentials client "client not found".
//   - The code grant answers with the auth request's state.
//
// # Known divergences
//
//   - Connect is served with the JSON codec only: application/proto is
//     answered 415 like any unsupported type; gRPC and gRPC-Web are not
//     served. Request JSON is read with encoding/json: field names match
//     case-insensitively, snake_case names are accepted, uint32 fields
//     must be numbers, and decoding error texts differ from protojson's.
//   - Messages are ZITADEL's English texts for the errors the fake raises;
//     request validation reproduces protoc-gen-validate's messages for the
//     rules the fake checks.
//   - Not modelled: hashed passwords, TOTP secrets and password changes
//     verified by the current password or a code (answered Unimplemented),
//     identity providers (IDP links fail as on an instance without IDPs),
//     project roles and role claims, domain policies (the login name is
//     the username), user states other than active, phone number
//     normalization, Actions and rate limits (inject them as faults).
//     Projection lag is off unless switched on; otherwise every read sees
//     every write.
//   - Device authorization is listed in discovery but not served;
//     self-signed JWT subject tokens (subject_token_type jwt) are refused;
//     the feature flag of ZITADEL ≤ v4.10 does not exist.
//   - The client credentials and JWT profile grants never issue a refresh
//     token, even for offline_access (ZITADEL's code would create one; the
//     wire reference says none is issued). Every JWT profile failure,
//     including an unknown user, is invalid_grant "invalid assertion", as
//     docs/zitadel.md §5.2 states; ZITADEL's code may answer some of them
//     differently. Machine keys are RSA only; a machine user has at most
//     one key and one secret.
//   - The login page asks for login name (username or e-mail) and password
//     on one page; there is no MFA or consent. The registration page takes
//     names, e-mail and password (no passkey or identity provider) and
//     creates the user in the seeded organization. Passkeys cannot be
//     registered or used; an invite code is redeemed with a password.
//   - CreatePasskeyRegistrationLink answers NotFound QUERY-Dfbg2 for an
//     unknown user; ZITADEL's command does not look the user up.
//   - Opaque access and refresh tokens are random strings. A username
//     change invalidates the user's access and refresh tokens, not PATs.
//     A PAT's audience is ZITADEL's project, and an access token without
//     it is refused with id APP-Zxfako; neither is confirmed against
//     ZITADEL. ID tokens are not stored, so IssuedTokens does not list them.
//   - The JWKS holds at most two keys: the current one and the one before
//     the last RotateKeys.
//   - Usernames are unique instance-wide, compared case-insensitively.
//     Ids are sequential 18-digit numbers (authorization request ids are
//     random); client ids are "<id>@shadow".
//     Details.sequence counts a user's changes.
//   - UpdateUser with human fields for a machine user, or the reverse, or
//     for an unknown user, answers NotFound COMMAND-ugjs0upun6. An empty
//     metadata key is refused by ZITADEL's command check (USER-Drght on
//     create, META-2m00f on update and set) rather than by a proto length
//     rule.
//   - Authorization requests with an unknown client_id are answered 400
//     invalid_request "unable to retrieve client by id".
//
// The package never imports the SDK (package shadow); it shares only the
// wire types of internal/zitadel.
package zitadeltest
