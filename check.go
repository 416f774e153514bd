package shadow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// CheckStatus is the outcome of one step of [Manager.Check].
type CheckStatus int

// Check outcomes.
const (
	CheckOK      CheckStatus = iota + 1 // the step passed
	CheckWarn                           // it works, but something deserves a look
	CheckFail                           // the SDK will not work until it is fixed
	CheckSkipped                        // not run: an earlier step failed, or the account may not read it
)

// String returns "ok", "warn", "FAIL" or "skipped".
func (s CheckStatus) String() string {
	switch s {
	case CheckOK:
		return "ok"
	case CheckWarn:
		return "warn"
	case CheckFail:
		return "FAIL"
	case CheckSkipped:
		return "skipped"
	}
	return "CheckStatus(" + strconv.Itoa(int(s)) + ")"
}

// CheckStep names a step of [Manager.Check], in the order it runs.
type CheckStep string

// The steps of Check. The exchange steps follow the order in which
// ZITADEL validates a token exchange (docs/zitadel.md §6.2), so the first
// failing one is the cause and the later ones are skipped.
const (
	StepDiscovery           CheckStep = "discovery and issuer"
	StepCredentials         CheckStep = "service credentials"
	StepAPIAccess           CheckStep = "service token accepted"
	StepUserManager         CheckStep = "user manager role"
	StepMetadataSearch      CheckStep = "metadata search"
	StepApplication         CheckStep = "application client and grant type"
	StepImpersonationPolicy CheckStep = "impersonation policy"
	StepProjectAudience     CheckStep = "project audience"
	StepScopeRegression     CheckStep = "known regressions"
	StepImpersonator        CheckStep = "end-user impersonator role"
	StepTokenType           CheckStep = "token type"
	StepVersion             CheckStep = "ZITADEL version"
	StepCleanup             CheckStep = "check guest deleted"
)

// CheckResult is one line of a [CheckReport].
type CheckResult struct {
	Step   CheckStep
	Status CheckStatus
	Detail string // what was found
	Fix    string // for CheckWarn and CheckFail: what to change, and where in the ZITADEL console
	Err    error  // the error behind a failure or a warning, if any
}

// CheckReport is what [Manager.Check] found, one result per step.
type CheckReport struct {
	Results []CheckResult
	// Version is ZITADEL's release (e.g. "v4.15.3") when the service
	// account may read it, else "".
	Version string
}

// OK reports whether no step failed.
func (r CheckReport) OK() bool {
	for _, res := range r.Results {
		if res.Status == CheckFail {
			return false
		}
	}
	return true
}

// Result returns the result of step; ok is false when the step is absent.
func (r CheckReport) Result(step CheckStep) (CheckResult, bool) {
	for _, res := range r.Results {
		if res.Step == step {
			return res, true
		}
	}
	return CheckResult{}, false
}

// String renders the report one line per step, "status  step: detail",
// each fix indented under its line.
func (r CheckReport) String() string {
	var b strings.Builder
	for _, res := range r.Results {
		fmt.Fprintf(&b, "%-7s %s", res.Status, res.Step)
		if res.Detail != "" {
			b.WriteString(": " + res.Detail)
		}
		b.WriteByte('\n')
		if res.Fix != "" {
			b.WriteString("        fix: " + res.Fix + "\n")
		}
	}
	return b.String()
}

// checkCleanupTimeout bounds the deletion of the check guest, which runs
// even when the caller's ctx has ended.
const checkCleanupTimeout = 30 * time.Second

