package zitadeltest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestErrorDetailProto(t *testing.T) {
	t.Parallel()
	// protoc --encode of zitadel.v1.ErrorDetail{id:"QUERY-Dfbg2", message:"User could not be found"},
	// base64 without padding.
	const want = "CgtRVUVSWS1EZmJnMhIXVXNlciBjb3VsZCBub3QgYmUgZm91bmQ"
	if got := b64Detail("QUERY-Dfbg2", "User could not be found"); got != want {
		t.Errorf("detail = %s, want %s", got, want)
	}
}

func TestCreateUserAndGetUserByID(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	pat := s.ServiceAccount().PAT
	org := s.OrganizationID()

	r := connect(t, s, pat, "CreateUser", `{"organizationId":"`+org+`","userId":"guest-1",
		"human":{"profile":{"givenName":"Guest","familyName":"User"},
		         "email":{"email":"guest-1@guests.invalid","isVerified":false}},
		"metadata":[{"key":"GUEST_CREATED_AT","value":"MjAyNQ=="}],
		"someFutureField":{"ignored":true}}`)
	checkJSON(t, r, http.StatusOK, `{"id":"guest-1","creationDate":"`+testStamp+`"}`)

	details := `{"sequence":"1","changeDate":"` + testStamp + `","resourceOwner":"` + org + `","creationDate":"` + testStamp + `"}`
	want := `{"details":` + details + `,"user":{"userId":"guest-1","details":` + details + `,
		"state":"USER_STATE_ACTIVE","username":"guest-1@guests.invalid",
		"loginNames":["guest-1@guests.invalid"],"preferredLoginName":"guest-1@guests.invalid",
		"human":{"profile":{"givenName":"Guest","familyName":"User","nickName":"","displayName":"Guest User",
		                    "preferredLanguage":"und","gender":"GENDER_UNSPECIFIED"},
		         "email":{"email":"guest-1@guests.invalid"},"phone":{}}}}`
	checkJSON(t, connect(t, s, pat, "GetUserByID", `{"userId":"guest-1"}`), http.StatusOK, want)
	checkJSON(t, do(t, s, http.MethodGet, "/v2/users/guest-1", pat, "", ""), http.StatusOK, want)

	u, ok := s.User("guest-1")
	if !ok {
		t.Fatal("User(guest-1) not found")
	}
	wantUser := User{
		ID: "guest-1", OrganizationID: org, Username: "guest-1@guests.invalid", Type: Human,
		State: "USER_STATE_ACTIVE", GivenName: "Guest", FamilyName: "User", DisplayName: "Guest User",
		Email: "guest-1@guests.invalid", Metadata: map[string][]byte{"GUEST_CREATED_AT": []byte("2025")},
		CreatedAt: testTime(), ChangedAt: testTime(),
	}
	if diff := cmp.Diff(wantUser, u); diff != "" {
		t.Errorf("User mismatch (-want +got):\n%s", diff)
	}

	checkJSON(t, connect(t, s, pat, "GetUserByID", `{"userId":"nobody"}`), http.StatusNotFound,
		connectError("not_found", "QUERY-Dfbg2", "User could not be found"))
}

