package zitadeltest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow/zitadeltest"
)

// Contract cases of the user service (docs/zitadel.md §2–§4).

// noSnakeCase fails for any JSON object key with an underscore.
func noSnakeCase(t *testing.T, v any, path string) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if strings.Contains(k, "_") {
				t.Errorf("key %s.%s is not lowerCamelCase", path, k)
			}
			noSnakeCase(t, e, path+"."+k)
		}
	case []any:
		for _, e := range v {
			noSnakeCase(t, e, path+"[]")
		}
	}
}

func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		o, _ := v.(map[string]any)
		v = o[k]
	}
	return v
}

var transportCases = []contractCase{
	{name: "JSON: lowerCamelCase names, int64 as strings, optional fields emitted, zero values omitted", run: func(t *testing.T, z *instance) {
		id := z.guest(t)
		got := ok(t, z.connect(t, "GetUserByID", `{"userId":"`+id+`"}`))
		noSnakeCase(t, got, "")
		u := got["user"].(map[string]any)
		if seq, isString := dig(u, "details", "sequence").(string); !isString || seq == "" {
			t.Errorf("details.sequence %v is not a string", dig(u, "details", "sequence"))
		}
		profile := dig(u, "human", "profile").(map[string]any)
		for _, k := range []string{"nickName", "displayName", "preferredLanguage", "gender"} {
			if _, ok := profile[k]; !ok {
				t.Errorf("optional profile.%s not emitted: %v", k, profile)
			}
		}
		if profile["gender"] != "GENDER_UNSPECIFIED" || u["state"] != "USER_STATE_ACTIVE" {
			t.Errorf("enums as names: %v %v", profile["gender"], u["state"])
		}
		if diff := cmp.Diff(map[string]any{"email": id + "@guests.example.com"}, dig(u, "human", "email")); diff != "" {
			t.Errorf("email: isVerified false must be omitted (-want +got):\n%s", diff)
		}
		if _, ok := dig(u, "human").(map[string]any)["passwordChangeRequired"]; ok {
			t.Error("passwordChangeRequired false must be omitted")
		}
	}},
	{name: "JSON: snake_case field names are accepted on input", run: func(t *testing.T, z *instance) {
		id := randomID("ct")
		z.cleanup(t, id)
		ok(t, z.connect(t, "CreateUser", `{"organization_id":"`+z.orgID+`","user_id":"`+id+`",
			"human":{"profile":{"given_name":"Snake","family_name":"Case"},
			         "email":{"email":"`+id+`@guests.example.com","is_verified":true}}}`))
		u := ok(t, z.connect(t, "GetUserByID", `{"user_id":"`+id+`"}`))
		if dig(u, "user", "human", "profile", "givenName") != "Snake" || dig(u, "user", "human", "email", "isVerified") != true {
			t.Errorf("user %v", u)
		}
	}},
	{name: "JSON: unknown request fields are ignored", run: func(t *testing.T, z *instance) {
		id := randomID("ct")
		z.cleanup(t, id)
		ok(t, z.connect(t, "CreateUser", `{"organizationId":"`+z.orgID+`","userId":"`+id+`","someFutureField":{"x":1},
			"human":{"username":"ignored","profile":{"givenName":"G","familyName":"F"},
			         "email":{"email":"`+id+`@guests.example.com","isVerified":false}}}`))
		u := ok(t, z.connect(t, "GetUserByID", `{"userId":"`+id+`"}`))
		if dig(u, "user", "username") != id+"@guests.example.com" {
			t.Errorf("human.username must be dropped and the username default to the e-mail: %v", dig(u, "user", "username"))
		}
	}},
	{name: "JSON: two members of a oneof are rejected with invalid_argument", run: func(t *testing.T, z *instance) {
		id := randomID("ct")
		z.cleanup(t, id)
		r := z.connect(t, "CreateUser", `{"organizationId":"`+z.orgID+`","userId":"`+id+`",
			"human":{"profile":{"givenName":"G","familyName":"F"},
			         "email":{"email":"`+id+`@guests.example.com","isVerified":false,"returnCode":{}}}}`)
		wantConnectError(t, r, http.StatusBadRequest, "invalid_argument", "")
		r = z.connect(t, "CreateUser", `{"organizationId":"`+z.orgID+`","userId":"`+id+`","machine":{"name":"m"},
			"human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"`+id+`@guests.example.com"}}}`)
		wantConnectError(t, r, http.StatusBadRequest, "invalid_argument", "")
		wantStatus(t, z.connect(t, "GetUserByID", `{"userId":"`+id+`"}`), http.StatusNotFound)
	}},
	{name: "Connect: an empty body is rejected with invalid_argument", run: func(t *testing.T, z *instance) {
		wantConnectError(t, z.connect(t, "GetUserByID", ""), http.StatusBadRequest, "invalid_argument", "")
	}},
	{name: "Connect: no JSON content type is 415 with Accept-Post", run: func(t *testing.T, z *instance) {
		h := bearer(z.pat)
		h.Set("Content-Type", "text/plain")
		r := z.send(t, http.MethodPost, "/zitadel.user.v2.UserService/GetUserByID", h, `{"userId":"x"}`)
		wantStatus(t, r, http.StatusUnsupportedMediaType)
		if !strings.Contains(r.header.Get("Accept-Post"), "application/json") {
			t.Errorf("Accept-Post %q", r.header.Get("Accept-Post"))
		}
	}},
	{name: "auth: no Authorization header is 401 unauthenticated", run: func(t *testing.T, z *instance) {
		r := z.connectAs(t, "", "GetUserByID", `{"userId":"x"}`)
		wantStatus(t, r, http.StatusUnauthorized)
		if r.obj(t)["code"] != "unauthenticated" {
			t.Errorf("body %s", r.body)
		}
	}},
	{name: "auth: an invalid token is 401 AUTH-7fs1e on both transports", run: func(t *testing.T, z *instance) {
		wantConnectError(t, z.connectAs(t, "nope", "GetUserByID", `{"userId":"x"}`), http.StatusUnauthorized, "unauthenticated", "AUTH-7fs1e")
		wantGatewayError(t, z.send(t, http.MethodGet, "/v2/users/x", bearer("nope"), ""), http.StatusUnauthorized, 16, "AUTH-7fs1e")
	}},
	{name: "REST: every user-service method at its transcoded path", run: func(t *testing.T, z *instance) {
		id := randomID("ct")
		z.cleanup(t, id)
		created := ok(t, z.rest(t, http.MethodPost, "/v2/users/new", `{"organizationId":"`+z.orgID+`","userId":"`+id+`",
			"human":{"profile":{"givenName":"Rest","familyName":"User"},"email":{"email":"`+id+`@guests.example.com","isVerified":false}}}`))
		if created["id"] != id {
			t.Fatalf("CreateUser %v", created)
		}
		viaREST := ok(t, z.rest(t, http.MethodGet, "/v2/users/"+id, ""))
		viaConnect := ok(t, z.connect(t, "GetUserByID", `{"userId":"`+id+`"}`))
		if diff := cmp.Diff(viaConnect, viaREST); diff != "" {
			t.Errorf("GetUserByID REST vs Connect (-connect +rest):\n%s", diff)
		}
		ok(t, z.rest(t, http.MethodPatch, "/v2/users/"+id, `{"human":{"profile":{"givenName":"Patched"}}}`))
		ok(t, z.rest(t, http.MethodPost, "/v2/users/"+id+"/metadata", `{"metadata":[{"key":"a","value":"`+b64("1")+`"},{"key":"b","value":"`+b64("2")+`"}]}`))
		md := ok(t, z.rest(t, http.MethodPost, "/v2/users/"+id+"/metadata/search", `{}`))
		if dig(md, "pagination", "totalResult") != "2" {
			t.Errorf("ListUserMetadata %v", md)
		}
		ok(t, z.rest(t, http.MethodDelete, "/v2/users/"+id+"/metadata?keys=a&keys=b", ""))
		list := ok(t, z.rest(t, http.MethodPost, "/v2/users", `{"query":{"limit":10},"queries":[{"inUserIdsQuery":{"userIds":["`+id+`"]}}]}`))
		if dig(list, "details", "totalResult") != "1" || dig(list["result"].([]any)[0].(map[string]any), "human", "profile", "givenName") != "Patched" {
			t.Errorf("ListUsers %v", list)
		}
		ok(t, z.rest(t, http.MethodDelete, "/v2/users/"+id, ""))
		wantGatewayError(t, z.rest(t, http.MethodGet, "/v2/users/"+id, ""), http.StatusNotFound, 5, "QUERY-Dfbg2")
	}},
}

