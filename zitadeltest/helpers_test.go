package zitadeltest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testTime is the fixed base clock of the tests' servers.
func testTime() time.Time { return time.Date(2025, 1, 23, 10, 34, 18, 51_000_000, time.UTC) }

const testStamp = "2025-01-23T10:34:18.051Z" // testTime in protojson form

// startFixed starts a server whose clock stands still at testTime.
func startFixed(t *testing.T, opts ...Option) *Server {
	t.Helper()
	return Start(t, append([]Option{WithClock(testTime)}, opts...)...)
}

// response is a raw HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value for cmp.Diff.
func (r response) json(t *testing.T) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, r.body)
	}
	return v
}

// do sends a request with an optional bearer token and content type.
func do(t *testing.T, s *Server, method, path, bearer, contentType, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// connect calls a user-service method over Connect with JSON.
func connect(t *testing.T, s *Server, bearer, method, body string) response {
	t.Helper()
	return do(t, s, http.MethodPost, "/zitadel.user.v2.UserService/"+method, bearer, "application/json", body)
}

// form posts a form, with Basic client auth when user is set.
func form(t *testing.T, s *Server, path string, v url.Values, basicUser, basicPass string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+path, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// parseJSON decodes a literal expected body.
func parseJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad expected JSON %s: %v", s, err)
	}
	return v
}

// checkJSON compares status and JSON body.
func checkJSON(t *testing.T, got response, wantStatus int, wantBody string) {
	t.Helper()
	if got.status != wantStatus {
		t.Errorf("status = %d, want %d; body %s", got.status, wantStatus, got.body)
	}
	if diff := cmp.Diff(parseJSON(t, wantBody), got.json(t)); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}

// connectError is the Connect error body of a ZITADEL error with an id.
func connectError(code, id, msg string) string {
	detail := string(mustJSON(map[string]any{
		"type":  "zitadel.v1.ErrorDetail",
		"value": b64Detail(id, msg),
		"debug": map[string]string{"id": id, "message": msg},
	}))
	return `{"code":"` + code + `","message":` + string(mustJSON(msg+" ("+id+")")) + `,"details":[` + detail + `]}`
}

func b64Detail(id, msg string) string {
	return base64.RawStdEncoding.EncodeToString(errorDetailProto(id, msg))
}

func mustJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimSpace(buf.Bytes())
}

// createGuest creates a guest-like user over Connect and returns its id.
func createGuest(t *testing.T, s *Server, id string) string {
	t.Helper()
	r := connect(t, s, s.ServiceAccount().PAT, "CreateUser", `{
		"organizationId":"`+s.OrganizationID()+`","userId":"`+id+`",
		"human":{"profile":{"givenName":"Guest","familyName":"User"},
		         "email":{"email":"`+id+`@guests.invalid","isVerified":false}},
		"metadata":[{"key":"GUEST_CREATED_AT","value":"MjAyNS0wMS0yM1QxMDozNDoxOFo="}]}`)
	if r.status != http.StatusOK {
		t.Fatalf("CreateUser: %d %s", r.status, r.body)
	}
	return id
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