func TestCreateUserEmailVerification(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	pat := s.ServiceAccount().PAT
	tests := []struct {
		name         string
		verification string
		wantReturned bool
		wantCode     bool
		wantVerified bool
	}{
		{"isVerified false: no code", `"isVerified":false`, false, false, false},
		{"isVerified true", `"isVerified":true`, false, false, true},
		{"returnCode", `"returnCode":{}`, true, true, false},
		{"sendCode", `"sendCode":{"urlTemplate":"https://example.com/verify?code={{.Code}}"}`, false, true, false},
		{"nothing: code sent", ``, false, true, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := "verify-" + string(rune('a'+i))
			email := `"email":"` + id + `@example.com"`
			if tt.verification != "" {
				email += "," + tt.verification
			}
			r := connect(t, s, pat, "CreateUser", `{"organizationId":"`+s.OrganizationID()+`","userId":"`+id+`",
				"human":{"profile":{"givenName":"A","familyName":"B"},"email":{`+email+`}}}`)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			body := r.json(t).(map[string]any)
			u, _ := s.User(id)
			code, returned := body["emailCode"]
			if returned != tt.wantReturned {
				t.Errorf("emailCode returned = %v, want %v (%s)", returned, tt.wantReturned, r.body)
			}
			if returned && code != u.EmailCode {
				t.Errorf("emailCode %v, state has %q", code, u.EmailCode)
			}
			if (u.EmailCode != "") != tt.wantCode {
				t.Errorf("code created = %q, want %v", u.EmailCode, tt.wantCode)
			}
			if u.EmailVerified != tt.wantVerified {
				t.Errorf("verified = %v, want %v", u.EmailVerified, tt.wantVerified)
			}
		})
	}
}

