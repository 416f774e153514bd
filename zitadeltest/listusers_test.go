package zitadeltest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// listIDs runs ListUsers and returns the result's user ids and totalResult.
func listIDs(t *testing.T, s *Server, body string) ([]string, string) {
	t.Helper()
	r := connect(t, s, s.ServiceAccount().PAT, "ListUsers", body)
	if r.status != http.StatusOK {
		t.Fatalf("ListUsers %s: %d %s", body, r.status, r.body)
	}
	resp := r.json(t).(map[string]any)
	ids := []string{}
	results, _ := resp["result"].([]any)
	for _, u := range results {
		ids = append(ids, u.(map[string]any)["userId"].(string))
	}
	total, _ := resp["details"].(map[string]any)["totalResult"].(string)
	return ids, total
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// seedListUsers creates users lu-a … lu-e one second apart, with metadata.
func seedListUsers(t *testing.T, s *Server) {
	t.Helper()
	for _, u := range []struct {
		id string
		md map[string][]byte
	}{
		{"lu-a", map[string][]byte{"GUEST_CREATED_AT": []byte("2025-01-23T10:34:18Z")}},
		{"lu-b", map[string][]byte{"GUEST_25_01_23": []byte("created")}},
		{"lu-c", map[string][]byte{"other": []byte("x")}},
		{"lu-d", nil},
		{"lu-e", map[string][]byte{"GUEST_CREATED_AT": []byte("x"), "other": []byte("created")}},
	} {
		_, err := s.AddHumanUser(NewHuman{UserID: u.id, GivenName: strings.ToUpper(u.id), FamilyName: "User",
			Email: u.id + "@example.com", Metadata: u.md})
		if err != nil {
			t.Fatal(err)
		}
		s.Advance(time.Second)
	}
}

const onlyLU = `{"inUserIdsQuery":{"userIds":["lu-a","lu-b","lu-c","lu-d","lu-e"]}}`

func TestListUsersQueries(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	seedListUsers(t, s)
	correct := startFixed(t, WithCorrectMetadataKeyFilter())
	seedListUsers(t, correct)

	key := func(k, method string) string {
		return `{"metadataKeyFilter":{"key":"` + k + `","method":"TEXT_FILTER_METHOD_` + method + `"}}`
	}
	value := func(v, method string) string {
		return `{"metadataValueFilter":{"value":"` + b64(v) + `","method":"BYTE_FILTER_METHOD_` + method + `"}}`
	}
	tests := []struct {
		name        string
		queries     string
		want        []string
		wantCorrect []string // with WithCorrectMetadataKeyFilter; nil means same as want
	}{
		{"all, descending by id", onlyLU, []string{"lu-e", "lu-d", "lu-c", "lu-b", "lu-a"}, nil},
		{"key equals", key("GUEST_CREATED_AT", "EQUALS"), []string{"lu-e", "lu-a"}, nil},
		{"key starts with", key("GUEST_", "STARTS_WITH"), []string{"lu-e", "lu-b", "lu-a"}, nil},
		{"key starts with, ignore case", key("guest_", "STARTS_WITH_IGNORE_CASE"), []string{"lu-e", "lu-b", "lu-a"}, nil},
		{"key CONTAINS acts as ENDS_WITH", key("CREATED", "CONTAINS"), []string{}, []string{"lu-e", "lu-a"}},
		{"key ENDS_WITH acts as CONTAINS", key("UEST", "ENDS_WITH"), []string{"lu-e", "lu-b", "lu-a"}, []string{}},
		{"key CONTAINS_IGNORE_CASE acts as ENDS_WITH_IGNORE_CASE", key("_at", "CONTAINS_IGNORE_CASE"), []string{"lu-e", "lu-a"}, nil},
		{"key and value match the same entry", key("GUEST_25_01_23", "EQUALS") + "," + value("created", "EQUALS"), []string{"lu-b"}, nil},
		{"key and value of different entries do not match", key("GUEST_CREATED_AT", "EQUALS") + "," + value("created", "EQUALS"), []string{}, nil},
		{"value not equals", value("x", "NOT_EQUALS"), []string{"lu-e", "lu-b", "lu-a"}, nil},
		{"not key: some other entry; none without metadata", `{"notQuery":{"query":` + key("GUEST_", "STARTS_WITH") + `}}`, []string{"lu-e", "lu-c"}, nil},
		{"or", `{"orQuery":{"queries":[{"userNameQuery":{"userName":"lu-c@example.com"}},{"firstNameQuery":{"firstName":"LU-D","method":"TEXT_QUERY_METHOD_EQUALS"}}]}}`, []string{"lu-d", "lu-c"}, nil},
		{"and", `{"andQuery":{"queries":[{"emailQuery":{"emailAddress":"LU-","method":"TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE"}},{"lastNameQuery":{"lastName":"ser","method":"TEXT_QUERY_METHOD_ENDS_WITH"}}]}}`, []string{"lu-e", "lu-d", "lu-c", "lu-b", "lu-a"}, nil},
		{"display name contains", `{"displayNameQuery":{"displayName":"-B U","method":"TEXT_QUERY_METHOD_CONTAINS"}}`, []string{"lu-b"}, nil},
		{"login name", `{"loginNameQuery":{"loginName":"lu-a@example.com"}}`, []string{"lu-a"}, nil},
		{"in e-mails", `{"inUserEmailsQuery":{"userEmails":["lu-a@example.com","lu-c@example.com"]}}`, []string{"lu-c", "lu-a"}, nil},
		{"state", `{"stateQuery":{"state":"USER_STATE_ACTIVE"}}`, []string{"lu-e", "lu-d", "lu-c", "lu-b", "lu-a"}, nil},
		{"type machine", `{"typeQuery":{"type":"TYPE_MACHINE"}}`, []string{}, nil},
		{"organization", `{"organizationIdQuery":{"organizationId":"nope"}}`, []string{}, nil},
		{"empty and matches all", `{"andQuery":{}}`, []string{"lu-e", "lu-d", "lu-c", "lu-b", "lu-a"}, nil},
		{"empty or matches none", `{"orQuery":{}}`, []string{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := `{"queries":[` + onlyLU + `,` + tt.queries + `]}`
			got, _ := listIDs(t, s, body)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			want := tt.wantCorrect
			if want == nil {
				want = tt.want
			}
			got, _ = listIDs(t, correct, body)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ids with correct key filter (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListUsersPagingAndSorting(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	seedListUsers(t, s)
	q := `"queries":[` + onlyLU + `]`
	tests := []struct {
		name      string
		body      string
		want      []string
		wantTotal string
	}{
		{"creation date ascending, limit 2", `{"query":{"limit":2,"asc":true},"sortingColumn":"USER_FIELD_NAME_CREATION_DATE",` + q + `}`, []string{"lu-a", "lu-b"}, "5"},
		{"creation date descending, offset 1", `{"query":{"offset":"1","limit":2},"sortingColumn":"USER_FIELD_NAME_CREATION_DATE",` + q + `}`, []string{"lu-d", "lu-c"}, "5"},
		{"first name ascending", `{"query":{"asc":true},"sortingColumn":"USER_FIELD_NAME_FIRST_NAME",` + q + `}`, []string{"lu-a", "lu-b", "lu-c", "lu-d", "lu-e"}, "5"},
		{"offset past the end", `{"query":{"offset":"10"},` + q + `}`, []string{}, "5"},
		{"limit 0 is no limit", `{"query":{"limit":0},` + q + `}`, []string{"lu-e", "lu-d", "lu-c", "lu-b", "lu-a"}, "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, total := listIDs(t, s, tt.body)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if total != tt.wantTotal {
				t.Errorf("totalResult = %q, want %q", total, tt.wantTotal)
			}
		})
	}
}

// ListUsers picks small pages with a heap and larger ones from a cached
// sort of all users; both must give the same pages, before and after users
// change.
func TestListUsersOrderPaths(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	for i := range 60 {
		md := map[string][]byte{"GUEST_CREATED_AT": []byte("x")}
		if i%7 == 0 {
			md = nil
		}
		// Names repeat so that ties fall back to the user id.
		if _, err := s.AddHumanUser(NewHuman{UserID: fmt.Sprintf("op-%02d", (i*37)%60), GivenName: fmt.Sprintf("N%d", i%5),
			FamilyName: "F", Email: fmt.Sprintf("op%d@example.com", i), Metadata: md}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			s.Advance(time.Second)
		}
	}
	filter := `"queries":[{"metadataKeyFilter":{"key":"GUEST_","method":"TEXT_FILTER_METHOD_STARTS_WITH"}}]`
	for _, col := range []string{"USER_FIELD_NAME_UNSPECIFIED", "USER_FIELD_NAME_CREATION_DATE", "USER_FIELD_NAME_FIRST_NAME"} {
		for _, asc := range []string{"true", "false"} {
			sorting := `"sortingColumn":"` + col + `",` + filter
			all, total := listIDs(t, s, `{"query":{"asc":`+asc+`},`+sorting+`}`) // full sort, cached
			if total != "51" || len(all) != 51 {
				t.Fatalf("%s asc=%s: %d users, total %s", col, asc, len(all), total)
			}
			for _, w := range [][2]int{{0, 10}, {25, 10}, {45, 10}} {
				body := fmt.Sprintf(`{"query":{"offset":"%d","limit":%d,"asc":%s},%s}`, w[0], w[1], asc, sorting)
				listIDs(t, s, `{"query":{"asc":`+asc+`},`+sorting+`}`) // sorts all users again
				cached, _ := listIDs(t, s, body)
				// Any change makes the cached sort stale: the heap answers. op-00
				// is no guest, so the new metadata changes no result.
				if r := connect(t, s, s.ServiceAccount().PAT, "SetUserMetadata",
					`{"userId":"op-00","metadata":[{"key":"touched","value":"eA=="}]}`); r.status != http.StatusOK {
					t.Fatalf("SetUserMetadata: %d %s", r.status, r.body)
				}
				heap, _ := listIDs(t, s, body)
				want := all[w[0]:min(w[0]+w[1], len(all))]
				if diff := cmp.Diff(want, cached); diff != "" {
					t.Errorf("%s asc=%s %v cached (-want +got):\n%s", col, asc, w, diff)
				}
				if diff := cmp.Diff(want, heap); diff != "" {
					t.Errorf("%s asc=%s %v heap (-want +got):\n%s", col, asc, w, diff)
				}
			}
		}
	}
}

func TestListUsersErrors(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	pat := s.ServiceAccount().PAT
	nest := func(depth int) string {
		q := `{"userNameQuery":{"userName":"x"}}`
		for range depth {
			q = `{"orQuery":{"queries":[` + q + `]}}`
		}
		return `{"queries":[` + q + `]}`
	}
	if r := connect(t, s, pat, "ListUsers", nest(20)); r.status != http.StatusOK {
		t.Errorf("20 levels: %d %s", r.status, r.body)
	}
	checkJSON(t, connect(t, s, pat, "ListUsers", nest(21)), http.StatusBadRequest,
		connectError("invalid_argument", "USER-zsQ97", "Too many query nesting levels (Max 20)"))
	checkJSON(t, connect(t, s, pat, "ListUsers", `{"queries":[{}]}`), http.StatusBadRequest,
		connectError("invalid_argument", "GRPC-vR9nC", "List.Query.Invalid"))
	checkJSON(t, connect(t, s, pat, "ListUsers", `{"queries":[{"userNameQuery":{"userName":"a"},"typeQuery":{"type":"TYPE_HUMAN"}}]}`), http.StatusBadRequest,
		`{"code":"invalid_argument","message":"unmarshal into *user.ListUsersRequest: proto: error parsing \"query\", oneof zitadel.user.v2.SearchQuery.query is already set"}`)
	checkJSON(t, connect(t, s, pat, "ListUsers", `{"queries":[{"userNameQuery":{"userName":""}}]}`), http.StatusBadRequest,
		`{"code":"invalid_argument","message":"invalid ListUsersRequest.Queries[0]: embedded message failed validation | caused by: invalid SearchQuery.UserNameQuery: embedded message failed validation | caused by: invalid UserNameQuery.UserName: value length must be between 1 and 200 runes, inclusive"}`)
	checkJSON(t, connect(t, s, pat, "ListUsers", `{"sortingColumn":"USER_FIELD_NAME_NOPE"}`), http.StatusBadRequest,
		`{"code":"invalid_argument","message":"unmarshal into *user.ListUsersRequest: proto: invalid value for enum field: \"USER_FIELD_NAME_NOPE\""}`)
	// REST transcoding of ListUsers.
	r := do(t, s, http.MethodPost, "/v2/users", pat, "application/json", `{"queries":[{"typeQuery":{"type":"TYPE_MACHINE"}}]}`)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), s.ServiceAccount().ID) {
		t.Errorf("POST /v2/users: %d %s", r.status, r.body)
	}
}

func TestUserMetadata(t *testing.T) {
	t.Parallel()
	s := startFixed(t)
	pat := s.ServiceAccount().PAT
	createGuest(t, s, "md-1") // GUEST_CREATED_AT at testTime
	s.Advance(time.Second)
	at1 := "2025-01-23T10:34:19.051Z"
	checkJSON(t, connect(t, s, pat, "SetUserMetadata", `{"userId":"md-1","metadata":[{"key":"cart","value":"`+b64("3 items")+`"}]}`),
		http.StatusOK, `{"setDate":"`+at1+`"}`)
	s.Advance(time.Second)
	at2 := "2025-01-23T10:34:20.051Z"
	checkJSON(t, do(t, s, http.MethodPost, "/v2/users/md-1/metadata", pat, "application/json", `{"metadata":[{"key":"theme","value":"`+b64("dark")+`"}]}`),
		http.StatusOK, `{"setDate":"`+at2+`"}`)

	entry := func(key, value, date string) string {
		return `{"creationDate":"` + date + `","changeDate":"` + date + `","key":"` + key + `","value":"` + b64(value) + `"}`
	}
	guest := entry("GUEST_CREATED_AT", "2025-01-23T10:34:18Z", testStamp)
	cart, theme := entry("cart", "3 items", at1), entry("theme", "dark", at2)
	tests := []struct {
		name, body string
		wantStatus int
		wantBody   string
	}{
		{"default: newest first", `{"userId":"md-1"}`, 200,
			`{"pagination":{"totalResult":"3","appliedLimit":"100"},"metadata":[` + theme + `,` + cart + `,` + guest + `]}`},
		{"ascending page", `{"userId":"md-1","pagination":{"offset":"1","limit":1,"asc":true}}`, 200,
			`{"pagination":{"totalResult":"3","appliedLimit":"1"},"metadata":[` + cart + `]}`},
		{"key filter contains (mapped correctly here)", `{"userId":"md-1","filters":[{"keyFilter":{"key":"CREATED","method":"TEXT_FILTER_METHOD_CONTAINS"}}]}`, 200,
			`{"pagination":{"totalResult":"1","appliedLimit":"100"},"metadata":[` + guest + `]}`},
		{"limit above 1000", `{"userId":"md-1","pagination":{"limit":1001}}`, 400,
			connectError("invalid_argument", "QUERY-4M0fs", "Limit exceeded")},
		{"unknown user lists nothing", `{"userId":"nobody"}`, 200, `{"pagination":{"appliedLimit":"100"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkJSON(t, connect(t, s, pat, "ListUserMetadata", tt.body), tt.wantStatus, tt.wantBody)
		})
	}
	checkJSON(t, do(t, s, http.MethodPost, "/v2/users/md-1/metadata/search", pat, "application/json", ""),
		http.StatusOK, `{"pagination":{"totalResult":"3","appliedLimit":"100"},"metadata":[`+theme+`,`+cart+`,`+guest+`]}`)

	// Errors of Set and Delete.
	checkJSON(t, connect(t, s, pat, "SetUserMetadata", `{"userId":"md-1","metadata":[]}`), 400,
		connectError("failed_precondition", "META-9mm2d", "Metadata list is empty"))
	checkJSON(t, connect(t, s, pat, "SetUserMetadata", `{"userId":"nobody","metadata":[{"key":"a","value":"YQ=="}]}`), 400,
		connectError("failed_precondition", "COMMAND-uXHNj", "User could not be found"))
	checkJSON(t, connect(t, s, pat, "DeleteUserMetadata", `{"userId":"md-1","keys":[]}`), 400,
		connectError("failed_precondition", "META-9mm2d", "Metadata list is empty"))
	checkJSON(t, connect(t, s, pat, "DeleteUserMetadata", `{"userId":"nobody","keys":["a"]}`), 400,
		connectError("failed_precondition", "COMMAND-uXHNj", "User could not be found"))
	checkJSON(t, connect(t, s, pat, "DeleteUserMetadata", `{"userId":"md-1","keys":["cart","absent"]}`), 404,
		connectError("not_found", "META-2nnds", "One or more keys do not exist"))
	if u, _ := s.User("md-1"); len(u.Metadata) != 3 {
		t.Errorf("a failed delete removed keys: %v", u.Metadata)
	}

	// An empty value deletes a key in SetUserMetadata; absent keys are ignored.
	s.Advance(time.Second)
	checkJSON(t, connect(t, s, pat, "SetUserMetadata", `{"userId":"md-1","metadata":[{"key":"theme","value":""},{"key":"absent","value":""}]}`),
		http.StatusOK, `{"setDate":"2025-01-23T10:34:21.051Z"}`)
	checkJSON(t, do(t, s, http.MethodDelete, "/v2/users/md-1/metadata?keys=cart&keys=GUEST_CREATED_AT", pat, "", ""),
		http.StatusOK, `{"deletionDate":"2025-01-23T10:34:21.051Z"}`)
	if u, _ := s.User("md-1"); len(u.Metadata) != 0 {
		t.Errorf("metadata left: %v", u.Metadata)
	}
}
