// Package zitadeltest is an in-memory fake of a ZITADEL instance (v4.13 or
// later) for tests: what net/http/httptest is to net/http, it is to
// ZITADEL. It serves the user service, OIDC discovery and keys, the token
// endpoint (token exchange, authorization code with PKCE, refresh token), a
// minimal login page, userinfo and introspection over TLS, with ZITADEL's
// JSON, error bodies, error ids and HTTP statuses.
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
// Each server is seeded with one organization (OrganizationID), a project
// (ProjectID) holding an OIDC application (ClientID: grant types token
// exchange, authorization code and refresh token; auth method none with
// PKCE; JWT access tokens; user info in ID tokens; no redirect URIs until
// SetRedirectURIs), and a service account (ServiceAccount) with the roles
// IAM_USER_MANAGER and IAM_END_USER_IMPERSONATOR and a personal access
// token. The instance's security policy allows impersonation
// (SetImpersonation turns it off). Options set the access-token lifetime
// (WithAccessTokenLifetime, 12h by default), the base clock (WithClock)
// and the metadata key filter mapping (WithCorrectMetadataKeyFilter).
//
// # Helpers and inspection
//
// AddOrganization, AddHumanUser, AddMachineUser, AddApp and SetRedirectURIs
// change the state directly, under the server's single mutex, without
// HTTP. User, Users, App and CheckPassword inspect it and return copies.
// Now, SetTime and Advance drive the server's clock, which stamps creation
// and change dates and token times and decides expiry: move it instead of
// sleeping. Requests, Count and ResetRequests read the request log; every
// request is logged with its Operation before its answer is sent. All
// methods are safe for concurrent use.
//
// # Faults
//
// FailNext arms a fault for the next request of one Operation, SetFault for
// every one until ClearFaults; SetLatency delays every request. Faults are
// typed values: APIError (a ZITADEL error by code, id and message, in the
// endpoint's body shape), RateLimited (429, with or without Retry-After),
// Unavailable (503), Latency, DropConnection (closed before serving) and
// DropAfterCommit (served, then closed before the answer, so the change
// happened but the client cannot know). SetProjectionLag makes the token
// exchange refuse users created moments ago until a GetUserByID reads
// them, as ZITADEL's lagging projection does.
//
//	s.FailNext(zitadeltest.OpCreateUser, zitadeltest.Unavailable())
//	s.SetFault(zitadeltest.OpDeleteUser, zitadeltest.APIError(zitadeltest.CodeInternal, "COMMAND-x", "boom"))
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
// The API takes "Authorization: Bearer" with a PAT or an access token of
// the server whose audience holds ZITADEL's project (scope
// urn:zitadel:iam:org:project:id:zitadel:aud); impersonated tokens are
// refused. Permissions follow the roles: IAM_USER_MANAGER grants user.read,
// user.write and user.delete on every organization, ORG_USER_MANAGER on
// the machine user's own one, IAM_/ORG_END_USER_IMPERSONATOR grant
// impersonation; users may read (and, without metadata or verification
// changes, update) themselves.
//
// OIDC and OAuth at ZITADEL's paths: /.well-known/openid-configuration,
// /oauth/v2/keys (RS256, RSA 2048, generated on first use),
// /oauth/v2/token, /oauth/v2/authorize with the login page
// /ui/login/login, /oidc/v1/userinfo, /oauth/v2/introspect,
// /oauth/v2/revoke and /oidc/v1/end_session. Clients authenticate by their
// application's method: none, client_secret_basic, client_secret_post or
// private_key_jwt.
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
//   - The code and refresh grants answer with the auth request's state.
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
//     the username), user states other than active, Actions and rate
//     limits (inject them as faults). Projection lag is off unless
//     SetProjectionLag turns it on; otherwise every read sees every write.
//   - The client_credentials and jwt-bearer grants answer
//     unsupported_grant_type, since machine secrets and keys are not
//     modelled; device authorization is listed in discovery but not
//     served; self-signed JWT subject tokens are refused.
//   - The login page asks for login name (username or e-mail) and password
//     on one page; there is no MFA, consent or registration.
//   - Opaque access and refresh tokens are random strings. A username
//     change invalidates the user's access and refresh tokens, not PATs.
//     A PAT's audience is ZITADEL's project, and an access token without
//     it is refused with id APP-Zxfako; neither is confirmed against
//     ZITADEL.
//   - Usernames are unique instance-wide, compared case-insensitively.
//     Ids are sequential 18-digit numbers; client ids are "<id>@shadow".
//     Details.sequence counts a user's changes.
//   - UpdateUser with human fields for a machine user, or the reverse,
//     answers NotFound COMMAND-ugjs0upun6. An empty metadata key is
//     refused by ZITADEL's command check (USER-Drght on create, META-2m00f
//     on update and set) rather than by a proto length rule.
//   - Authorization requests with an unknown client_id are answered 400
//     invalid_request "unable to retrieve client by id".
//
// The package never imports the SDK (package shadow); it shares only the
// wire types of internal/zitadel.
package zitadeltest
