package zitadeltest_test

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow/zitadeltest"
)

// Contract cases of ListUsers (docs/zitadel.md §4.4).

// listFixture is three users whose fields carry a random prefix, so that
// queries find only them even on a shared instance:
//
//	a  username <p>-alice, Alice/Anders, nick <p>-ace, verified phone +41790000001,
//	   metadata GUEST_A_x = "1" and other = "2"
//	b  username <p>-bob, Bob/Brown, metadata y_GUEST = "1"
//	c  username <p>-carol, Carol/Clark, no metadata, e-mail verified
type listFixture struct {
	p       string
	a, b, c string
	all     string // an inUserIdsQuery of the three
}

func (z *instance) listFixture(t *testing.T) listFixture {
	t.Helper()
	p := randomID("lf")
	f := listFixture{p: p}
	create := func(name, given, family, profile, phone, metadata string) string {
		id := randomID("ct")
		z.cleanup(t, id)
		ok(t, z.connect(t, "CreateUser", `{"organizationId":"`+z.orgID+`","userId":"`+id+`","username":"`+p+`-`+name+`",
			"human":{"profile":{"givenName":"`+p+`-`+given+`","familyName":"`+p+`-`+family+`"`+profile+`},
			         "email":{"email":"`+p+`-`+name+`@example.com","isVerified":`+map[bool]string{true: "true", false: "false"}[name == "carol"]+`}`+phone+`},
			"metadata":[`+metadata+`]}`))
		return id
	}
	f.a = create("alice", "Alice", "Anders", `,"nickName":"`+p+`-ace","displayName":"`+p+`-Alice A"`,
		`,"phone":{"phone":"+41790000001","isVerified":true}`,
		`{"key":"GUEST_A_x","value":"`+b64("1")+`"},{"key":"other","value":"`+b64("2")+`"}`)
	f.b = create("bob", "Bob", "Brown", "", "", `{"key":"y_GUEST","value":"`+b64("1")+`"}`)
	f.c = create("carol", "Carol", "Clark", "", "", "")
	f.all = `{"inUserIdsQuery":{"userIds":["` + f.a + `","` + f.b + `","` + f.c + `"]}}`
	return f
}

// ids lists users with queries ANDed to the fixture's and returns the
// result ids (sorted unless keepOrder) and totalResult.
func (z *instance) ids(t *testing.T, f listFixture, body string, keepOrder bool) ([]string, string) {
	t.Helper()
	got := ok(t, z.connect(t, "ListUsers", body))
	ids := []string{}
	results, _ := got["result"].([]any)
	for _, u := range results {
		ids = append(ids, u.(map[string]any)["userId"].(string))
	}
	if !keepOrder {
		sort.Strings(ids)
	}
	total, _ := dig(got, "details", "totalResult").(string)
	return ids, total
}

// query wraps one query for ListUsers, ANDed with the fixture's users.
func (f listFixture) query(q string) string {
	return `{"query":{"limit":100},"queries":[` + f.all + `,` + q + `]}`
}

func sorted(ids ...string) []string {
	out := append([]string{}, ids...)
	sort.Strings(out)
	return out
}

// listQueryCase states which fixture users one query finds.
func listQueryCase(name, query string, want func(f listFixture) []string) contractCase {
	return contractCase{name: "ListUsers: " + name, run: func(t *testing.T, z *instance) {
		f := z.listFixture(t)
		q := strings.NewReplacer("<p>", f.p, "<P>", strings.ToUpper(f.p), "<org>", z.orgID).Replace(query)
		got, total := z.ids(t, f, f.query(q), false)
		w := sorted(want(f)...)
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("ids (-want +got):\n%s", diff)
		}
		if wantTotal := map[bool]string{true: "", false: strconv.Itoa(len(w))}[len(w) == 0]; total != wantTotal {
			t.Errorf("totalResult %q, want %q", total, wantTotal)
		}
	}}
}

