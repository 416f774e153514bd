package zitadeltest_test

// The contract suite states ZITADEL's behaviour case by case, over plain
// HTTP and without the SDK, following docs/zitadel.md. It runs
// against the fake always, and against a real ZITADEL (v4.13 or later)
// when these variables are set:
//
//	ZITADEL_TEST_ISSUER     the instance URL, e.g. https://my-instance.zitadel.cloud
//	ZITADEL_TEST_PAT        a service account's PAT with IAM_USER_MANAGER and IAM_END_USER_IMPERSONATOR
//	ZITADEL_TEST_ORG_ID     the organization the cases create users in
//	ZITADEL_TEST_CLIENT_ID  an OIDC application with the token-exchange grant and auth method none
//
// The instance must allow impersonation. Every user a case creates gets a
// random id and is deleted when the case ends. Cases that need setup only
// the fake offers (a clock, faults, extra applications or machine users
// with chosen roles, flipping instance policies) skip on a real instance,
// saying why.
//
// The suite lives in package zitadeltest_test, beside the fake, so that
// "go test ./zitadeltest" always runs it and it sees only the exported API.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/shadowaccounts/shadow/zitadeltest"
)

// instance is the ZITADEL a case runs against.
type instance struct {
	issuer, pat, orgID, clientID string
	hc                           *http.Client
	// fake is the fake behind issuer; nil on a real ZITADEL.
	fake *zitadeltest.Server
}

// contractCase is one statement about ZITADEL's behaviour.
type contractCase struct {
	name string
	// fakeOnly, when set, says why the case cannot run on a real ZITADEL.
	fakeOnly string
	run      func(t *testing.T, z *instance)
}

// contractCases collects the cases of the contract_*_test.go files.
func contractCases() []contractCase {
	return slices.Concat(transportCases, userCases, listCases, metadataCases, permissionCases,
		oidcCases, credentialCases, exchangeCases, kitCases)
}

func TestContract(t *testing.T) {
	t.Parallel()
	t.Run("fake", func(t *testing.T) {
		t.Parallel()
		runContract(t, fakeInstance(t))
	})
	t.Run("zitadel", func(t *testing.T) {
		t.Parallel()
		env := map[string]string{}
		for _, k := range []string{"ZITADEL_TEST_ISSUER", "ZITADEL_TEST_PAT", "ZITADEL_TEST_ORG_ID", "ZITADEL_TEST_CLIENT_ID"} {
			if env[k] = os.Getenv(k); env[k] == "" {
				t.Skipf("no real ZITADEL: set ZITADEL_TEST_ISSUER, ZITADEL_TEST_PAT, ZITADEL_TEST_ORG_ID and ZITADEL_TEST_CLIENT_ID to run the contract suite against one (%s is empty)", k)
			}
		}
		runContract(t, &instance{
			issuer: strings.TrimSuffix(env["ZITADEL_TEST_ISSUER"], "/"), pat: env["ZITADEL_TEST_PAT"],
			orgID: env["ZITADEL_TEST_ORG_ID"], clientID: env["ZITADEL_TEST_CLIENT_ID"], hc: http.DefaultClient,
		})
	})
}

func runContract(t *testing.T, z *instance) {
	names := map[string]bool{}
	for _, c := range contractCases() {
		if names[c.name] {
			t.Fatalf("duplicate contract case %q", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			if c.fakeOnly != "" && z.fake == nil {
				t.Skip("needs the fake: " + c.fakeOnly)
			}
			t.Parallel()
			c.run(t, z)
		})
	}
}

// fakeInstance starts a fake and describes it like a real instance.
func fakeInstance(t *testing.T, opts ...zitadeltest.Option) *instance {
	t.Helper()
	s := zitadeltest.Start(t, opts...)
	return &instance{issuer: s.Issuer(), pat: s.ServiceAccount().PAT, orgID: s.OrganizationID(),
		clientID: s.ClientID(), hc: s.Client(), fake: s}
}

// own returns a fake of the case's own, for cases that change
// instance-wide settings (policies, clock, faults).
func own(t *testing.T, opts ...zitadeltest.Option) *instance {
	t.Helper()
	return fakeInstance(t, opts...)
}

// randomID returns a fresh id with a prefix, unique across runs.
func randomID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// reply is an HTTP answer with its body.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// obj decodes a JSON object body.
func (r reply) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object (%d): %v: %.500s", r.status, err, r.body)
	}
	return m
}

// send sends a request and reads the answer.
func (z *instance) send(t *testing.T, method, path string, h http.Header, body string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, z.issuer+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := z.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func bearer(token string) http.Header {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return h
}

// connectAs calls a user-service method over Connect with a token.
func (z *instance) connectAs(t *testing.T, token, method, body string) reply {
	t.Helper()
	h := bearer(token)
	h.Set("Content-Type", "application/json")
	return z.send(t, http.MethodPost, "/zitadel.user.v2.UserService/"+method, h, body)
}

// connect calls a user-service method over Connect with the service PAT.
func (z *instance) connect(t *testing.T, method, body string) reply {
	t.Helper()
	return z.connectAs(t, z.pat, method, body)
}

// rest calls the REST transcoding with the service PAT.
func (z *instance) rest(t *testing.T, method, path, body string) reply {
	t.Helper()
	h := bearer(z.pat)
	if body != "" {
		h.Set("Content-Type", "application/json")
	}
	return z.send(t, method, path, h, body)
}

// token posts a form to the token endpoint, with Basic authentication when
// user is set (URL-encoded, RFC 6749 §2.3.1).
func (z *instance) post(t *testing.T, path string, form url.Values, user, pass string) reply {
	t.Helper()
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if user != "" {
		r := http.Request{Header: h}
		r.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return z.send(t, http.MethodPost, path, h, form.Encode())
}

func (z *instance) token(t *testing.T, form url.Values) reply {
	t.Helper()
	return z.post(t, "/oauth/v2/token", form, "", "")
}

// ok fails the test unless r is a 200, and returns its JSON object.
func ok(t *testing.T, r reply) map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %.1000s", r.status, r.body)
	}
	return r.obj(t)
}