// Check runs the Manager's configuration against the live ZITADEL
// instance, step by step (the Step constants, in order), and reports each
// step as ok, warn, failed (with what to change and where in the console)
// or skipped because an earlier step failed:
//
//   - discovery and issuer: GET /.well-known/openid-configuration answers and
//     its "issuer" equals the Manager's issuer exactly;
//   - service credentials: a service token is obtainable (JWT profile or
//     client credentials grant; a PAT needs none);
//   - service token accepted: ListUsers (limit 1) is not refused with
//     401, that is the PAT or token is valid and meant for ZITADEL's API;
//   - user manager role: Provision creates a check guest (CreateUser in the
//     organization: user.write) and GetUserByID reads it (user.read);
//   - metadata search: ListUsers with a metadataKeyFilter on the guest tag
//     finds the check guest, and one on an absent key does not (ZITADEL
//     before v4.1 drops the filter);
//   - one token exchange for the check guest, exactly as Impersonate sends
//     it, whose error names the step that fails: the application (client
//     authentication, Token Exchange grant type), the instance's
//     impersonation policy, the project audience of a non-PAT actor
//     (ZITADEL ≥ v4.15.3), the known regression of v4.15.3 until the fix of
//     ZITADEL PR #12312 (invalid_scope "openid" not found in subject or
//     actor token; issues #12319, #12322), the end-user impersonator role;
//   - token type: the issued token is a JWT that the Manager's [Verifier]
//     accepts (JWKS, issuer, audience = the client id or the project id)
//     and that carries "act" and the guest tag;
//   - ZITADEL version: GetInstance of the instance service, which needs
//     iam.read; without it the step is skipped (the SDK needs no such
//     right, and the regressions were checked by their symptoms);
//   - check guest deleted: the check guest is deleted whatever happened,
//     even when ctx has ended (with its own timeout of 30 s), so Check leaves
//     no user behind; a guest it could not delete carries the guest tag, and
//     Sweep removes it.
//
// Check sends a handful of requests through the Manager's HTTP client and
// retry policy; ZITADEL records the impersonation in its audit trail. It
// returns an error only when ctx ends before the steps are done; the report
// then holds the steps that ran. Every finding is in the report, never in
// the error: use [CheckReport.OK]. It is safe for concurrent use, and
// delivers the check guest's events to the Observer like any other guest's.
func (m *Manager) Check(ctx context.Context) (CheckReport, error) {
	c := &checker{m: m}
	err := c.run(ctx)
	return c.rep, err
}

// checker runs the steps of Check.
type checker struct {
	m   *Manager
	rep CheckReport
}

func (c *checker) add(step CheckStep, status CheckStatus, detail, fix string, err error) {
	c.rep.Results = append(c.rep.Results, CheckResult{Step: step, Status: status, Detail: detail, Fix: fix, Err: err})
}

func (c *checker) ok(step CheckStep, detail string) { c.add(step, CheckOK, detail, "", nil) }

func (c *checker) fail(step CheckStep, err error, detail, fix string) {
	c.add(step, CheckFail, detail, fix, err)
}

// skip marks steps as skipped with the reason.
func (c *checker) skip(why string, steps ...CheckStep) {
	for _, s := range steps {
		c.add(s, CheckSkipped, why, "", nil)
	}
}

// The steps that depend on a working API, in order.
var (
	apiSteps      = []CheckStep{StepAPIAccess, StepUserManager, StepMetadataSearch}
	exchangeSteps = []CheckStep{StepApplication, StepImpersonationPolicy, StepProjectAudience,
		StepScopeRegression, StepImpersonator, StepTokenType}
)

