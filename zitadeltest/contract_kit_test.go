package zitadeltest_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow/zitadeltest"
)

// Contract cases of the test kit: how the fake lets tests provoke what
// ZITADEL (or the network in front of it) does, and how they inspect it.
// They need the fake by definition.

const kit = "a test-kit feature of the fake"

var kitCases = []contractCase{
	{name: "kit: FailNext answers any ZITADEL error once, in each endpoint's body shape", fakeOnly: kit, run: func(t *testing.T, _ *instance) {
		z := own(t)
		guest := z.guest(t)
		z.fake.FailNext(zitadeltest.OpGetUserByID, zitadeltest.APIError(zitadeltest.CodeUnavailable, "QUERY-x1", "Errors.Internal"))
		z.fake.FailNext(zitadeltest.OpGetUserByID, zitadeltest.APIError(zitadeltest.CodeNotFound, "QUERY-Dfbg2", "User could not be found"))
		z.fake.FailNext(zitadeltest.OpTokenExchange, zitadeltest.APIError(zitadeltest.CodePermissionDenied, "AUTH-AWfge", "No matching permissions found"))
		wantConnectError(t, z.connect(t, "GetUserByID", `{"userId":"`+guest+`"}`), http.StatusServiceUnavailable, "unavailable", "QUERY-x1")
		wantGatewayError(t, z.rest(t, http.MethodGet, "/v2/users/"+guest, ""), http.StatusNotFound, 5, "QUERY-Dfbg2")
		wantOAuthError(t, z.token(t, z.exchange(guest, nil)), http.StatusForbidden, "invalid_request", "No matching permissions found")
		ok(t, z.connect(t, "GetUserByID", `{"userId":"`+guest+`"}`))
		ok(t, z.token(t, z.exchange(guest, nil)))
		if u, _ := z.fake.User(guest); u.ID != guest {
			t.Errorf("a fault must change nothing: %+v", u)
		}
	}},
	{name: "kit: 429 with and without Retry-After, and 503", fakeOnly: kit, run: func(t *testing.T, _ *instance) {
		z := own(t)
		z.fake.FailNext(zitadeltest.OpListUsers, zitadeltest.RateLimited(1500*time.Millisecond))
		z.fake.FailNext(zitadeltest.OpListUsers, zitadeltest.RateLimited(0))
		z.fake.FailNext(zitadeltest.OpListUsers, zitadeltest.Unavailable())
		for _, want := range []struct {
			status     int
			retryAfter string
		}{{429, "2"}, {429, ""}, {503, ""}} {
			r := z.connect(t, "ListUsers", `{}`)
			if r.status != want.status || r.header.Get("Retry-After") != want.retryAfter {
				t.Errorf("status %d Retry-After %q, want %d %q", r.status, r.header.Get("Retry-After"), want.status, want.retryAfter)
			}
		}
		ok(t, z.connect(t, "ListUsers", `{}`))
	}},
	{name: "kit: SetFault persists until ClearFaults", fakeOnly: kit, run: func(t *testing.T, _ *instance) {
		z := own(t)
		z.fake.SetFault(zitadeltest.OpDeleteUser, zitadeltest.APIError(zitadeltest.CodeInternal, "COMMAND-boom", "Errors.Internal"))
		guest := z.guest(t)
		for range 2 {
			wantConnectError(t, z.connect(t, "DeleteUser", `{"userId":"`+guest+`"}`), http.StatusInternalServerError, "internal", "COMMAND-boom")
		}
		z.fake.ClearFaults()
		ok(t, z.connect(t, "DeleteUser", `{"userId":"`+guest+`"}`))
	}},
	{name: "kit: per-operation latency", fakeOnly: kit, run: func(t *testing.T, _ *instance) {
		z := own(t)
		z.fake.SetFault(zitadeltest.OpListUsers, zitadeltest.Latency(300*time.Millisecond))
		start := time.Now()
		ok(t, z.connect(t, "ListUsers", `{}`))
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("ListUsers took %v, want ≥ 300ms", d)
		}
		start = time.Now()
		ok(t, z.connect(t, "GetUserByID", `{"userId":"`+z.fake.ServiceAccount().ID+`"}`))
		if d := time.Since(start); d >= 300*time.Millisecond {
			t.Errorf("GetUserByID took %v: latency leaked to another operation", d)
		}
	}},
	{name: "kit: dropped connections, before and after the change", fakeOnly: kit, run: func(t *testing.T, _ *instance) {
		z := own(t)
		dropped := func(body string) string {
			id := randomID("ct")
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, z.issuer+"/zitadel.user.v2.UserService/CreateUser",
				strings.NewReader(strings.ReplaceAll(body, "<id>", id)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+z.pat)
			resp, err := z.hc.Do(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil || !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
				t.Errorf("want a network error, got %v", err)
			}
			return id
		}
		body := `{"organizationId":"` + z.orgID + `","userId":"<id>","human":{"profile":{"givenName":"G","familyName":"F"},
			"email":{"email":"<id>@guests.example.com","isVerified":false}}}`
		z.fake.FailNext(zitadeltest.OpCreateUser, zitadeltest.DropConnection())
		if _, exists := z.fake.User(dropped(body)); exists {
			t.Error("DropConnection must change nothing")
		}
		z.fake.FailNext(zitadeltest.OpCreateUser, zitadeltest.DropAfterCommit())
		if _, exists := z.fake.User(dropped(body)); !exists {
			t.Error("DropAfterCommit must apply the change")
		}
	}},
	{name: "kit: SetTime and Advance stamp creation dates and expire tokens", fakeOnly: kit, run: func(t *testing.T, _ *instance) {
		z := own(t, zitadeltest.WithClock(func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }))
		z.fake.SetTime(time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC))
		guest := z.guest(t)
		u := ok(t, z.connect(t, "GetUserByID", `{"userId":"`+guest+`"}`))
		if dig(u, "user", "details", "creationDate") != "2030-05-06T07:08:09Z" {
			t.Errorf("creationDate %v", dig(u, "user", "details", "creationDate"))
		}
		tr := ok(t, z.token(t, z.exchange(guest, nil)))
		token := tr["access_token"].(string)
		ok(t, z.send(t, http.MethodGet, "/oidc/v1/userinfo", bearer(token), ""))
		z.fake.Advance(12 * time.Hour)
		wantStatus(t, z.send(t, http.MethodGet, "/oidc/v1/userinfo", bearer(token), ""), http.StatusUnauthorized)
	}},
	{name: "kit: RotateKeys publishes a new kid and keeps the previous one", fakeOnly: kit, run: func(t *testing.T, _ *instance) {
		z := own(t)
		_, before := z.impersonatedToken(t, typeJWT)
		kid := z.fake.RotateKeys()
		_, after := z.impersonatedToken(t, typeJWT)
		z.claims(t, before) // still in the JWKS
		if !strings.Contains(string(z.send(t, http.MethodGet, "/oauth/v2/keys", nil, "").body), kid) {
			t.Errorf("JWKS lacks the new kid %s", kid)
		}
		z.claims(t, after)
	}},
	{name: "kit: inspection returns copies: users, tokens, request log, counters", fakeOnly: kit, run: func(t *testing.T, _ *instance) {
		z := own(t)
		guest := z.guest(t)
		ok(t, z.token(t, z.exchange(guest, url.Values{"requested_token_type": {typeJWT}})))
		u, _ := z.fake.User(guest)
		u.Metadata["GUEST_CREATED_AT"][0] = 'X'
		if again, _ := z.fake.User(guest); string(again.Metadata["GUEST_CREATED_AT"]) != "2025-01-23T10:34:18Z" {
			t.Error("User returned shared metadata")
		}
		var impersonated *zitadeltest.IssuedToken
		for _, it := range z.fake.IssuedTokens() {
			if it.UserID == guest {
				impersonated = &it
			}
		}
		if impersonated == nil || impersonated.Actor == nil || impersonated.Actor.Subject != z.fake.ServiceAccount().ID || !impersonated.JWT {
			t.Errorf("issued token %+v", impersonated)
		}
		if z.fake.Count(zitadeltest.OpCreateUser) != 1 || z.fake.Count(zitadeltest.OpTokenExchange) != 1 {
			t.Errorf("counts: CreateUser %d, TokenExchange %d", z.fake.Count(zitadeltest.OpCreateUser), z.fake.Count(zitadeltest.OpTokenExchange))
		}
		log := z.fake.Requests()
		first := log[0]
		if first.Op != zitadeltest.OpCreateUser || first.Method != http.MethodPost || first.Path != "/zitadel.user.v2.UserService/CreateUser" ||
			first.Status != http.StatusOK || first.Duration <= 0 {
			t.Errorf("request log %+v", first)
		}
	}},
}
