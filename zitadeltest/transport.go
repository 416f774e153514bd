package zitadeltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// The user service over Connect (POST /zitadel.user.v2.UserService/<Method>)
// and over grpc-gateway's REST transcoding (/v2/users...). Both decode the
// request, then authenticate, validate and call the same rpc.

// maxRequestBytes bounds request bodies (connect-go's default read limit is
// unbounded; 4 MiB is gRPC's default message size).
const maxRequestBytes = 4 << 20

// rpc is one method of the user service.
type rpc interface {
	operation() Operation
	// run answers a request whose body is body (nil: none); fill may set
	// fields taken from the URL. connect selects the Connect wording of
	// decoding errors.
	run(s *Server, r *http.Request, body []byte, connect bool, fill func(any)) (any, *apiError)
}

// method binds a request type to its checks and its implementation.
type method[Req, Resp any] struct {
	op Operation
	// oneofs reports a request that sets two members of one oneof, which
	// protojson rejects while decoding.
	oneofs   func(*Req) error
	validate func(*Req) error
	// call runs with Server.mu held.
	call func(s *Server, caller *user, req *Req) (*Resp, *apiError)
}

func (m method[Req, Resp]) operation() Operation { return m.op }
func (m method[Req, Resp]) name() string         { return m.op.String() }

func (m method[Req, Resp]) run(s *Server, r *http.Request, body []byte, connect bool, fill func(any)) (any, *apiError) {
	req := new(Req)
	err := decodeMessage(body, req, connect)
	if err == nil && fill != nil {
		fill(req)
	}
	if err == nil && m.oneofs != nil {
		err = m.oneofs(req)
	}
	if err != nil {
		if connect {
			return nil, invalidArgument("unmarshal into *user.%sRequest: %s", m.name(), err)
		}
		return nil, invalidArgument("%s", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	caller, aerr := s.st.authenticate(r)
	if aerr != nil {
		return nil, aerr
	}
	if m.validate != nil {
		if err := m.validate(req); err != nil {
			return nil, invalidArgument("%s", err)
		}
	}
	resp, aerr := m.call(s, caller, req)
	if aerr != nil {
		return nil, aerr
	}
	return resp, nil
}

// decodeMessage reads a protojson message: a JSON object whose field names
// may be lowerCamelCase or the proto's snake_case; unknown fields are
// ignored. connect rejects an empty body as connect-go does; the gateway
// reads it as an empty message.
func decodeMessage(body []byte, v any, connect bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		if connect {
			return errors.New("zero-length payload is not a valid JSON object")
		}
		return nil
	}
	if !hasSnakeKey(body) {
		// The common case, lowerCamelCase only: one pass. Any error goes
		// through the slow path below for protojson's message.
		if err := json.Unmarshal(body, v); err == nil && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			return nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("proto: syntax error: %v", err)
	}
	if dec.More() {
		return errors.New("proto: syntax error: unexpected token after the message")
	}
	if _, ok := raw.(map[string]any); !ok {
		return errors.New("proto: syntax error: unexpected token, want an object")
	}
	b, err := json.Marshal(camelKeys(raw))
	if err != nil {
		return fmt.Errorf("proto: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("proto: %v", err)
	}
	return nil
}

// hasSnakeKey reports whether a JSON text has an object key with an
// underscore: a string holding '_' followed by ':'.
func hasSnakeKey(b []byte) bool {
	in, esc, underscore := false, false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case in && esc:
			esc = false
		case in && c == '\\':
			esc = true
		case in && c == '"':
			in = false
			if underscore {
				j := i + 1
				for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
					j++
				}
				if j < len(b) && b[j] == ':' {
					return true
				}
			}
		case in:
			underscore = underscore || c == '_'
		case c == '"':
			in, underscore = true, false
		}
	}
	return false
}

// camelKeys renames snake_case object keys to lowerCamelCase, recursively.
// The user-service messages have no map fields, so every key is a field name.
func camelKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[lowerCamel(k)] = camelKeys(val)
		}
		return out
	case []any:
		for i := range t {
			t[i] = camelKeys(t[i])
		}
	}
	return v
}