var userCases = []contractCase{
	{name: "CreateUser: answers id and creationDate only", run: func(t *testing.T, z *instance) {
		id := randomID("ct")
		z.cleanup(t, id)
		got := ok(t, z.connect(t, "CreateUser", `{"organizationId":"`+z.orgID+`","userId":"`+id+`",
			"human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"`+id+`@guests.example.com","isVerified":false}},
			"metadata":[{"key":"GUEST_CREATED_AT","value":"`+b64("x")+`"}]}`))
		if len(got) != 2 || got["id"] != id || got["creationDate"] == "" {
			t.Errorf("response %v", got)
		}
	}},
	{name: "CreateUser: e-mail verification: isVerified, returnCode, sendCode", run: func(t *testing.T, z *instance) {
		for verification, want := range map[string]struct{ code, verified bool }{
			`"isVerified":false`: {false, false},
			`"isVerified":true`:  {false, true},
			`"returnCode":{}`:    {true, false},
			`"sendCode":{}`:      {false, false},
		} {
			id := randomID("ct")
			z.cleanup(t, id)
			got := ok(t, z.connect(t, "CreateUser", `{"organizationId":"`+z.orgID+`","userId":"`+id+`",
				"human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"`+id+`@guests.example.com",`+verification+`}}}`))
			if code, _ := got["emailCode"].(string); (code != "") != want.code {
				t.Errorf("%s: emailCode %v", verification, got["emailCode"])
			}
			u := ok(t, z.connect(t, "GetUserByID", `{"userId":"`+id+`"}`))
			if verified, _ := dig(u, "user", "human", "email", "isVerified").(bool); verified != want.verified {
				t.Errorf("%s: isVerified %v", verification, verified)
			}
			if z.fake != nil {
				fu, _ := z.fake.User(id)
				if wantCode := verification != `"isVerified":false` && verification != `"isVerified":true`; (fu.EmailCode != "") != wantCode {
					t.Errorf("%s: code created %q", verification, fu.EmailCode)
				}
			}
		}
	}},
	{name: "CreateUser: an existing userId is 400 failed_precondition COMMAND-7yiox1isql", run: func(t *testing.T, z *instance) {
		id := z.guest(t)
		body := `{"organizationId":"` + z.orgID + `","userId":"` + id + `",
			"human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"other-` + id + `@guests.example.com","isVerified":false}}}`
		wantConnectError(t, z.connect(t, "CreateUser", body), http.StatusBadRequest, "failed_precondition", "COMMAND-7yiox1isql")
		wantGatewayError(t, z.rest(t, http.MethodPost, "/v2/users/new", body), http.StatusBadRequest, 9, "COMMAND-7yiox1isql")
	}},
	{name: "CreateUser: a taken username is 409 already_exists V3-DKcYh", run: func(t *testing.T, z *instance) {
		taken := z.guest(t) + "@guests.example.com" // the e-mail is the default username
		id := randomID("ct")
		z.cleanup(t, id)
		body := `{"organizationId":"` + z.orgID + `","userId":"` + id + `","username":"` + taken + `",
			"human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"` + id + `@guests.example.com","isVerified":false}}}`
		wantConnectError(t, z.connect(t, "CreateUser", body), http.StatusConflict, "already_exists", "V3-DKcYh")
		wantGatewayError(t, z.rest(t, http.MethodPost, "/v2/users/new", body), http.StatusConflict, 6, "V3-DKcYh")
	}},
	{name: "CreateUser: root metadata and human.metadata together is 400 USERv2-j0z7uy", run: func(t *testing.T, z *instance) {
		id := randomID("ct")
		z.cleanup(t, id)
		wantConnectError(t, z.connect(t, "CreateUser", `{"organizationId":"`+z.orgID+`","userId":"`+id+`",
			"human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"`+id+`@guests.example.com","isVerified":false},
			         "metadata":[{"key":"a","value":"`+b64("1")+`"}]},
			"metadata":[{"key":"b","value":"`+b64("2")+`"}]}`), http.StatusBadRequest, "invalid_argument", "USERv2-j0z7uy")
	}},
	{name: "CreateUser: metadata with an empty key or value is 400 USER-Drght / USER-Dbgth", run: func(t *testing.T, z *instance) {
		for md, id := range map[string]string{`{"key":"","value":"` + b64("1") + `"}`: "USER-Drght", `{"key":"k","value":""}`: "USER-Dbgth"} {
			uid := randomID("ct")
			z.cleanup(t, uid)
			wantConnectError(t, z.connect(t, "CreateUser", `{"organizationId":"`+z.orgID+`","userId":"`+uid+`",
				"human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"`+uid+`@guests.example.com","isVerified":false}},
				"metadata":[`+md+`]}`), http.StatusBadRequest, "invalid_argument", id)
		}
	}},
	{name: "CreateUser: an invalid e-mail is 400 invalid_argument from request validation", run: func(t *testing.T, z *instance) {
		id := randomID("ct")
		z.cleanup(t, id)
		r := z.connect(t, "CreateUser", `{"organizationId":"`+z.orgID+`","userId":"`+id+`",
			"human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"not-an-address","isVerified":false}}}`)
		wantConnectError(t, r, http.StatusBadRequest, "invalid_argument", "")
		if msg, _ := r.obj(t)["message"].(string); !strings.Contains(msg, "Email") {
			t.Errorf("message %q does not name the e-mail field", msg)
		}
	}},
	{name: "CreateUser: an unknown organization is 400 failed_precondition COMMAND-QXPGs", run: func(t *testing.T, z *instance) {
		id := randomID("ct")
		z.cleanup(t, id)
		wantConnectError(t, z.connect(t, "CreateUser", `{"organizationId":"`+randomID("org")+`","userId":"`+id+`",
			"human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"`+id+`@guests.example.com","isVerified":false}}}`),
			http.StatusBadRequest, "failed_precondition", "COMMAND-QXPGs")
	}},
	{name: "CreateUser: the default password complexity policy and its error ids", run: func(t *testing.T, z *instance) {
		for password, id := range map[string]string{
			"Sh0rt!":        "DOMAIN-HuJf6",
			"NOLOWER1!":     "DOMAIN-co3Xw",
			"noupper1!":     "DOMAIN-VoaRj",
			"NoNumber!!":    "DOMAIN-ZBv4H",
			"NoSymbol123":   "DOMAIN-ZDLwA",
			"Compl3x!Passw": "",
		} {
			uid := randomID("ct")
			z.cleanup(t, uid)
			r := z.connect(t, "CreateUser", `{"organizationId":"`+z.orgID+`","userId":"`+uid+`",
				"human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"`+uid+`@example.com","isVerified":true},
				         "password":{"password":"`+password+`"}}}`)
			if id == "" {
				ok(t, r)
				continue
			}
			wantConnectError(t, r, http.StatusBadRequest, "invalid_argument", id)
		}
	}},
	{name: "GetUserByID: an unknown user is 404 QUERY-Dfbg2 on both transports", run: func(t *testing.T, z *instance) {
		id := randomID("nobody")
		wantConnectError(t, z.connect(t, "GetUserByID", `{"userId":"`+id+`"}`), http.StatusNotFound, "not_found", "QUERY-Dfbg2")
		wantGatewayError(t, z.rest(t, http.MethodGet, "/v2/users/"+id, ""), http.StatusNotFound, 5, "QUERY-Dfbg2")
	}},
	{name: "UpdateUser: the guest upgrade in one atomic call", run: func(t *testing.T, z *instance) {
		id := z.guest(t)
		newName := randomID("customer") + "@example.com"
		got := ok(t, z.connect(t, "UpdateUser", `{"userId":"`+id+`","username":"`+newName+`",
			"human":{"profile":{"givenName":"Ada","familyName":"Lovelace"},
			         "email":{"email":"`+newName+`","returnCode":{}},
			         "password":{"password":{"password":"Analytical-Engine1"}}},
			"metadata":[{"key":"GUEST_CREATED_AT","value":""}]}`))
		if got["changeDate"] == nil || got["emailCode"] == nil {
			t.Errorf("response %v: want changeDate and an emailCode for the changed address", got)
		}
		u := ok(t, z.connect(t, "GetUserByID", `{"userId":"`+id+`"}`))
		if dig(u, "user", "username") != newName || dig(u, "user", "human", "email", "isVerified") != nil ||
			dig(u, "user", "human", "profile", "givenName") != "Ada" {
			t.Errorf("user %v", u)
		}
		if md := ok(t, z.connect(t, "ListUserMetadata", `{"userId":"`+id+`"}`)); md["metadata"] != nil {
			t.Errorf("tag not removed: %v", md)
		}
	}},
	{name: "UpdateUser: a failing part rejects the whole batch", run: func(t *testing.T, z *instance) {
		id := z.guest(t)
		wantConnectError(t, z.connect(t, "UpdateUser", `{"userId":"`+id+`","username":"`+randomID("x")+`",
			"human":{"profile":{"givenName":"Changed"},"password":{"password":{"password":"weak"}}},
			"metadata":[{"key":"GUEST_CREATED_AT","value":""}]}`), http.StatusBadRequest, "invalid_argument", "DOMAIN-HuJf6")
		u := ok(t, z.connect(t, "GetUserByID", `{"userId":"`+id+`"}`))
		if dig(u, "user", "username") != id+"@guests.example.com" || dig(u, "user", "human", "profile", "givenName") != "Guest" {
			t.Errorf("user changed by a failed update: %v", u)
		}
		if md := ok(t, z.connect(t, "ListUserMetadata", `{"userId":"`+id+`"}`)); dig(md, "pagination", "totalResult") != "1" {
			t.Errorf("tag removed by a failed update: %v", md)
		}
	}},
	{name: "UpdateUser: a username change invalidates the user's tokens", run: func(t *testing.T, z *instance) {
		id := z.guest(t)
		tr := ok(t, z.token(t, z.exchange(id, nil)))
		at := tr["access_token"].(string)
		ok(t, z.send(t, http.MethodGet, "/oidc/v1/userinfo", bearer(at), ""))
		ok(t, z.connect(t, "UpdateUser", `{"userId":"`+id+`","username":"`+randomID("renamed")+`"}`))
		wantStatus(t, z.send(t, http.MethodGet, "/oidc/v1/userinfo", bearer(at), ""), http.StatusUnauthorized)
	}},
	{name: "UpdateUser: an unknown user is 404 not_found", run: func(t *testing.T, z *instance) {
		wantConnectError(t, z.connect(t, "UpdateUser", `{"userId":"`+randomID("nobody")+`","human":{"profile":{"givenName":"X"}}}`),
			http.StatusNotFound, "not_found", "COMMAND-ugjs0upun6")
	}},
	{name: "DeleteUser: removes the user and its metadata and releases the username", run: func(t *testing.T, z *instance) {
		id := z.guest(t)
		got := ok(t, z.connect(t, "DeleteUser", `{"userId":"`+id+`"}`))
		if dig(got, "details", "changeDate") == nil {
			t.Errorf("response %v", got)
		}
		wantConnectError(t, z.connect(t, "GetUserByID", `{"userId":"`+id+`"}`), http.StatusNotFound, "not_found", "QUERY-Dfbg2")
		if md := ok(t, z.connect(t, "ListUserMetadata", `{"userId":"`+id+`"}`)); md["metadata"] != nil {
			t.Errorf("metadata of a deleted user: %v", md)
		}
		again := randomID("ct")
		z.cleanup(t, again)
		ok(t, z.connect(t, "CreateUser", `{"organizationId":"`+z.orgID+`","userId":"`+again+`","username":"`+id+`@guests.example.com",
			"human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"`+again+`@guests.example.com","isVerified":false}}}`))
	}},
	{name: "DeleteUser: an unknown user is 404 COMMAND-bd4ir1mblj on both transports", run: func(t *testing.T, z *instance) {
		id := randomID("nobody")
		wantConnectError(t, z.connect(t, "DeleteUser", `{"userId":"`+id+`"}`), http.StatusNotFound, "not_found", "COMMAND-bd4ir1mblj")
		wantGatewayError(t, z.rest(t, http.MethodDelete, "/v2/users/"+id, ""), http.StatusNotFound, 5, "COMMAND-bd4ir1mblj")
	}},
}

