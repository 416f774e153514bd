package zitadeltest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shadowaccounts/shadow/zitadeltest"
)

// Example creates a guest over the Connect API with the seeded service
// account, then inspects the server's state and request log.
func Example() {
	s := zitadeltest.NewServer(zitadeltest.WithClock(func() time.Time {
		return time.Date(2025, 1, 23, 10, 0, 0, 0, time.UTC)
	}))
	defer s.Close()

	body := `{"organizationId":"` + s.OrganizationID() + `","userId":"guest-1",
		"human":{"profile":{"givenName":"Guest","familyName":"User"},
		         "email":{"email":"guest-1@guests.invalid","isVerified":false}},
		"metadata":[{"key":"GUEST_CREATED_AT","value":"MjAyNS0wMS0yM1QxMDowMDowMFo="}]}`
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/zitadel.user.v2.UserService/CreateUser", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.ServiceAccount().PAT)
	resp, err := s.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	var created struct{ ID, CreationDate string }
	_ = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, created.ID, created.CreationDate)

	u, _ := s.User("guest-1")
	fmt.Println(u.Username, u.EmailVerified, string(u.Metadata["GUEST_CREATED_AT"]))
	fmt.Println(s.Count(zitadeltest.OpCreateUser))
	// Output:
	// 200 guest-1 2025-01-23T10:00:00Z
	// guest-1@guests.invalid false 2025-01-23T10:00:00Z
	// 1
}

// ExampleServer_SetImpersonation impersonates a user by token exchange,
// then shows the answer once the instance policy forbids impersonation.
func ExampleServer_SetImpersonation() {
	s := zitadeltest.NewServer()
	defer s.Close()
	guest, _ := s.AddHumanUser(zitadeltest.NewHuman{GivenName: "Guest", FamilyName: "User", Email: "guest@guests.invalid"})

	exchange := func() (int, map[string]any) {
		resp, err := s.Client().PostForm(s.URL+"/oauth/v2/token", url.Values{
			"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
			"client_id":            {s.ClientID()},
			"subject_token":        {guest},
			"subject_token_type":   {"urn:zitadel:params:oauth:token-type:user_id"},
			"actor_token":          {s.ServiceAccount().PAT},
			"actor_token_type":     {"urn:ietf:params:oauth:token-type:access_token"},
			"requested_token_type": {"urn:ietf:params:oauth:token-type:jwt"},
		})
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}

	status, body := exchange()
	fmt.Println(status, body["issued_token_type"], body["token_type"], body["scope"])
	s.SetImpersonation(false)
	status, body = exchange()
	fmt.Println(status, body["error"], body["error_description"])
	// Output:
	// 200 urn:ietf:params:oauth:token-type:jwt Bearer openid profile urn:zitadel:iam:user:metadata urn:zitadel:iam:user:resourceowner
	// 403 invalid_request Errors.TokenExchange.Impersonation.PolicyDisabled
}