func TestCreateUserErrors(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	pat := s.ServiceAccount().PAT
	org := s.OrganizationID()
	createGuest(t, s, "taken")
	human := func(extra string) string {
		return `{"organizationId":"` + org + `",` + extra + `}`
	}
	profile := `"profile":{"givenName":"A","familyName":"B"}`
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantBody   string
	}{
		{
			"user id taken", human(`"userId":"taken","human":{` + profile + `,"email":{"email":"x1@example.com"}}`),
			400, connectError("failed_precondition", "COMMAND-7yiox1isql", "Errors.User.AlreadyExisting"),
		},
		{
			"username taken", human(`"human":{` + profile + `,"email":{"email":"taken@guests.invalid"}}`),
			409, connectError("already_exists", "V3-DKcYh", "User already exists"),
		},
		{
			"username taken, other case", human(`"username":"TAKEN@guests.invalid","human":{` + profile + `,"email":{"email":"x2@example.com"}}`),
			409, connectError("already_exists", "V3-DKcYh", "User already exists"),
		},
		{
			"unknown organization", `{"organizationId":"nope","human":{` + profile + `,"email":{"email":"x3@example.com"}}}`,
			400, connectError("failed_precondition", "COMMAND-QXPGs", "Organisation not found"),
		},
		{
			"root and human metadata", human(`"human":{` + profile + `,"email":{"email":"x4@example.com"},"metadata":[{"key":"a","value":"YQ=="}]},"metadata":[{"key":"b","value":"Yg=="}]`),
			400, connectError("invalid_argument", "USERv2-j0z7uy", "Errors.User.Metadata.Conflicting"),
		},
		{
			"empty metadata key", human(`"human":{` + profile + `,"email":{"email":"x5@example.com"}},"metadata":[{"key":" ","value":"Yg=="}]`),
			400, connectError("invalid_argument", "USER-Drght", "Errors.User.Metadata.KeyEmpty"),
		},
		{
			"empty metadata value", human(`"human":{` + profile + `,"email":{"email":"x6@example.com"}},"metadata":[{"key":"k","value":""}]`),
			400, connectError("invalid_argument", "USER-Dbgth", "Errors.User.Metadata.ValueEmpty"),
		},
		{
			"invalid e-mail", human(`"human":{` + profile + `,"email":{"email":"not-an-email"}}`),
			400, `{"code":"invalid_argument","message":"invalid CreateUserRequest.Human: embedded message failed validation | caused by: invalid CreateUserRequest_Human.Email: embedded message failed validation | caused by: invalid SetHumanEmail.Email: value must be a valid email address | caused by: mail: missing '@' or angle-addr"}`,
		},
		{
			"e-mail with display name", human(`"human":{` + profile + `,"email":{"email":"Guest <g@example.com>"}}`),
			400, connectError("invalid_argument", "EMAIL-599BI", "Email is invalid"),
		},
		{
			"missing given name", human(`"human":{"profile":{"familyName":"B"},"email":{"email":"x7@example.com"}}`),
			400, `{"code":"invalid_argument","message":"invalid CreateUserRequest.Human: embedded message failed validation | caused by: invalid CreateUserRequest_Human.Profile: embedded message failed validation | caused by: invalid SetHumanProfile.GivenName: value length must be between 1 and 200 runes, inclusive"}`,
		},
		{
			"blank given name", human(`"human":{"profile":{"givenName":" ","familyName":"B"},"email":{"email":"x8@example.com"}}`),
			400, connectError("invalid_argument", "USER-UCej2", "First name in profile is empty"),
		},
		{
			"missing profile", human(`"human":{"email":{"email":"x9@example.com"}}`),
			400, `{"code":"invalid_argument","message":"invalid CreateUserRequest.Human: embedded message failed validation | caused by: invalid CreateUserRequest_Human.Profile: value is required"}`,
		},
		{
			"missing organization", `{"human":{` + profile + `,"email":{"email":"x10@example.com"}}}`,
			400, `{"code":"invalid_argument","message":"invalid CreateUserRequest.OrganizationId: value length must be between 1 and 200 runes, inclusive"}`,
		},
		{
			"no user type", human(`"userId":"x11"`),
			400, `{"code":"invalid_argument","message":"invalid CreateUserRequest.UserType: value is required"}`,
		},
		{
			"human and machine", human(`"human":{` + profile + `,"email":{"email":"x12@example.com"}},"machine":{"name":"m"}`),
			400, `{"code":"invalid_argument","message":"unmarshal into *user.CreateUserRequest: proto: error parsing \"machine\", oneof zitadel.user.v2.CreateUserRequest.user_type is already set"}`,
		},
		{
			"password too short", human(`"human":{` + profile + `,"email":{"email":"x13@example.com"},"password":{"password":"Aa1!"}}`),
			400, connectError("invalid_argument", "DOMAIN-HuJf6", "Password is too short"),
		},
		{
			"password without lower case", human(`"human":{` + profile + `,"email":{"email":"x14@example.com"},"password":{"password":"ALLUPPER1!"}}`),
			400, connectError("invalid_argument", "DOMAIN-co3Xw", "Password must contain lower case"),
		},
		{
			"password without upper case", human(`"human":{` + profile + `,"email":{"email":"x15@example.com"},"password":{"password":"alllower1!"}}`),
			400, connectError("invalid_argument", "DOMAIN-VoaRj", "Password must contain upper case"),
		},
		{
			"password without number", human(`"human":{` + profile + `,"email":{"email":"x16@example.com"},"password":{"password":"NoNumber!!"}}`),
			400, connectError("invalid_argument", "DOMAIN-ZBv4H", "Password must contain number"),
		},
		{
			"password without symbol", human(`"human":{` + profile + `,"email":{"email":"x17@example.com"},"password":{"password":"NoSymbol12"}}`),
			400, connectError("invalid_argument", "DOMAIN-ZDLwA", "Password must contain symbol"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkJSON(t, connect(t, s, pat, "CreateUser", tt.body), tt.wantStatus, tt.wantBody)
		})
	}
}