var metadataCases = []contractCase{
	{name: "metadata: values are standard base64 with padding; URL-safe input is accepted", run: func(t *testing.T, z *instance) {
		id := z.guest(t)
		// 0xfb 0xff is "+/8=" in standard base64 and "-_8" unpadded URL-safe.
		ok(t, z.connect(t, "SetUserMetadata", `{"userId":"`+id+`","metadata":[{"key":"bin","value":"-_8"}]}`))
		md := ok(t, z.connect(t, "ListUserMetadata", `{"userId":"`+id+`","filters":[{"keyFilter":{"key":"bin"}}]}`))
		entries, _ := md["metadata"].([]any)
		if len(entries) != 1 || entries[0].(map[string]any)["value"] != "+/8=" {
			t.Errorf("metadata %v", md)
		}
		e := entries[0].(map[string]any)
		if e["creationDate"] == nil || e["changeDate"] == nil || dig(md, "pagination", "appliedLimit") != "100" {
			t.Errorf("entry %v, pagination %v", e, md["pagination"])
		}
	}},
	{name: "metadata: ListUserMetadata sorts by creation date and maps keyFilter methods correctly", run: func(t *testing.T, z *instance) {
		id := z.guest(t)
		ok(t, z.connect(t, "SetUserMetadata", `{"userId":"`+id+`","metadata":[{"key":"x_GUEST","value":"`+b64("1")+`"}]}`))
		md := ok(t, z.connect(t, "ListUserMetadata", `{"userId":"`+id+`","pagination":{"asc":true},
			"filters":[{"keyFilter":{"key":"GUEST","method":"TEXT_FILTER_METHOD_CONTAINS"}}]}`))
		var keys []string
		for _, e := range md["metadata"].([]any) {
			keys = append(keys, e.(map[string]any)["key"].(string))
		}
		if diff := cmp.Diff([]string{"GUEST_CREATED_AT", "x_GUEST"}, keys); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
	}},
	{name: "metadata: an empty value deletes the key (v4.13+)", run: func(t *testing.T, z *instance) {
		id := z.guest(t)
		ok(t, z.connect(t, "SetUserMetadata", `{"userId":"`+id+`","metadata":[{"key":"GUEST_CREATED_AT","value":""},{"key":"absent","value":""}]}`))
		if md := ok(t, z.connect(t, "ListUserMetadata", `{"userId":"`+id+`"}`)); md["metadata"] != nil {
			t.Errorf("metadata %v", md)
		}
	}},
	{name: "metadata: Set or Delete with an empty list is 400 failed_precondition META-9mm2d", run: func(t *testing.T, z *instance) {
		id := z.guest(t)
		wantConnectError(t, z.connect(t, "SetUserMetadata", `{"userId":"`+id+`","metadata":[]}`), http.StatusBadRequest, "failed_precondition", "META-9mm2d")
		wantConnectError(t, z.connect(t, "DeleteUserMetadata", `{"userId":"`+id+`","keys":[]}`), http.StatusBadRequest, "failed_precondition", "META-9mm2d")
	}},
	{name: "metadata: Set or Delete for an unknown user is 400 failed_precondition COMMAND-uXHNj", run: func(t *testing.T, z *instance) {
		id := randomID("nobody")
		wantConnectError(t, z.connect(t, "SetUserMetadata", `{"userId":"`+id+`","metadata":[{"key":"k","value":"`+b64("v")+`"}]}`),
			http.StatusBadRequest, "failed_precondition", "COMMAND-uXHNj")
		wantConnectError(t, z.connect(t, "DeleteUserMetadata", `{"userId":"`+id+`","keys":["k"]}`),
			http.StatusBadRequest, "failed_precondition", "COMMAND-uXHNj")
	}},
	{name: "metadata: an absent key fails the whole delete with 404 META-2nnds", run: func(t *testing.T, z *instance) {
		id := z.guest(t)
		wantConnectError(t, z.connect(t, "DeleteUserMetadata", `{"userId":"`+id+`","keys":["GUEST_CREATED_AT","absent"]}`),
			http.StatusNotFound, "not_found", "META-2nnds")
		wantGatewayError(t, z.rest(t, http.MethodDelete, "/v2/users/"+id+"/metadata?keys=GUEST_CREATED_AT&keys=absent", ""),
			http.StatusNotFound, 5, "META-2nnds")
		if md := ok(t, z.connect(t, "ListUserMetadata", `{"userId":"`+id+`"}`)); dig(md, "pagination", "totalResult") != "1" {
			t.Errorf("a failed delete removed keys: %v", md)
		}
		got := ok(t, z.connect(t, "DeleteUserMetadata", `{"userId":"`+id+`","keys":["GUEST_CREATED_AT"]}`))
		if got["deletionDate"] == nil {
			t.Errorf("response %v", got)
		}
	}},
	{name: "metadata: a ListUserMetadata limit over 1000 is 400 QUERY-4M0fs", run: func(t *testing.T, z *instance) {
		id := z.guest(t)
		wantConnectError(t, z.connect(t, "ListUserMetadata", `{"userId":"`+id+`","pagination":{"limit":1001}}`),
			http.StatusBadRequest, "invalid_argument", "QUERY-4M0fs")
	}},
}

