package zitadel

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseError(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		status int
		body   string
		want   StatusError
	}{
		"Connect": {404, `{"code":"not_found","message":"User could not be found (QUERY-Dfbg2)","details":[{"type":"zitadel.v1.ErrorDetail","value":"CgtRVUVSWS1EZmJnMg","debug":{"id":"QUERY-Dfbg2","message":"User could not be found"}}]}`,
			StatusError{HTTPStatus: 404, Code: CodeNotFound, ID: "QUERY-Dfbg2", Message: "User could not be found (QUERY-Dfbg2)"}},
		"Gateway": {400, `{"code":9,"message":"User already exists (COMMAND-7yiox1isql)","details":[{"@type":"type.googleapis.com/zitadel.v1.ErrorDetail","id":"COMMAND-7yiox1isql","message":"User already exists"}]}`,
			StatusError{HTTPStatus: 400, Code: CodeFailedPrecondition, ID: "COMMAND-7yiox1isql", Message: "User already exists (COMMAND-7yiox1isql)"}},
		"NoDetailsIDInMessage": {401, `{"code":"unauthenticated","message":"Errors.Token.Invalid (AUTH-7fs1e)"}`,
			StatusError{HTTPStatus: 401, Code: CodeUnauthenticated, ID: "AUTH-7fs1e", Message: "Errors.Token.Invalid (AUTH-7fs1e)"}},
		"ValidationWithoutID": {400, `{"code":"invalid_argument","message":"invalid CreateUserRequest.OrganizationId: value length must be between 1 and 200 runes, inclusive"}`,
			StatusError{HTTPStatus: 400, Code: CodeInvalidArgument, Message: "invalid CreateUserRequest.OrganizationId: value length must be between 1 and 200 runes, inclusive"}},
		"ProxyHTML": {502, `<html><body>Bad Gateway</body></html>`,
			StatusError{HTTPStatus: 502, Code: CodeUnavailable, Message: "<html><body>Bad Gateway</body></html>"}},
		"Empty415":        {415, ``, StatusError{HTTPStatus: 415, Code: CodeUnknown}},
		"UnknownCodeName": {500, `{"code":"mystery"}`, StatusError{HTTPStatus: 500, Code: CodeUnknown}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(&c.want, ParseError(c.status, []byte(c.body))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCodeHTTPStatusTable(t *testing.T) {
	t.Parallel()
	want := map[Code]int{CodeInvalidArgument: 400, CodeFailedPrecondition: 400, CodeNotFound: 404, CodeAlreadyExists: 409,
		CodePermissionDenied: 403, CodeUnauthenticated: 401, CodeResourceExhausted: 429, CodeInternal: 500,
		CodeUnavailable: 503, CodeUnimplemented: 501, CodeDeadlineExceeded: 504, CodeAborted: 409, CodeCanceled: 499,
		CodeUnknown: 500, CodeDataLoss: 500}
	for c, status := range want {
		if got := c.HTTPStatus(); got != status {
			t.Errorf("%v.HTTPStatus() = %d, want %d", c, got, status)
		}
		if CodeFromString(c.String()) != c {
			t.Errorf("CodeFromString(%q) != %v", c.String(), c)
		}
	}
	if http.StatusText(CodeFailedPrecondition.HTTPStatus()) != "Bad Request" {
		t.Error("FailedPrecondition must be 400, not 412")
	}
}

func TestParseOAuthError(t *testing.T) {
	t.Parallel()
	got := ParseOAuthError(403, []byte(`{"error":"invalid_request","error_description":"Errors.TokenExchange.Impersonation.PolicyDisabled"}`))
	if diff := cmp.Diff(&OAuthError{HTTPStatus: 403, Code: "invalid_request", Description: "Errors.TokenExchange.Impersonation.PolicyDisabled"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := ParseOAuthError(503, []byte("upstream down")); got.Code != "server_error" || got.Description != "upstream down" {
		t.Errorf("non-JSON 503 = %+v", got)
	}
}

// FuzzParseError: any body parses into an error value without panicking.
func FuzzParseError(f *testing.F) {
	for _, s := range []string{`{"code":"not_found","message":"x (A-b)","details":[{"type":"t","value":"v","debug":{"id":"A-b"}}]}`,
		`{"code":5,"details":[{"@type":"type.googleapis.com/zitadel.v1.ErrorDetail","id":"Q-1"}]}`,
		`{"code":null}`, `{"code":[1]}`, `{"code":99999999999}`, `{"code":-1}`, `[]`, `"x"`, `{"details":"no"}`, "(", "\xff"} {
		f.Add(503, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := ParseError(status, body)
		if e == nil || e.HTTPStatus != status || e.Code < 0 || int(e.Code) >= len(codeNames) {
			t.Fatalf("ParseError(%d, %q) = %+v", status, body, e)
		}
		_ = e.Error()
		o := ParseOAuthError(status, body)
		if o == nil || o.Code == "" {
			t.Fatalf("ParseOAuthError(%d, %q) = %+v", status, body, o)
		}
	})
}