var listCases = []contractCase{
	listQueryCase("userNameQuery EQUALS_IGNORE_CASE", `{"userNameQuery":{"userName":"<P>-ALICE","method":"TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE"}}`,
		func(f listFixture) []string { return []string{f.a} }),
	listQueryCase("firstNameQuery STARTS_WITH", `{"firstNameQuery":{"firstName":"<p>-B","method":"TEXT_QUERY_METHOD_STARTS_WITH"}}`,
		func(f listFixture) []string { return []string{f.b} }),
	listQueryCase("lastNameQuery ENDS_WITH", `{"lastNameQuery":{"lastName":"rk","method":"TEXT_QUERY_METHOD_ENDS_WITH"}}`,
		func(f listFixture) []string { return []string{f.c} }),
	listQueryCase("nickNameQuery EQUALS", `{"nickNameQuery":{"nickName":"<p>-ace"}}`,
		func(f listFixture) []string { return []string{f.a} }),
	listQueryCase("displayNameQuery CONTAINS_IGNORE_CASE", `{"displayNameQuery":{"displayName":"CAROL","method":"TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE"}}`,
		func(f listFixture) []string { return []string{f.c} }),
	listQueryCase("emailQuery STARTS_WITH", `{"emailQuery":{"emailAddress":"<p>-bob@","method":"TEXT_QUERY_METHOD_STARTS_WITH"}}`,
		func(f listFixture) []string { return []string{f.b} }),
	listQueryCase("phoneQuery EQUALS", `{"phoneQuery":{"number":"+41790000001"}}`,
		func(f listFixture) []string { return []string{f.a} }),
	listQueryCase("stateQuery ACTIVE", `{"stateQuery":{"state":"USER_STATE_ACTIVE"}}`,
		func(f listFixture) []string { return []string{f.a, f.b, f.c} }),
	listQueryCase("typeQuery MACHINE", `{"typeQuery":{"type":"TYPE_MACHINE"}}`,
		func(f listFixture) []string { return nil }),
	listQueryCase("loginNameQuery EQUALS", `{"loginNameQuery":{"loginName":"<p>-carol"}}`,
		func(f listFixture) []string { return []string{f.c} }),
	listQueryCase("inUserEmailsQuery", `{"inUserEmailsQuery":{"userEmails":["<p>-alice@example.com","<p>-carol@example.com"]}}`,
		func(f listFixture) []string { return []string{f.a, f.c} }),
	listQueryCase("organizationIdQuery", `{"organizationIdQuery":{"organizationId":"<org>"}}`,
		func(f listFixture) []string { return []string{f.a, f.b, f.c} }),
	listQueryCase("orQuery", `{"orQuery":{"queries":[{"firstNameQuery":{"firstName":"<p>-Alice"}},{"lastNameQuery":{"lastName":"<p>-Clark"}}]}}`,
		func(f listFixture) []string { return []string{f.a, f.c} }),
	listQueryCase("andQuery", `{"andQuery":{"queries":[{"firstNameQuery":{"firstName":"<p>-Alice"}},{"lastNameQuery":{"lastName":"<p>-Clark"}}]}}`,
		func(f listFixture) []string { return nil }),
	listQueryCase("notQuery", `{"notQuery":{"query":{"firstNameQuery":{"firstName":"<p>-Alice"}}}}`,
		func(f listFixture) []string { return []string{f.b, f.c} }),
	listQueryCase("metadataKeyFilter STARTS_WITH GUEST_", `{"metadataKeyFilter":{"key":"GUEST_","method":"TEXT_FILTER_METHOD_STARTS_WITH"}}`,
		func(f listFixture) []string { return []string{f.a} }),
	listQueryCase("metadataKeyFilter EQUALS", `{"metadataKeyFilter":{"key":"y_GUEST"}}`,
		func(f listFixture) []string { return []string{f.b} }),
	// ZITADEL casts the method numerically onto its internal enum: CONTAINS
	// behaves as ENDS_WITH and ENDS_WITH as CONTAINS.
	listQueryCase("metadataKeyFilter CONTAINS behaves as ENDS_WITH", `{"metadataKeyFilter":{"key":"GUEST","method":"TEXT_FILTER_METHOD_CONTAINS"}}`,
		func(f listFixture) []string { return []string{f.b} }),
	listQueryCase("metadataKeyFilter ENDS_WITH behaves as CONTAINS", `{"metadataKeyFilter":{"key":"GUEST_A","method":"TEXT_FILTER_METHOD_ENDS_WITH"}}`,
		func(f listFixture) []string { return []string{f.a} }),
	listQueryCase("metadataValueFilter EQUALS", `{"metadataValueFilter":{"value":"`+b64("2")+`","method":"BYTE_FILTER_METHOD_EQUALS"}}`,
		func(f listFixture) []string { return []string{f.a} }),
	listQueryCase("metadataValueFilter NOT_EQUALS skips users without metadata", `{"metadataValueFilter":{"value":"`+b64("2")+`","method":"BYTE_FILTER_METHOD_NOT_EQUALS"}}`,
		func(f listFixture) []string { return []string{f.a, f.b} }),
	// A key and a value filter in one AND must match the same entry.
	listQueryCase("metadataKeyFilter and metadataValueFilter match one entry", `{"metadataKeyFilter":{"key":"GUEST_A_x"}},{"metadataValueFilter":{"value":"`+b64("2")+`"}}`,
		func(f listFixture) []string { return nil }),
	// Filters on a user without metadata compare against NULL.
	listQueryCase("notQuery of a metadata filter skips users without metadata", `{"notQuery":{"query":{"metadataKeyFilter":{"key":"y_GUEST"}}}}`,
		func(f listFixture) []string { return []string{f.a} }),
	{name: "ListUsers: metadataKeyFilter maps methods correctly with WithCorrectMetadataKeyFilter", fakeOnly: "an option of the fake",
		run: func(t *testing.T, _ *instance) {
			z := own(t, zitadeltest.WithCorrectMetadataKeyFilter())
			f := z.listFixture(t)
			got, _ := z.ids(t, f, f.query(`{"metadataKeyFilter":{"key":"GUEST","method":"TEXT_FILTER_METHOD_CONTAINS"}}`), false)
			if diff := cmp.Diff(sorted(f.a, f.b), got); diff != "" {
				t.Errorf("CONTAINS (-want +got):\n%s", diff)
			}
		}},
	{name: "ListUsers: and/or/not nest at most 20 levels, else 400 USER-zsQ97", run: func(t *testing.T, z *instance) {
		nest := func(levels int) string {
			q := `{"userNameQuery":{"userName":"x"}}`
			for range levels {
				q = `{"andQuery":{"queries":[` + q + `]}}`
			}
			return `{"query":{"limit":1},"queries":[` + q + `]}`
		}
		ok(t, z.connect(t, "ListUsers", nest(20)))
		wantConnectError(t, z.connect(t, "ListUsers", nest(21)), http.StatusBadRequest, "invalid_argument", "USER-zsQ97")
	}},
	{name: "ListUsers: offset, limit and asc page through totalResult; descending by default", run: func(t *testing.T, z *instance) {
		f := z.listFixture(t)
		byName := func(query string) ([]string, string) {
			return z.ids(t, f, `{"query":`+query+`,"sortingColumn":"USER_FIELD_NAME_USER_NAME","queries":[`+f.all+`]}`, true)
		}
		for query, want := range map[string][]string{
			`{"limit":2,"asc":true}`:              {f.a, f.b},
			`{"offset":"2","limit":2,"asc":true}`: {f.c},
			`{"offset":2,"limit":2,"asc":true}`:   {f.c},
			`{"limit":2}`:                         {f.c, f.b},
			`{"offset":"5","limit":2,"asc":true}`: {},
		} {
			got, total := byName(query)
			if diff := cmp.Diff(want, got); diff != "" || total != "3" {
				t.Errorf("query %s: total %s, ids (-want +got):\n%s", query, total, diff)
			}
		}
	}},
	{name: "ListUsers: sorting columns", run: func(t *testing.T, z *instance) {
		f := z.listFixture(t)
		for col, want := range map[string][]string{
			"USER_FIELD_NAME_FIRST_NAME":    {f.a, f.b, f.c},
			"USER_FIELD_NAME_LAST_NAME":     {f.a, f.b, f.c},
			"USER_FIELD_NAME_EMAIL":         {f.a, f.b, f.c},
			"USER_FIELD_NAME_CREATION_DATE": {f.a, f.b, f.c},
			"USER_FIELD_NAME_DISPLAY_NAME":  {f.a, f.b, f.c},
		} {
			got, _ := z.ids(t, f, `{"query":{"asc":true},"sortingColumn":"`+col+`","queries":[`+f.all+`]}`, true)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", col, diff)
			}
		}
		wantConnectError(t, z.connect(t, "ListUsers", `{"sortingColumn":"NO_SUCH_COLUMN"}`), http.StatusBadRequest, "invalid_argument", "")
	}},
	{name: "ListUsers: response details and user shape", run: func(t *testing.T, z *instance) {
		f := z.listFixture(t)
		got := ok(t, z.connect(t, "ListUsers", `{"query":{"limit":1},"queries":[{"inUserIdsQuery":{"userIds":["`+f.c+`"]}}]}`))
		d := got["details"].(map[string]any)
		if d["totalResult"] != "1" || d["timestamp"] == nil {
			t.Errorf("details %v", d)
		}
		if _, isString := d["processedSequence"].(string); !isString {
			t.Errorf("processedSequence %v is not a string", d["processedSequence"])
		}
		u := got["result"].([]any)[0].(map[string]any)
		if u["userId"] != f.c || dig(u, "human", "email", "isVerified") != true || dig(u, "details", "resourceOwner") != z.orgID {
			t.Errorf("user %v", u)
		}
	}},
}
