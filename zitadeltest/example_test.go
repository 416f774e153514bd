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

// ExampleServer_FailNext makes the next CreateUser fail as ZITADEL Cloud's
// rate limiter and then as ZITADEL itself would, and shows that the third
// attempt goes through.
func ExampleServer_FailNext() {
	s := zitadeltest.NewServer()
	defer s.Close()
	s.FailNext(zitadeltest.OpCreateUser, zitadeltest.RateLimited(2*time.Second))
	s.FailNext(zitadeltest.OpCreateUser, zitadeltest.APIError(zitadeltest.CodeUnavailable, "COMMAND-x9", "Errors.Internal"))

	create := func() {
		body := `{"organizationId":"` + s.OrganizationID() + `","userId":"guest-1",
			"human":{"profile":{"givenName":"Guest","familyName":"User"},
			         "email":{"email":"guest-1@guests.invalid","isVerified":false}}}`
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/zitadel.user.v2.UserService/CreateUser", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.ServiceAccount().PAT)
		resp, err := s.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		line := fmt.Sprint(resp.StatusCode)
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			line += " Retry-After: " + ra
		}
		var e struct{ Code, Message string }
		if json.NewDecoder(resp.Body).Decode(&e) == nil && e.Code != "" {
			line += " " + e.Code + ": " + e.Message
		}
		fmt.Println(line)
	}
	create()
	create()
	create()
	_, exists := s.User("guest-1")
	fmt.Println(exists, s.Count(zitadeltest.OpCreateUser))
	// Output:
	// 429 Retry-After: 2
	// 503 unavailable: Errors.Internal (COMMAND-x9)
	// 200
	// true 3
}

// ExampleServer_ServiceAccount gets a token for the seeded service account
// with the client credentials grant, as ZITADEL expects it: Basic
// authentication with the URL-encoded login name and secret, and the scope
// that puts ZITADEL's project into the audience so that the token calls the
// user service.
func ExampleServer_ServiceAccount() {
	s := zitadeltest.NewServer()
	defer s.Close()
	sa := s.ServiceAccount()

	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid urn:zitadel:iam:org:project:id:zitadel:aud"}}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth/v2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(sa.ClientID), url.QueryEscape(sa.ClientSecret))
	resp, err := s.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, tok.TokenType, tok.ExpiresIn > 43000)

	req, _ = http.NewRequest(http.MethodGet, s.URL+"/v2/users/"+sa.ID, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = s.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("GetUserByID:", resp.StatusCode)

	issued := s.IssuedTokens()
	last := issued[len(issued)-1]
	fmt.Println(last.Kind, last.ClientID == sa.ClientID, len(last.Audience))
	// Output:
	// 200 Bearer true
	// GetUserByID: 200
	// Access true 1
}