func TestCreateUserVariants(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	pat := s.ServiceAccount().PAT
	org := s.OrganizationID()

	// snake_case field names are accepted like protojson does.
	r := connect(t, s, pat, "CreateUser", `{"organization_id":"`+org+`","user_id":"snake",
		"human":{"profile":{"given_name":"Sn","family_name":"Ake"},"email":{"email":"snake@example.com","is_verified":true},
		         "password":{"password":"Secr3tP4ssw0rd!","change_required":false}}}`)
	checkJSON(t, r, http.StatusOK, `{"id":"snake","creationDate":"`+testStamp+`"}`)
	if !s.CheckPassword("snake", "Secr3tP4ssw0rd!") || s.CheckPassword("snake", "wrong") {
		t.Error("CheckPassword does not reflect the password set at creation")
	}

	// Machine users default their username to their id.
	r = connect(t, s, pat, "CreateUser", `{"organizationId":"`+org+`","machine":{"name":"bot","description":"a bot"}}`)
	if r.status != http.StatusOK {
		t.Fatalf("machine: %d %s", r.status, r.body)
	}
	id := r.json(t).(map[string]any)["id"].(string)
	checkJSON(t, connect(t, s, pat, "GetUserByID", `{"userId":"`+id+`"}`), http.StatusOK, `{
		"details":{"sequence":"1","changeDate":"`+testStamp+`","resourceOwner":"`+org+`","creationDate":"`+testStamp+`"},
		"user":{"userId":"`+id+`","details":{"sequence":"1","changeDate":"`+testStamp+`","resourceOwner":"`+org+`","creationDate":"`+testStamp+`"},
		"state":"USER_STATE_ACTIVE","username":"`+id+`","loginNames":["`+id+`"],"preferredLoginName":"`+id+`",
		"machine":{"name":"bot","description":"a bot"}}}`)

	// REST transcoding: POST /v2/users/new with gateway error bodies.
	r = do(t, s, http.MethodPost, "/v2/users/new", pat, "application/json", `{"organizationId":"`+org+`","userId":"rest",
		"human":{"profile":{"givenName":"Re","familyName":"St"},"email":{"email":"rest@example.com"}}}`)
	checkJSON(t, r, http.StatusOK, `{"id":"rest","creationDate":"`+testStamp+`"}`)
	r = do(t, s, http.MethodPost, "/v2/users/new", pat, "application/json", `{"organizationId":"`+org+`","userId":"rest",
		"human":{"profile":{"givenName":"Re","familyName":"St"},"email":{"email":"rest2@example.com"}}}`)
	checkJSON(t, r, http.StatusBadRequest, `{"code":9,"message":"Errors.User.AlreadyExisting (COMMAND-7yiox1isql)",
		"details":[{"@type":"type.googleapis.com/zitadel.v1.ErrorDetail","id":"COMMAND-7yiox1isql","message":"Errors.User.AlreadyExisting"}]}`)
}