func (c *checker) run(ctx context.Context) error {
	m := c.m
	if !c.discovery(ctx) {
		c.skip("ZITADEL's discovery did not answer", StepCredentials)
		c.skip("ZITADEL's discovery did not answer", apiSteps...)
		c.skip("ZITADEL's discovery did not answer", exchangeSteps...)
		c.skip("ZITADEL's discovery did not answer", StepVersion, StepCleanup)
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := m.cfg.bearer(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.fail(StepCredentials, err, "no service token: "+err.Error(), c.credentialsFix())
		c.skip("no service token", apiSteps...)
		c.skip("no service token", exchangeSteps...)
		c.skip("no service token", StepVersion, StepCleanup)
		return nil
	}
	c.ok(StepCredentials, m.cfg.creds.kind)
	if !c.apiAccess(ctx) {
		c.skip("the service token was refused", StepUserManager, StepMetadataSearch)
		c.skip("the service token was refused", exchangeSteps...)
		c.skip("the service token was refused", StepVersion, StepCleanup)
		return ctx.Err()
	}
	g, err := m.Provision(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.userManagerFailed(err)
		c.skip("no check guest", StepMetadataSearch)
		c.skip("no check guest", exchangeSteps...)
		c.version(ctx)
		c.skip("no check guest was created", StepCleanup)
		return ctx.Err()
	}
	defer c.cleanup(ctx, g.ID)
	var user zitadel.GetUserByIDResponse
	if err := m.call(zitadel.Idempotent(ctx), zitadel.MethodGetUserByID, zitadel.UserIDRequest{UserID: g.ID}, &user); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.userManagerFailed(err)
	} else {
		c.ok(StepUserManager, "created and read check guest "+g.ID+" in organization "+m.cfg.orgID)
	}
	c.metadataSearch(ctx, g)
	if err := ctx.Err(); err != nil {
		return err
	}
	c.exchange(ctx, g.ID)
	if err := ctx.Err(); err != nil {
		return err
	}
	c.version(ctx)
	return ctx.Err()
}

