package zitadeltest

import (
	"net/http"
	"strings"
	"testing"
)

func TestConnectProtocol(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	pat := s.ServiceAccount().PAT
	path := "/zitadel.user.v2.UserService/GetUserByID"

	t.Run("no JSON content type is 415 with Accept-Post and no body", func(t *testing.T) {
		t.Parallel()
		for _, ct := range []string{"", "text/plain", "application/proto", "application/json; charset=latin1"} {
			r := do(t, s, http.MethodPost, path, pat, ct, `{"userId":"x"}`)
			if r.status != http.StatusUnsupportedMediaType || len(r.body) != 0 {
				t.Errorf("Content-Type %q: %d %q, want 415 and no body", ct, r.status, r.body)
			}
			if ap := r.header.Get("Accept-Post"); !strings.Contains(ap, "application/json") {
				t.Errorf("Content-Type %q: Accept-Post = %q", ct, ap)
			}
		}
	})
	t.Run("charset utf-8 is accepted", func(t *testing.T) {
		t.Parallel()
		r := do(t, s, http.MethodPost, path, pat, "application/json; charset=utf-8", `{"userId":"`+s.ServiceAccount().ID+`"}`)
		if r.status != http.StatusOK {
			t.Errorf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("empty body", func(t *testing.T) {
		t.Parallel()
		checkJSON(t, connect(t, s, pat, "CreateUser", ""), http.StatusBadRequest,
			`{"code":"invalid_argument","message":"unmarshal into *user.CreateUserRequest: zero-length payload is not a valid JSON object"}`)
	})
	t.Run("protocol version", func(t *testing.T) {
		t.Parallel()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+path, strings.NewReader(`{"userId":"x"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Connect-Protocol-Version", "2")
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("Connect-Protocol-Version 2: status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("GET is 405", func(t *testing.T) {
		t.Parallel()
		r := do(t, s, http.MethodGet, path, pat, "", "")
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != http.MethodPost {
			t.Errorf("status %d Allow %q", r.status, r.header.Get("Allow"))
		}
	})
	t.Run("unknown method is 404", func(t *testing.T) {
		t.Parallel()
		if r := connect(t, s, pat, "SetPassword", `{}`); r.status != http.StatusNotFound {
			t.Errorf("status %d", r.status)
		}
	})
	t.Run("malformed JSON", func(t *testing.T) {
		t.Parallel()
		r := connect(t, s, pat, "GetUserByID", `{"userId":`)
		body, _ := r.json(t).(map[string]any)
		msg, _ := body["message"].(string)
		if r.status != http.StatusBadRequest || body["code"] != "invalid_argument" ||
			!strings.HasPrefix(msg, "unmarshal into *user.GetUserByIDRequest: ") {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
}

func TestGatewayRouting(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	pat := s.ServiceAccount().PAT
	checkJSON(t, do(t, s, http.MethodPut, "/v2/users/x", pat, "application/json", `{}`), http.StatusNotImplemented,
		`{"code":12,"message":"Method Not Allowed"}`)
	checkJSON(t, do(t, s, http.MethodGet, "/v2/users/x/unknown", pat, "", ""), http.StatusNotFound,
		`{"code":5,"message":"Not Found"}`)
	// The gateway reads an empty body as an empty message.
	checkJSON(t, do(t, s, http.MethodPost, "/v2/users/new", pat, "application/json", ""), http.StatusBadRequest,
		`{"code":3,"message":"invalid CreateUserRequest.OrganizationId: value length must be between 1 and 200 runes, inclusive"}`)
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	createGuest(t, s, "auth-target")
	otherOrg, err := s.AddOrganization("Other")
	if err != nil {
		t.Fatal(err)
	}
	noRoles, _ := s.AddMachineUser(NewMachine{Username: "no-roles"})
	impersonator, _ := s.AddMachineUser(NewMachine{Username: "impersonator", Roles: []Role{RoleIAMEndUserImpersonator}})
	otherOrgManager, _ := s.AddMachineUser(NewMachine{OrganizationID: otherOrg, Username: "other-manager", Roles: []Role{RoleOrgUserManager}})
	orgManager, _ := s.AddMachineUser(NewMachine{Username: "org-manager", Roles: []Role{RoleOrgUserManager}})
	get := `{"userId":"auth-target"}`

	tests := []struct {
		name       string
		bearer     string
		header     string // raw Authorization header when set
		wantStatus int
		wantBody   string
	}{
		{"no header", "", "", 401, `{"code":"unauthenticated","message":"auth header missing"}`},
		{"unknown token", "nope", "", 401, connectError("unauthenticated", "AUTH-7fs1e", "Errors.Token.Invalid")},
		{"not bearer", "", "Basic Zm9vOmJhcg==", 401, connectError("unauthenticated", "AUTH-7fs1e", "Errors.Token.Invalid")},
		{"no memberships", noRoles.PAT, "", 404, connectError("not_found", "AUTHZ-cdgFk", "membership not found")},
		{"membership without the permission", impersonator.PAT, "", 403, connectError("permission_denied", "AUTH-AWfge", "No matching permissions found")},
		{"org role on another org", otherOrgManager.PAT, "", 404, connectError("not_found", "AUTHZ-cdgFk", "membership not found")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r response
			if tt.header != "" {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/zitadel.user.v2.UserService/GetUserByID", strings.NewReader(get))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", tt.header)
				resp, err := s.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				r = response{status: resp.StatusCode}
				r.body = readAll(t, resp)
			} else {
				r = connect(t, s, tt.bearer, "GetUserByID", get)
			}
			checkJSON(t, r, tt.wantStatus, tt.wantBody)
		})
	}
	t.Run("org role on the user's org", func(t *testing.T) {
		t.Parallel()
		if r := connect(t, s, orgManager.PAT, "GetUserByID", get); r.status != http.StatusOK {
			t.Errorf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("list users filters to readable users", func(t *testing.T) {
		t.Parallel()
		r := connect(t, s, noRoles.PAT, "ListUsers", `{"queries":[{"inUserIdsQuery":{"userIds":["auth-target","`+noRoles.ID+`"]}}]}`)
		checkJSON(t, r, http.StatusOK, `{"details":{"totalResult":"1","processedSequence":"`+
			r.json(t).(map[string]any)["details"].(map[string]any)["processedSequence"].(string)+`","timestamp":"`+testStamp+`"},
			"result":[`+userJSON(t, s, noRoles.ID)+`]}`)
	})
}

// userJSON is the user's JSON as GetUserByID returns it under "user".
func userJSON(t *testing.T, s *Server, id string) string {
	t.Helper()
	r := connect(t, s, s.ServiceAccount().PAT, "GetUserByID", `{"userId":"`+id+`"}`)
	if r.status != http.StatusOK {
		t.Fatalf("GetUserByID %s: %d %s", id, r.status, r.body)
	}
	return string(mustJSON(r.json(t).(map[string]any)["user"]))
}