func TestUpdateUserUpgrade(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	pat := s.ServiceAccount().PAT
	createGuest(t, s, "up-1")
	createGuest(t, s, "up-other")
	s.Advance(1000)
	later := "2025-01-23T10:34:18.051001Z" // 1µs later; nanoseconds below a µs are truncated

	upgrade := func(password, username string) string {
		return `{"userId":"up-1","username":"` + username + `",
		"human":{"profile":{"givenName":"Ada","familyName":"Lovelace","displayName":"Ada L."},
		         "email":{"email":"ada@example.com","returnCode":{}},
		         "password":{"password":{"password":"` + password + `","changeRequired":false}}},
		"metadata":[{"key":"GUEST_CREATED_AT","value":""},{"key":"absent","value":""}]}`
	}

	t.Run("invalid password rejects the whole batch", func(t *testing.T) {
		checkJSON(t, connect(t, s, pat, "UpdateUser", upgrade("weak", "ada")), http.StatusBadRequest,
			connectError("invalid_argument", "DOMAIN-HuJf6", "Password is too short"))
		u, _ := s.User("up-1")
		if u.Username != "up-1@guests.invalid" || u.GivenName != "Guest" || len(u.Metadata) != 1 || u.HasPassword {
			t.Errorf("user changed by a failed update: %+v", u)
		}
	})
	t.Run("taken username rejects the whole batch", func(t *testing.T) {
		checkJSON(t, connect(t, s, pat, "UpdateUser", upgrade("Secr3tP4ssw0rd!", "up-other@guests.invalid")), http.StatusConflict,
			connectError("already_exists", "V3-DKcYh", "User already exists"))
	})

	r := connect(t, s, pat, "UpdateUser", upgrade("Secr3tP4ssw0rd!", "ada"))
	if r.status != http.StatusOK {
		t.Fatalf("UpdateUser: %d %s", r.status, r.body)
	}
	u, _ := s.User("up-1")
	checkJSON(t, r, http.StatusOK, `{"changeDate":"`+later+`","emailCode":"`+u.EmailCode+`"}`)
	want := User{
		ID: "up-1", OrganizationID: s.OrganizationID(), Username: "ada", Type: Human, State: "USER_STATE_ACTIVE",
		GivenName: "Ada", FamilyName: "Lovelace", DisplayName: "Ada L.", Email: "ada@example.com",
		EmailCode: u.EmailCode, HasPassword: true, Metadata: map[string][]byte{},
		CreatedAt: testTime(), ChangedAt: testTime().Add(1000),
	}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("upgraded user (-want +got):\n%s", diff)
	}
	if len(u.EmailCode) != 6 || !s.CheckPassword("up-1", "Secr3tP4ssw0rd!") {
		t.Errorf("code %q or password not set", u.EmailCode)
	}
	// The old username is free again.
	createGuest(t, s, "up-1b")
	if r := connect(t, s, pat, "UpdateUser", `{"userId":"up-1b","username":"up-1@guests.invalid"}`); r.status != http.StatusOK {
		t.Errorf("reusing a released username: %d %s", r.status, r.body)
	}

	t.Run("verified e-mail creates no code", func(t *testing.T) {
		createGuest(t, s, "up-2")
		r := do(t, s, http.MethodPatch, "/v2/users/up-2", pat, "application/json",
			`{"human":{"email":{"email":"verified@example.com","isVerified":true}}}`)
		checkJSON(t, r, http.StatusOK, `{"changeDate":"`+later+`"}`)
		u, _ := s.User("up-2")
		if !u.EmailVerified || u.EmailCode != "" {
			t.Errorf("verified=%v code=%q", u.EmailVerified, u.EmailCode)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		checkJSON(t, connect(t, s, pat, "UpdateUser", `{"userId":"nobody","username":"x"}`), http.StatusNotFound,
			connectError("not_found", "COMMAND-ugjs0upun6", "User could not be found"))
	})
	t.Run("empty profile field", func(t *testing.T) {
		checkJSON(t, connect(t, s, pat, "UpdateUser", `{"userId":"up-1","human":{"profile":{"givenName":""}}}`), http.StatusBadRequest,
			`{"code":"invalid_argument","message":"invalid UpdateUserRequest.Human: embedded message failed validation | caused by: invalid UpdateUserRequest_Human.Profile: embedded message failed validation | caused by: invalid UpdateUserRequest_Human_Profile.GivenName: value length must be between 1 and 200 runes, inclusive"}`)
	})
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	pat := s.ServiceAccount().PAT
	org := s.OrganizationID()
	createGuest(t, s, "del-1")

	checkJSON(t, connect(t, s, pat, "DeleteUser", `{"userId":"del-1"}`), http.StatusOK,
		`{"details":{"sequence":"2","changeDate":"`+testStamp+`","resourceOwner":"`+org+`"}}`)
	if _, ok := s.User("del-1"); ok {
		t.Error("deleted user still in state")
	}
	checkJSON(t, connect(t, s, pat, "GetUserByID", `{"userId":"del-1"}`), http.StatusNotFound,
		connectError("not_found", "QUERY-Dfbg2", "User could not be found"))
	checkJSON(t, connect(t, s, pat, "DeleteUser", `{"userId":"del-1"}`), http.StatusNotFound,
		connectError("not_found", "COMMAND-bd4ir1mblj", "User could not be found"))
	checkJSON(t, do(t, s, http.MethodDelete, "/v2/users/del-1", pat, "", ""), http.StatusNotFound,
		`{"code":5,"message":"User could not be found (COMMAND-bd4ir1mblj)",
		  "details":[{"@type":"type.googleapis.com/zitadel.v1.ErrorDetail","id":"COMMAND-bd4ir1mblj","message":"User could not be found"}]}`)
	// The username is released; the id is too.
	createGuest(t, s, "del-1")
}

