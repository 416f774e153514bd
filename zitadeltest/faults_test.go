package zitadeltest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// connectCall posts body to a user-service method with the seeded PAT.
func connectCall(t *testing.T, s *Server, ctx context.Context, method, body string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+zitadel.UserServicePath+method, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.ServiceAccount().PAT)
	resp, err := s.Client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b, nil
}

func createBody(id string) string {
	return `{"organizationId":"` + "%ORG%" + `","userId":"` + id + `","human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"` + id + `@example.com","isVerified":false}}}`
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s := Start(t)
	body := func(id string) string { return strings.ReplaceAll(createBody(id), "%ORG%", s.OrganizationID()) }

	s.FailNext(OpCreateUser, Unavailable())
	s.FailNext(OpCreateUser, RateLimited(1500*time.Millisecond))
	s.FailNext(OpCreateUser, APIError(CodeInternal, "COMMAND-boom", "Internal error"))
	resp, b, err := connectCall(t, s, t.Context(), "CreateUser", body("u1"))
	if err != nil || resp.StatusCode != 503 || string(b) != "Service Unavailable\n" {
		t.Fatalf("first: %v %v", resp, err)
	}
	resp, _, _ = connectCall(t, s, t.Context(), "CreateUser", body("u1"))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("second: %d Retry-After %q, want 429 with 2", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	resp, b, _ = connectCall(t, s, t.Context(), "CreateUser", body("u1"))
	if e := zitadel.ParseError(resp.StatusCode, b); e.Code != zitadel.CodeInternal || e.ID != "COMMAND-boom" || resp.StatusCode != 500 {
		t.Errorf("third: %+v", e)
	}
	if _, ok := s.User("u1"); ok {
		t.Fatal("a failed request created the user")
	}
	resp, _, _ = connectCall(t, s, t.Context(), "CreateUser", body("u1"))
	if resp.StatusCode != 200 {
		t.Fatalf("fourth: %d, want the faults used up", resp.StatusCode)
	}

	s.FailNext(OpCreateUser, DropConnection())
	if _, _, err := connectCall(t, s, t.Context(), "CreateUser", body("u2")); err == nil {
		t.Error("DropConnection: the client got an answer")
	}
	if _, ok := s.User("u2"); ok {
		t.Error("DropConnection: the user was created")
	}
	s.FailNext(OpCreateUser, DropAfterCommit())
	if _, _, err := connectCall(t, s, t.Context(), "CreateUser", body("u3")); err == nil {
		t.Error("DropAfterCommit: the client got an answer")
	}
	if _, ok := s.User("u3"); !ok {
		t.Error("DropAfterCommit: the user was not created")
	}
	var statuses []int
	for _, r := range s.Requests() {
		statuses = append(statuses, r.Status)
	}
	if want := []int{503, 429, 500, 200, 0, 0}; !slices.Equal(statuses, want) {
		t.Errorf("logged statuses %v, want %v", statuses, want)
	}

	s.SetFault(OpGetUserByID, Latency(time.Second))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := connectCall(t, s, ctx, "GetUserByID", `{"userId":"u1"}`); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("latency: %v, want the client to time out", err)
	}
	s.ClearFaults()
	if resp, _, err := connectCall(t, s, t.Context(), "GetUserByID", `{"userId":"u1"}`); err != nil || resp.StatusCode != 200 {
		t.Errorf("after ClearFaults: %v %v", resp, err)
	}
}

func TestFaultShapesPerEndpoint(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.SetFault(OpDeleteUser, APIError(CodeUnavailable, "", "try later"))
	s.SetFault(OpTokenExchange, APIError(CodePermissionDenied, "OIDC-x", "Errors.Denied"))
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, s.URL+"/v2/users/x", nil)
	req.Header.Set("Authorization", "Bearer "+s.ServiceAccount().PAT)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(b), `"code":14`) {
		t.Errorf("gateway fault: %d %s", resp.StatusCode, b)
	}
	resp, err = s.Client().PostForm(s.URL+zitadel.PathToken, map[string][]string{"grant_type": {zitadel.GrantTokenExchange}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if o := zitadel.ParseOAuthError(resp.StatusCode, b); o.HTTPStatus != 403 || o.Code != "invalid_request" || o.Description != "Errors.Denied" {
		t.Errorf("token fault: %+v", o)
	}
}

func TestProjectionLag(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.SetProjectionLag(time.Minute)
	body := strings.ReplaceAll(createBody("lagging"), "%ORG%", s.OrganizationID())
	if resp, _, err := connectCall(t, s, t.Context(), "CreateUser", body); err != nil || resp.StatusCode != 200 {
		t.Fatal(resp, err)
	}
	exchange := func() int {
		resp, err := s.Client().PostForm(s.URL+zitadel.PathToken, map[string][]string{
			"grant_type": {zitadel.GrantTokenExchange}, "client_id": {s.ClientID()},
			"subject_token": {"lagging"}, "subject_token_type": {zitadel.TokenTypeUserID},
			"actor_token": {s.ServiceAccount().PAT}, "actor_token_type": {zitadel.TokenTypeAccessToken},
			"scope": {"openid"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := exchange(); code != 400 {
		t.Errorf("exchange right after CreateUser: %d, want 400 subject_token invalid", code)
	}
	s.Advance(2 * time.Minute)
	if code := exchange(); code != 200 {
		t.Errorf("exchange after the lag: %d", code)
	}
	s.SetTime(s.Now().Add(-2 * time.Minute))
	if _, _, err := connectCall(t, s, t.Context(), "GetUserByID", `{"userId":"lagging"}`); err != nil {
		t.Fatal(err)
	}
	if code := exchange(); code != 200 {
		t.Errorf("exchange after GetUserByID: %d", code)
	}
}