// impersonatedToken exchanges a token for a new guest.
func (z *instance) impersonatedToken(t *testing.T, requested string) (guest, token string) {
	t.Helper()
	guest = z.guest(t)
	tr := ok(t, z.token(t, z.exchange(guest, map[string][]string{"requested_token_type": {requested}})))
	return guest, tr["access_token"].(string)
}

var permissionCases = []contractCase{
	{name: "permissions: impersonated tokens are refused by the user service with 403 APP-Shi0J", run: func(t *testing.T, z *instance) {
		for _, typ := range []string{"urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:access_token"} {
			guest, at := z.impersonatedToken(t, typ)
			wantConnectError(t, z.connectAs(t, at, "GetUserByID", `{"userId":"`+guest+`"}`), http.StatusForbidden, "permission_denied", "APP-Shi0J")
			wantGatewayError(t, z.send(t, http.MethodGet, "/v2/users/"+guest, bearer(at), ""), http.StatusForbidden, 7, "APP-Shi0J")
		}
	}},
	{name: "permissions: a machine user without memberships gets 404 AUTHZ-cdgFk", fakeOnly: "needs a machine user without roles", run: func(t *testing.T, z *instance) {
		m, err := z.fake.AddMachineUser(zitadeltest.NewMachine{Username: randomID("no-roles")})
		if err != nil {
			t.Fatal(err)
		}
		id := randomID("ct")
		wantConnectError(t, z.connectAs(t, m.PAT, "CreateUser", `{"organizationId":"`+z.orgID+`","userId":"`+id+`",
			"human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"`+id+`@guests.example.com","isVerified":false}}}`),
			http.StatusNotFound, "not_found", "AUTHZ-cdgFk")
	}},
	{name: "permissions: a machine user with memberships but no user.write gets 403 AUTH-AWfge", fakeOnly: "needs a machine user with chosen roles", run: func(t *testing.T, z *instance) {
		m, err := z.fake.AddMachineUser(zitadeltest.NewMachine{Username: randomID("impersonator"),
			Roles: []zitadeltest.Role{zitadeltest.RoleIAMEndUserImpersonator}})
		if err != nil {
			t.Fatal(err)
		}
		guest := z.guest(t)
		wantConnectError(t, z.connectAs(t, m.PAT, "DeleteUser", `{"userId":"`+guest+`"}`), http.StatusForbidden, "permission_denied", "AUTH-AWfge")
		wantGatewayError(t, z.send(t, http.MethodGet, "/v2/users/"+guest, bearer(m.PAT), ""), http.StatusForbidden, 7, "AUTH-AWfge")
	}},
	{name: "permissions: ORG_USER_MANAGER acts in its own organization only; IAM_USER_MANAGER everywhere", fakeOnly: "needs a second organization and an organization-scoped machine user", run: func(t *testing.T, z *instance) {
		other, err := z.fake.AddOrganization(randomID("Other"))
		if err != nil {
			t.Fatal(err)
		}
		orgManager, err := z.fake.AddMachineUser(zitadeltest.NewMachine{Username: randomID("org-manager"),
			Roles: []zitadeltest.Role{zitadeltest.RoleOrgUserManager}})
		if err != nil {
			t.Fatal(err)
		}
		create := func(token, org string) reply {
			id := randomID("ct")
			z.cleanup(t, id)
			return z.connectAs(t, token, "CreateUser", `{"organizationId":"`+org+`","userId":"`+id+`",
				"human":{"profile":{"givenName":"G","familyName":"F"},"email":{"email":"`+id+`@guests.example.com","isVerified":false}}}`)
		}
		ok(t, create(orgManager.PAT, z.orgID))
		wantConnectError(t, create(orgManager.PAT, other), http.StatusNotFound, "not_found", "AUTHZ-cdgFk")
		inOther := ok(t, create(z.pat, other))["id"].(string)
		query := `{"queries":[{"inUserIdsQuery":{"userIds":["` + inOther + `"]}}]}`
		if l := ok(t, z.connectAs(t, orgManager.PAT, "ListUsers", query)); dig(l, "details", "totalResult") != nil {
			t.Errorf("ORG_USER_MANAGER lists another organization's user: %v", l)
		}
		if l := ok(t, z.connect(t, "ListUsers", query)); dig(l, "details", "totalResult") != "1" {
			t.Errorf("IAM_USER_MANAGER misses another organization's user: %v", l)
		}
	}},
}