func lowerCamel(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	var b strings.Builder
	up := false
	for _, r := range s {
		switch {
		case r == '_':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// oneofSet is the protojson error for a second member of a oneof.
func oneofSet(member, oneof string) error {
	return fmt.Errorf("proto: error parsing %q, oneof %s is already set", member, oneof)
}

// count returns how many of the flags are set.
func count(set ...bool) int {
	n := 0
	for _, b := range set {
		if b {
			n++
		}
	}
	return n
}

func emailOneof(e *zitadel.SetHumanEmail) error {
	if e != nil && count(e.SendCode != nil, e.ReturnCode != nil, e.IsVerified != nil) > 1 {
		return oneofSet("isVerified", "zitadel.user.v2.SetHumanEmail.verification")
	}
	return nil
}

func phoneOneof(p *zitadel.SetHumanPhone) error {
	if p != nil && count(p.SendCode != nil, p.ReturnCode != nil, p.IsVerified != nil) > 1 {
		return oneofSet("isVerified", "zitadel.user.v2.SetHumanPhone.verification")
	}
	return nil
}

// searchQueryOneofs checks that no SearchQuery sets two members.
func searchQueryOneofs(qs []zitadel.SearchQuery) error {
	for i := range qs {
		q := &qs[i]
		if searchQueryMembers(q) > 1 {
			return oneofSet("query", "zitadel.user.v2.SearchQuery.query")
		}
		var sub []zitadel.SearchQuery
		switch {
		case q.OrQuery != nil:
			sub = q.OrQuery.Queries
		case q.AndQuery != nil:
			sub = q.AndQuery.Queries
		case q.NotQuery != nil && q.NotQuery.Query != nil:
			sub = []zitadel.SearchQuery{*q.NotQuery.Query}
		}
		if err := searchQueryOneofs(sub); err != nil {
			return err
		}
	}
	return nil
}

func searchQueryMembers(q *zitadel.SearchQuery) int {
	return count(q.UserNameQuery != nil, q.FirstNameQuery != nil, q.LastNameQuery != nil,
		q.NickNameQuery != nil, q.DisplayNameQuery != nil, q.EmailQuery != nil, q.StateQuery != nil,
		q.TypeQuery != nil, q.LoginNameQuery != nil, q.InUserIDsQuery != nil, q.OrQuery != nil,
		q.AndQuery != nil, q.NotQuery != nil, q.InUserEmailsQuery != nil, q.OrganizationIDQuery != nil,
		q.PhoneQuery != nil, q.MetadataKeyFilter != nil, q.MetadataValueFilter != nil)
}

// serveConnect serves POST /zitadel.user.v2.UserService/<Method> with
// connect-go's checks: method, content type, protocol version, body.
func (s *Server) serveConnect(w http.ResponseWriter, r *http.Request) {
	m, ok := s.rpcs[strings.TrimPrefix(r.URL.Path, zitadel.UserServicePath)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	setOp(r, m.operation())
	if !connectPreamble(w, r) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		writeConnectError(w, invalidArgument("read request body: message too large or unreadable"))
		return
	}
	resp, aerr := m.run(s, r, body, true, nil)
	if aerr != nil {
		writeConnectError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// connectPreamble applies connect-go's checks before the body: method,
// content type and protocol version. It answers and returns false when
// one fails.
func connectPreamble(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return false
	}
	if !connectJSON(r.Header.Get("Content-Type")) {
		w.Header().Set("Accept-Post", connectAcceptPost)
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return false
	}
	if v := r.Header.Get("Connect-Protocol-Version"); v != "" && v != "1" {
		writeConnectError(w, invalidArgument("Connect-Protocol-Version must be %q: got %q", "1", v))
		return false
	}
	return true
}

// connectJSON reports whether ct is the Connect unary JSON content type.
// The fake speaks no binary proto: application/proto is refused like any
// other unsupported type.
func connectJSON(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return len(params) == 0 || (len(params) == 1 && ok && strings.EqualFold(cs, "utf-8"))
}

// serveGateway serves the REST transcoding of the user service:
//
//	POST   /v2/users/new                        CreateUser
//	POST   /v2/users                            ListUsers
//	GET    /v2/users/{userId}                   GetUserByID
//	PATCH  /v2/users/{userId}                   UpdateUser
//	DELETE /v2/users/{userId}                   DeleteUser
//	POST   /v2/users/{userId}/metadata          SetUserMetadata
//	POST   /v2/users/{userId}/metadata/search   ListUserMetadata
//	DELETE /v2/users/{userId}/metadata?keys=    DeleteUserMetadata
//	POST   /v2/users/{userId}/invite_code       CreateInviteCode
//	POST   /v2/users/{userId}/passkeys/registration_link  CreatePasskeyRegistrationLink
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	route, userID, ok := gatewayRoute(r.URL.Path)
	if !ok {
		writeGatewayError(w, &apiError{code: zitadel.CodeNotFound, msg: http.StatusText(http.StatusNotFound)})
		return
	}
	if route == "new" && r.Method != http.MethodPost {
		route, userID = "user", "new" // GET /v2/users/new is GetUserByID of user "new"
	}
	name, withBody, ok := gatewayMethod(route, r.Method)
	if !ok {
		// The gateway turns a routing 405 into Unimplemented.
		writeGatewayError(w, &apiError{code: zitadel.CodeUnimplemented, msg: http.StatusText(http.StatusMethodNotAllowed)})
		return
	}
	m := s.rpcs[name]
	setOp(r, m.operation())
	var body []byte
	if withBody {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
		if err != nil || len(b) > maxRequestBytes {
			writeGatewayError(w, invalidArgument("read request body: message too large or unreadable"))
			return
		}
		body = b
	}
	keys := r.URL.Query()["keys"]
	fill := func(req any) {
		switch req := req.(type) {
		case *zitadel.UserIDRequest:
			req.UserID = userID
		case *zitadel.UpdateUserRequest:
			req.UserID = userID
		case *zitadel.SetUserMetadataRequest:
			req.UserID = userID
		case *zitadel.ListUserMetadataRequest:
			req.UserID = userID
		case *zitadel.DeleteUserMetadataRequest:
			req.UserID, req.Keys = userID, keys
		case *zitadel.CreateInviteCodeRequest:
			req.UserID = userID
		case *zitadel.CreatePasskeyRegistrationLinkRequest:
			req.UserID = userID
		}
	}
	resp, aerr := m.run(s, r, body, false, fill)
	if aerr != nil {
		writeGatewayError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// gatewayMethod maps a gateway route and HTTP method to the user-service
// method it transcodes, and whether the request has a body.
func gatewayMethod(route, method string) (name string, withBody, ok bool) {
	switch route + " " + method {
	case "new POST":
		return zitadel.MethodCreateUser, true, true
	case "list POST":
		return zitadel.MethodListUsers, true, true
	case "user GET":
		return zitadel.MethodGetUserByID, false, true
	case "user PATCH":
		return zitadel.MethodUpdateUser, true, true
	case "user DELETE":
		return zitadel.MethodDeleteUser, false, true
	case "metadata POST":
		return zitadel.MethodSetUserMetadata, true, true
	case "search POST":
		return zitadel.MethodListUserMetadata, true, true
	case "metadata DELETE":
		return zitadel.MethodDeleteUserMetadata, false, true
	case "invite_code POST":
		return zitadel.MethodCreateInviteCode, true, true
	case "passkey_link POST":
		return zitadel.MethodCreatePasskeyRegistrationLink, true, true
	}
	return "", false, false
}

// gatewayRoute classifies a /v2/users path: "new", "list", "user",
// "metadata" or "search", with the user id when the path has one.
func gatewayRoute(path string) (route, userID string, ok bool) {
	rest, found := strings.CutPrefix(path, "/v2/users")
	if !found {
		return "", "", false
	}
	if rest == "" {
		return "list", "", true
	}
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	if !strings.HasPrefix(rest, "/") || parts[0] == "" {
		return "", "", false
	}
	switch {
	case len(parts) == 1 && parts[0] == "new":
		return "new", "", true
	case len(parts) == 1:
		return "user", parts[0], true
	case len(parts) == 2 && parts[1] == "metadata":
		return "metadata", parts[0], true
	case len(parts) == 3 && parts[1] == "metadata" && parts[2] == "search":
		return "search", parts[0], true
	case len(parts) == 2 && parts[1] == "invite_code":
		return "invite_code", parts[0], true
	case len(parts) == 3 && parts[1] == "passkeys" && parts[2] == "registration_link":
		return "passkey_link", parts[0], true
	}
	return "", "", false
}
