package zitadel

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestProtoJSONMapping(t *testing.T) {
	t.Parallel()
	in := ListUsersRequest{Query: &ListQuery{Offset: 5, Limit: 10, Asc: true}, SortingColumn: UserFieldCreationDate,
		Queries: []SearchQuery{{MetadataKeyFilter: &MetadataKeyFilter{Key: "GUEST_", Method: TextFilterStartsWith}}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"query":{"offset":"5","limit":10,"asc":true},"sortingColumn":"USER_FIELD_NAME_CREATION_DATE","queries":[{"metadataKeyFilter":{"key":"GUEST_","method":"TEXT_FILTER_METHOD_STARTS_WITH"}}]}`
	if string(b) != want {
		t.Errorf("marshal:\n got %s\nwant %s", b, want)
	}
	var back ListUsersRequest
	if err := json.Unmarshal([]byte(`{"query":{"offset":5,"limit":10,"asc":true},"sortingColumn":9,"queries":[{"metadataKeyFilter":{"key":"GUEST_","method":2}}]}`), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, back); diff != "" {
		t.Errorf("numbers for int64 and enums (-want +got):\n%s", diff)
	}
}

func TestBytesAcceptsEveryBase64(t *testing.T) {
	t.Parallel()
	for _, s := range []string{`"/+8="`, `"/+8"`, `"_-8="`, `"_-8"`} {
		var b Bytes
		if err := json.Unmarshal([]byte(s), &b); err != nil || string(b) != "\xff\xef" {
			t.Errorf("Unmarshal(%s) = %q, %v", s, b, err)
		}
	}
	if out, _ := json.Marshal(Bytes("\xff\xef")); string(out) != `"/+8="` {
		t.Errorf("Marshal = %s, want standard padded base64", out)
	}
	var b Bytes
	if err := json.Unmarshal([]byte(`"!!"`), &b); err == nil {
		t.Error("accepted invalid base64")
	}
}

func TestTimestampDigits(t *testing.T) {
	t.Parallel()
	base := time.Date(2025, 1, 23, 10, 34, 18, 0, time.UTC)
	for ns, want := range map[int]string{0: `"2025-01-23T10:34:18Z"`, 51e6: `"2025-01-23T10:34:18.051Z"`,
		51e3: `"2025-01-23T10:34:18.000051Z"`, 5: `"2025-01-23T10:34:18.000000005Z"`} {
		b, _ := json.Marshal(TimestampOf(base.Add(time.Duration(ns))))
		if string(b) != want {
			t.Errorf("%d ns: %s, want %s", ns, b, want)
		}
	}
	type holder struct {
		T Timestamp `json:"t,omitzero"`
	}
	if b, _ := json.Marshal(holder{}); string(b) != `{}` {
		t.Errorf("zero timestamp not omitted: %s", b)
	}
}

func TestEnumRejectsUnknownNames(t *testing.T) {
	t.Parallel()
	var m TextFilterMethod
	if err := json.Unmarshal([]byte(`"TEXT_FILTER_METHOD_FUZZY"`), &m); err == nil {
		t.Error("accepted an unknown enum name")
	}
	if err := json.Unmarshal([]byte(`42`), &m); err != nil || m.Defined() {
		t.Errorf("number 42: %v, defined %v", err, m.Defined())
	}
}