// wantStatus checks the status code.
func wantStatus(t *testing.T, r reply, status int) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d: %.1000s", r.status, status, r.body)
	}
}

// wantConnectError checks a Connect error body: {"code": code, "message":
// "… (<id>)", "details": [{"type": "zitadel.v1.ErrorDetail", "value": …,
// "debug": {"id": id, "message": …}}]}; with id "" it checks a body without
// details (request validation).
func wantConnectError(t *testing.T, r reply, status int, code, id string) {
	t.Helper()
	wantStatus(t, r, status)
	b := r.obj(t)
	msg, _ := b["message"].(string)
	if b["code"] != code {
		t.Errorf("code %v, want %q: %s", b["code"], code, r.body)
	}
	if id == "" {
		if b["details"] != nil || msg == "" {
			t.Errorf("want a message without details: %s", r.body)
		}
		return
	}
	if !strings.HasSuffix(msg, " ("+id+")") {
		t.Errorf("message %q does not end with (%s)", msg, id)
	}
	details, _ := b["details"].([]any)
	if len(details) != 1 {
		t.Fatalf("details %v, want one", b["details"])
	}
	d := details[0].(map[string]any)
	debug, _ := d["debug"].(map[string]any)
	value, _ := d["value"].(string)
	raw, err := base64.RawStdEncoding.DecodeString(value)
	if d["type"] != "zitadel.v1.ErrorDetail" || debug["id"] != id || debug["message"] == "" || err != nil ||
		!bytes.Contains(raw, []byte(id)) {
		t.Errorf("detail %v", d)
	}
}

// wantGatewayError checks a REST error body: a google.rpc.Status {"code":
// <grpc code>, "message": "… (<id>)", "details": [{"@type":
// "type.googleapis.com/zitadel.v1.ErrorDetail", "id": id, "message": …}]}.
func wantGatewayError(t *testing.T, r reply, status, code int, id string) {
	t.Helper()
	wantStatus(t, r, status)
	b := r.obj(t)
	msg, _ := b["message"].(string)
	if b["code"] != float64(code) {
		t.Errorf("code %v, want %d: %s", b["code"], code, r.body)
	}
	if id == "" {
		return
	}
	details, _ := b["details"].([]any)
	if !strings.HasSuffix(msg, " ("+id+")") || len(details) != 1 {
		t.Fatalf("body %s, want id %s", r.body, id)
	}
	d := details[0].(map[string]any)
	if d["@type"] != "type.googleapis.com/zitadel.v1.ErrorDetail" || d["id"] != id || d["message"] == "" {
		t.Errorf("detail %v", d)
	}
}

// wantOAuthError checks an OAuth error: {"error": code,
// "error_description": desc}; desc "" accepts any description.
func wantOAuthError(t *testing.T, r reply, status int, code, desc string) {
	t.Helper()
	wantStatus(t, r, status)
	b := r.obj(t)
	if b["error"] != code || (desc != "" && b["error_description"] != desc) {
		t.Errorf("got %s, want error %q description %q", r.body, code, desc)
	}
}

// guest creates a guest-like user (unverified synthetic e-mail, the guest
// tag as root metadata) and deletes it when the test ends.
func (z *instance) guest(t *testing.T) string {
	t.Helper()
	id := randomID("ct")
	ok(t, z.connect(t, "CreateUser", `{"organizationId":"`+z.orgID+`","userId":"`+id+`",
		"human":{"profile":{"givenName":"Guest","familyName":"User"},
		         "email":{"email":"`+id+`@guests.example.com","isVerified":false}},
		"metadata":[{"key":"GUEST_CREATED_AT","value":"`+b64("2025-01-23T10:34:18Z")+`"}]}`))
	z.cleanup(t, id)
	return id
}

// cleanup deletes a user when the test ends; a user already gone is fine.
func (z *instance) cleanup(t *testing.T, id string) {
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodPost, z.issuer+"/zitadel.user.v2.UserService/DeleteUser",
			strings.NewReader(`{"userId":"`+id+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+z.pat)
		if resp, err := z.hc.Do(req); err == nil {
			resp.Body.Close()
		}
	})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// exchange is a token-exchange form impersonating subject with the
// service PAT for the instance's application.
func (z *instance) exchange(subject string, extra url.Values) url.Values {
	v := url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"client_id":          {z.clientID},
		"subject_token":      {subject},
		"subject_token_type": {"urn:zitadel:params:oauth:token-type:user_id"},
		"actor_token":        {z.pat},
		"actor_token_type":   {"urn:ietf:params:oauth:token-type:access_token"},
	}
	for k, vals := range extra {
		v[k] = vals
	}
	return v
}

// claims verifies a JWT against the instance's JWKS and returns its claims.
func (z *instance) claims(t *testing.T, raw string) map[string]any {
	t.Helper()
	r := z.send(t, http.MethodGet, "/oauth/v2/keys", nil, "")
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.body, &set); err != nil || r.status != http.StatusOK {
		t.Fatalf("JWKS: %d %v", r.status, err)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512,
		jose.ES256, jose.ES384, jose.ES512, jose.EdDSA})
	if err != nil {
		t.Fatalf("not a JWS: %v: %q", err, raw)
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) == 0 {
		t.Fatalf("kid %q not in the JWKS", jws.Signatures[0].Header.KeyID)
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// pkce returns a verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = randomID("verifier-") + randomID("")
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}