func TestAddHumanUserHelper(t *testing.T) {
	t.Parallel()
	s := Start(t)
	id, err := s.AddHumanUser(NewHuman{GivenName: "Ada", FamilyName: "Lovelace", Email: "ada@example.com",
		EmailVerified: true, Password: "Secr3tP4ssw0rd!", Metadata: map[string][]byte{"k": []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := s.User(id)
	if u.Username != "ada@example.com" || !u.EmailVerified || !u.HasPassword || string(u.Metadata["k"]) != "v" {
		t.Errorf("AddHumanUser stored %+v", u)
	}
	u.Metadata["k"][0] = 'X' // inspection returns copies
	if u2, _ := s.User(id); string(u2.Metadata["k"]) != "v" {
		t.Error("User returned shared metadata")
	}
	for _, h := range []NewHuman{
		{GivenName: "A", FamilyName: "B", Email: "ada@example.com"},                     // username taken
		{GivenName: "A", FamilyName: "B", Email: "bad"},                                 // invalid e-mail
		{GivenName: "A", FamilyName: "B", Email: "c@example.com", Password: "weak"},     // password policy
		{GivenName: "A", FamilyName: "B", Email: "d@example.com", OrganizationID: "no"}, // unknown org
		{FamilyName: "B", Email: "e@example.com"},                                       // no given name
	} {
		if _, err := s.AddHumanUser(h); err == nil || !strings.HasPrefix(err.Error(), "zitadeltest: ") {
			t.Errorf("AddHumanUser(%+v) = %v, want a zitadeltest error", h, err)
		}
	}
}

func TestUpdateUserKinds(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	pat := s.ServiceAccount().PAT
	createGuest(t, s, "kind-human")
	bot, err := s.AddMachineUser(NewMachine{Username: "kind-bot"})
	if err != nil {
		t.Fatal(err)
	}
	checkJSON(t, connect(t, s, pat, "UpdateUser", `{"userId":"`+bot.ID+`","machine":{"name":"Robot","description":"beep"}}`),
		http.StatusOK, `{"changeDate":"`+testStamp+`"}`)
	if u, _ := s.User(bot.ID); u.DisplayName != "Robot" {
		t.Errorf("machine name = %q", u.DisplayName)
	}
	checkJSON(t, connect(t, s, pat, "UpdateUser", `{"userId":"`+bot.ID+`","human":{"profile":{"givenName":"X"}}}`),
		http.StatusNotFound, connectError("not_found", "COMMAND-ugjs0upun6", "User could not be found"))
	checkJSON(t, connect(t, s, pat, "UpdateUser", `{"userId":"kind-human","machine":{"name":"X"}}`),
		http.StatusNotFound, connectError("not_found", "COMMAND-ugjs0upun6", "User could not be found"))
	checkJSON(t, connect(t, s, pat, "UpdateUser", `{"userId":"kind-human","human":{"password":{"hashedPassword":{"hash":"$2a$10$abc"}}}}`),
		http.StatusNotImplemented, `{"code":"unimplemented","message":"zitadeltest: hashedPassword is not supported"}`)
	checkJSON(t, connect(t, s, pat, "UpdateUser", `{"userId":"kind-human","metadata":[{"key":"","value":"YQ=="}]}`),
		http.StatusBadRequest, connectError("invalid_argument", "META-2m00f", "Metadata is invalid"))
	checkJSON(t, connect(t, s, bot.PAT, "UpdateUser", `{"userId":"kind-human","username":"x"}`),
		http.StatusNotFound, connectError("not_found", "AUTHZ-cdgFk", "membership not found"))
}