// discovery checks the OIDC discovery document and its issuer; false means
// ZITADEL could not be asked at all.
func (c *checker) discovery(ctx context.Context) bool {
	m := c.m
	url := m.cfg.issuer + zitadel.PathDiscovery
	req, err := retryablehttp.NewRequestWithContext(zitadel.Idempotent(ctx), http.MethodGet, url, nil)
	if err != nil {
		c.fail(StepDiscovery, err, err.Error(), "Set the issuer to the instance URL, e.g. https://my-instance.zitadel.cloud.")
		return false
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := m.cfg.retryClient.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			c.fail(StepDiscovery, err, "GET "+url+": "+err.Error(),
				"Check the issuer URL (scheme, host, port), the network path to it and, for a private CA, the HTTP client's root certificates (WithHTTPClient).")
		}
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var doc struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
		JWKSURI       string `json:"jwks_uri"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &doc) != nil || doc.Issuer == "" {
		c.fail(StepDiscovery, nil, fmt.Sprintf("GET %s answered HTTP %d without an OpenID configuration", url, resp.StatusCode),
			"The issuer is not a ZITADEL instance URL: use the instance's domain, e.g. https://my-instance.zitadel.cloud, with no path.")
		return false
	}
	switch {
	case doc.Issuer != m.cfg.issuer:
		c.fail(StepDiscovery, nil, fmt.Sprintf("ZITADEL's issuer is %q, the Manager's %q: tokens would not verify", doc.Issuer, m.cfg.issuer),
			fmt.Sprintf("Set the issuer (ZITADEL_ISSUER) to %q exactly, as the console shows it on the application's page (Projects → your project → your application → URLs: Issuer); on a self-hosted ZITADEL, or make ExternalDomain, ExternalPort and ExternalSecure match the URL clients use.", doc.Issuer))
	case doc.TokenEndpoint != m.cfg.issuer+zitadel.PathToken || doc.JWKSURI != m.cfg.issuer+zitadel.PathKeys:
		c.add(StepDiscovery, CheckWarn, fmt.Sprintf("issuer %s, but token endpoint %s and keys %s are not at ZITADEL's default paths, which the SDK uses", doc.Issuer, doc.TokenEndpoint, doc.JWKSURI),
			"Keep ZITADEL's default OIDC endpoint paths (OIDC.CustomEndpoints), or reach the instance at the issuer's own URL.", nil)
	default:
		c.ok(StepDiscovery, "issuer "+doc.Issuer)
	}
	return true
}

// credentialsFix says where each kind of credentials is made.
func (c *checker) credentialsFix() string {
	switch c.m.cfg.creds.kind {
	case "key file":
		return "Create a new key for the service account (Console → Users → Service Users → your account → Keys → New, type JSON) and pass the downloaded file; check that the machine user still exists and that the issuer is right."
	case "client credentials":
		return "Generate a new client secret for the service account (Console → Users → Service Users → your account → Actions → Generate Client Secret); the client id is the account's user name."
	}
	return "Create a new personal access token for the service account (Console → Users → Service Users → your account → Personal Access Tokens → New) and set ZITADEL_PAT."
}

// apiAccess checks that the user service takes the service token; false
// means it did not.
func (c *checker) apiAccess(ctx context.Context) bool {
	m := c.m
	req := zitadel.ListUsersRequest{Query: &zitadel.ListQuery{Limit: 1},
		Queries: []zitadel.SearchQuery{{OrganizationIDQuery: &zitadel.OrganizationIDQuery{OrganizationID: m.cfg.orgID}}}}
	err := m.call(zitadel.Idempotent(ctx), zitadel.MethodListUsers, req, &zitadel.ListUsersResponse{})
	var ae *APIError
	switch {
	case err == nil:
		c.ok(StepAPIAccess, "ListUsers answered")
		return true
	case ctx.Err() != nil:
		return false
	case errors.As(err, &ae) && ae.Code == "unauthenticated":
		fix := c.credentialsFix()
		if m.cfg.creds.kind != "PAT" {
			fix = "The token was refused (" + ae.ID + "): the service account's token must carry ZITADEL's API audience, which the SDK asks for; check that the machine user exists and is active. " + fix
		}
		c.fail(StepAPIAccess, err, "the user service refused the service token: "+err.Error(), fix)
		return false
	case errors.As(err, &ae):
		// Refused for another reason (a permission, say): the token itself
		// is valid; the role steps say more.
		c.add(StepAPIAccess, CheckWarn, "ListUsers: "+err.Error(), "See the role steps below.", err)
		return true
	}
	c.fail(StepAPIAccess, err, "ListUsers: "+err.Error(), "Check that the issuer is the instance URL and that the network path to it works.")
	return false
}

// userManagerFailed reports why the check guest could not be created or read.
func (c *checker) userManagerFailed(err error) {
	m := c.m
	switch {
	case isAPIError(err, "failed_precondition", "COMMAND-QXPGs"):
		c.fail(StepUserManager, err, fmt.Sprintf("organization %q does not exist in this instance", m.cfg.orgID),
			"Set ZITADEL_ORG_ID (WithOrganization) to the Resource Id of the guests' organization: Console → Organization → the organization's page shows it.")
	case errors.Is(err, ErrPermissionDenied):
		c.fail(StepUserManager, err, "the service account may not create or read users: "+err.Error(),
			"Make the service account IAM User Manager (Console → Instance → Administrators → +) or Org User Manager of organization "+m.cfg.orgID+" (Console → Organization → Administrators → +).")
	default:
		c.fail(StepUserManager, err, "creating the check guest failed: "+err.Error(),
			"ZITADEL v4.13 or later is needed (v4.1 to v4.12 with WithLegacyMetadata); see the error for anything else.")
	}
}

// metadataWaits are the pauses between ListUsers attempts while ZITADEL's
// user projection catches up with the new check guest (ListUsers reads it
// without a refresh, docs/zitadel.md §4.4).
var metadataWaits = []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond, time.Second}

// metadataSearch checks ListUsers' metadataKeyFilter, which Sweep relies on.
func (c *checker) metadataSearch(ctx context.Context, g Guest) {
	m := c.m
	key := m.tag(g.CreatedAt).Key
	list := func(key string) ([]zitadel.User, error) {
		req := zitadel.ListUsersRequest{Query: &zitadel.ListQuery{Limit: 10}, Queries: []zitadel.SearchQuery{
			{InUserIDsQuery: &zitadel.InUserIDsQuery{UserIDs: []string{g.ID}}},
			{MetadataKeyFilter: &zitadel.MetadataKeyFilter{Key: key, Method: zitadel.TextFilterEquals}},
		}}
		var resp zitadel.ListUsersResponse
		err := m.call(zitadel.Idempotent(ctx), zitadel.MethodListUsers, req, &resp)
		return resp.Result, err
	}
	found, err := list(key)
	for _, w := range metadataWaits {
		if err != nil || len(found) > 0 || sleep(ctx, w) != nil {
			break
		}
		found, err = list(key)
	}
	if err != nil {
		if ctx.Err() == nil {
			c.fail(StepMetadataSearch, err, "ListUsers with metadataKeyFilter: "+err.Error(),
				"ZITADEL v4.1 or later is needed for metadata filters in ListUsers, which Sweep uses.")
		}
		return
	}
	if len(found) == 0 {
		c.add(StepMetadataSearch, CheckWarn, "ListUsers did not list the check guest by its tag "+key+" within 2 s",
			"ZITADEL's user projection lags; Sweep will find such guests later. If this persists, check ZITADEL's projections.", nil)
		return
	}
	absent, err := list(key + "_SHADOW_CHECK_ABSENT")
	switch {
	case err != nil:
		if ctx.Err() == nil {
			c.fail(StepMetadataSearch, err, "ListUsers with metadataKeyFilter: "+err.Error(), "See the error.")
		}
	case len(absent) > 0:
		c.fail(StepMetadataSearch, nil, "ListUsers ignores metadataKeyFilter: a key the guest lacks still lists it",
			"Upgrade ZITADEL to v4.1 or later: older releases drop the filter, and Sweep would see every user.")
	default:
		c.ok(StepMetadataSearch, "ListUsers finds guests by the tag "+key)
	}
}

// exchange runs one token exchange for the check guest and reports the
// exchange steps.
func (c *checker) exchange(ctx context.Context, guestID string) {
	m := c.m
	if m.cfg.clientID == "" {
		c.skip("no WithClientID: this Manager only sweeps or upgrades, it exchanges no tokens", exchangeSteps...)
		return
	}
	tok, err := m.impersonate(ctx, guestID, true, impersonationScope)
	if ctx.Err() != nil {
		return
	}
	var oe *OAuthError
	failAt := func(step CheckStep, detail, fix string) {
		i := 0
		for exchangeSteps[i] != step {
			c.ok(exchangeSteps[i], "passed")
			i++
		}
		c.fail(step, err, detail, fix)
		c.skip("the token exchange failed at an earlier step", exchangeSteps[i+1:]...)
	}
	switch {
	case err == nil:
		c.ok(StepApplication, "client "+m.cfg.clientID+" may exchange tokens")
		c.ok(StepImpersonationPolicy, "impersonation is enabled")
		if m.cfg.creds.kind == "PAT" {
			c.ok(StepProjectAudience, "a PAT actor needs no project audience")
		} else {
			c.ok(StepProjectAudience, "the service token carries project "+m.cfg.projectID)
		}
		c.ok(StepScopeRegression, "scope "+strconv.Quote(impersonationScope)+" accepted (not affected by ZITADEL issues #12319, #12322)")
		c.ok(StepImpersonator, "the service account may impersonate guests")
		c.tokenType(ctx, guestID, tok)
	case errors.Is(err, ErrNotGuest):
		failAt(StepTokenType, "the issued token's metadata claim lacks the guest tag",
			"Keep the scope urn:zitadel:iam:user:metadata allowed for application "+m.cfg.clientID+" and the tag key (WithTagKey) the same as the one Provision writes.")
	case errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRateLimited):
		failAt(StepApplication, "the token endpoint did not answer: "+err.Error(),
			"ZITADEL was unavailable or rate-limited the check: run it again later.")
	case !errors.As(err, &oe):
		failAt(StepApplication, "token exchange: "+err.Error(), "See the error; the token endpoint is "+m.cfg.issuer+zitadel.PathToken+".")
	case oe.Code == "unauthorized_client":
		failAt(StepApplication, "the application may not use token exchange: "+oe.Error(),
			"Tick the grant type Token Exchange on application "+m.cfg.clientID+" (Console → Projects → your project → your application → Grant Types) and save.")
	case oe.Code == "invalid_client":
		failAt(StepApplication, "ZITADEL does not accept the application's credentials: "+oe.Error(),
			"Check ZITADEL_CLIENT_ID and the application's authentication method (Console → Projects → your project → your application): None (PKCE) needs no secret, Basic or Post a client secret (WithClientSecret), Private Key JWT an application key (WithClientKey).")
	case errors.Is(err, ErrImpersonationDisabled):
		failAt(StepImpersonationPolicy, "the instance's security policy forbids impersonation",
			"Enable impersonation: Console → Default Settings (instance settings) → Security Policy → Impersonation → on, and save.")
	case oe.Description == "actor_token invalid":
		fix := "Set ZITADEL_PROJECT_ID (WithProjectID) to the Resource Id of the project that holds application " + m.cfg.clientID + " (Console → Projects → your project): from ZITADEL v4.15.3 a key-file or client-credentials actor needs its audience (docs/zitadel.md §5.5)."
		if m.cfg.creds.kind == "PAT" {
			fix = "ZITADEL refused the PAT as actor: " + c.credentialsFix()
		}
		failAt(StepProjectAudience, "ZITADEL refused the service token as actor_token", fix)
	case oe.Code == "invalid_scope" && strings.Contains(oe.Description, "not found in subject or actor token"):
		failAt(StepScopeRegression, "ZITADEL refuses user_id impersonation with any scope: "+oe.Description+
			"; this is the regression of ZITADEL v4.15.3 until the fix of PR #12312 (issues #12319, #12322)",
			"Upgrade ZITADEL to a release that contains PR #12312, or run v4.15.2 or earlier; no setting works around it.")
	case errors.Is(err, ErrPermissionDenied):
		failAt(StepImpersonator, "the service account may not impersonate users of organization "+m.cfg.orgID+": "+oe.Error(),
			"Make the service account IAM End User Impersonator (Console → Instance → Administrators → +) or Org End User Impersonator of organization "+m.cfg.orgID+" (Console → Organization → Administrators → +).")
	case errors.Is(err, ErrNotFound):
		failAt(StepImpersonator, "the token exchange did not find the check guest after its retries: "+oe.Error(),
			"ZITADEL's user projection lags behind CreateUser by more than a second; check ZITADEL's projections and database load.")
	default:
		failAt(StepApplication, "token exchange: "+oe.Error(), "See the error (docs/zitadel.md §6.6 lists the token endpoint's errors).")
	}
}

// tokenType checks that the impersonation token is a JWT the Manager's
// Verifier accepts, with "act" and the guest tag.
func (c *checker) tokenType(ctx context.Context, guestID string, tok Token) {
	m := c.m
	if tok.IssuedTokenType != zitadel.TokenTypeJWT || strings.Count(tok.AccessToken, ".") != 2 {
		c.fail(StepTokenType, nil, fmt.Sprintf("ZITADEL issued %q, not a JWT access token", tok.IssuedTokenType),
			"Set the application's Auth Token Type to JWT (Console → Projects → your project → your application → Token Settings) and use a ZITADEL release that honours requested_token_type.")
		return
	}
	// A PAT actor's tokens name the client, a key-file or client-credentials
	// actor's only its project (docs/zitadel.md §6.5): accept either.
	aud := []string{m.cfg.clientID}
	if m.cfg.projectID != "" {
		aud = append(aud, m.cfg.projectID)
	}
	v, err := m.Verifier(WithVerifierClock(m.cfg.now), WithAudience(aud...))
	var claims *Claims
	if err == nil {
		claims, err = v.Verify(ctx, tok.AccessToken)
	}
	switch {
	case err != nil:
		if ctx.Err() == nil {
			c.fail(StepTokenType, err, "the guest's JWT does not verify: "+err.Error(),
				"Resource servers verify with the keys at "+m.cfg.issuer+zitadel.PathKeys+", the issuer and the audience (the client id, or the project id for a key-file or client-credentials actor); check the issuer step, ZITADEL_PROJECT_ID and that the application belongs to that project.")
		}
	case claims.Subject != guestID || claims.Actor == nil || !claims.Guest:
		c.fail(StepTokenType, nil, fmt.Sprintf("the JWT lacks the guest's sub, act or guest tag (sub %q, act %v, guest %v)", claims.Subject, claims.Actor != nil, claims.Guest),
			"Check that the application's tokens carry the user's metadata (scope urn:zitadel:iam:user:metadata).")
	default:
		c.ok(StepTokenType, "JWT access token, verified with the instance's keys; act names "+claims.Actor.Subject)
	}
}

// Releases the version step compares with (docs/zitadel.md §1).
var (
	minVersion        = [3]int{4, 1, 0}  // ListUsers' metadata filters
	atomicVersion     = [3]int{4, 13, 0} // metadata in CreateUser and UpdateUser
	regressionVersion = [3]int{4, 15, 3} // token-exchange scope regression, until PR #12312
)

// version reads ZITADEL's release with GetInstance.
func (c *checker) version(ctx context.Context) {
	m := c.m
	var resp zitadel.GetInstanceResponse
	err := m.api.CallService(zitadel.Idempotent(ctx), zitadel.InstanceServicePath, zitadel.MethodGetInstance,
		zitadel.GetInstanceRequest{}, &resp)
	err = apiErr(ctx, zitadel.MethodGetInstance, err)
	if ctx.Err() != nil {
		return
	}
	if err != nil || resp.Instance == nil || resp.Instance.Version == "" {
		why := "the service account may not read the instance (GetInstance needs iam.read, which the SDK does not need)"
		if err != nil && !errors.Is(err, ErrPermissionDenied) && !errors.Is(err, ErrNotFound) {
			why = "GetInstance: " + err.Error()
		}
		c.skip(why+"; the known regressions were checked by their symptoms", StepVersion)
		return
	}
	v := resp.Instance.Version
	c.rep.Version = v
	n, ok := parseVersion(v)
	switch {
	case !ok:
		c.ok(StepVersion, v+" (not a release number; not compared)")
	case less(n, minVersion):
		c.fail(StepVersion, nil, v+": the SDK needs ZITADEL v4.1 or later", "Upgrade ZITADEL to v4.13 or later.")
	case less(n, atomicVersion) && !m.cfg.legacyMetadata:
		c.fail(StepVersion, nil, v+": CreateUser and UpdateUser take metadata from v4.13 on",
			"Upgrade ZITADEL to v4.13 or later, or use WithLegacyMetadata on v4.1 to v4.12.")
	case less(n, atomicVersion):
		c.add(StepVersion, CheckWarn, v+" with WithLegacyMetadata: the upgrade takes two calls instead of one atomic one",
			"Upgrade ZITADEL to v4.13 or later and drop WithLegacyMetadata.", nil)
	case !less(n, regressionVersion):
		note := "not affected by the scope regression of v4.15.3 (checked above)"
		if r, ok := c.rep.Result(StepScopeRegression); ok && r.Status == CheckFail {
			note = "a release with the scope regression of v4.15.3 (see above)"
		}
		c.ok(StepVersion, v+": "+note+"; a key-file or client-credentials actor needs the project audience")
	default:
		c.ok(StepVersion, v)
	}
}

// parseVersion reads "v4.15.3" (or "4.15.3", with any "-rc.1" suffix).
func parseVersion(s string) ([3]int, bool) {
	var n [3]int
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return n, false
	}
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 {
			return n, false
		}
		n[i] = x
	}
	return n, true
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// cleanup deletes the check guest, even when ctx has ended.
func (c *checker) cleanup(ctx context.Context, guestID string) {
	m := c.m
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkCleanupTimeout)
	defer cancel()
	// The check guest carries the tag (it was created just now), yet the
	// deletion goes through the same check as any other (invariant 1).
	unlock, err := m.lockGuest(ctx, guestID)
	if err == nil {
		defer unlock()
		_, err = m.requireGuest(ctx, guestID)
		if err == nil {
			err = m.deleteGuest(ctx, guestID)
		}
	}
	if err != nil {
		c.fail(StepCleanup, err, "check guest "+guestID+" could not be deleted: "+err.Error(),
			"Delete user "+guestID+" (Console → Users), or let Sweep remove it: it carries the guest tag.")
		return
	}
	c.ok(StepCleanup, "check guest "+guestID+" deleted")
}
