package zitadeltest

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Operation names the ZITADEL operation a request was routed to.
type Operation int

// Operations the server records. OpUnknown is a request no route matched;
// OpToken is a token request with a missing or unsupported grant type.
const (
	OpUnknown Operation = iota
	OpCreateUser
	OpGetUserByID
	OpUpdateUser
	OpDeleteUser
	OpListUsers
	OpSetUserMetadata
	OpListUserMetadata
	OpDeleteUserMetadata
	OpToken
	OpTokenExchange
	OpTokenAuthorizationCode
	OpTokenRefresh
	OpTokenClientCredentials
	OpTokenJWTBearer
	OpDiscovery
	OpKeys
	OpAuthorize
	OpLogin
	OpIntrospect
	OpUserinfo
	OpRevoke
	OpEndSession
	OpGetPasswordComplexitySettings
	OpGetInstance
	OpRegister
	OpCreateInviteCode
	OpCreatePasskeyRegistrationLink
)

var opNames = [...]string{
	OpUnknown:                       "Unknown",
	OpCreateUser:                    "CreateUser",
	OpGetUserByID:                   "GetUserByID",
	OpUpdateUser:                    "UpdateUser",
	OpDeleteUser:                    "DeleteUser",
	OpListUsers:                     "ListUsers",
	OpSetUserMetadata:               "SetUserMetadata",
	OpListUserMetadata:              "ListUserMetadata",
	OpDeleteUserMetadata:            "DeleteUserMetadata",
	OpToken:                         "Token",
	OpTokenExchange:                 "TokenExchange",
	OpTokenAuthorizationCode:        "TokenAuthorizationCode",
	OpTokenRefresh:                  "TokenRefresh",
	OpTokenClientCredentials:        "TokenClientCredentials",
	OpTokenJWTBearer:                "TokenJWTBearer",
	OpDiscovery:                     "Discovery",
	OpKeys:                          "Keys",
	OpAuthorize:                     "Authorize",
	OpLogin:                         "Login",
	OpIntrospect:                    "Introspect",
	OpUserinfo:                      "Userinfo",
	OpRevoke:                        "Revoke",
	OpEndSession:                    "EndSession",
	OpGetPasswordComplexitySettings: "GetPasswordComplexitySettings",
	OpGetInstance:                   "GetInstance",
	OpRegister:                      "Register",
	OpCreateInviteCode:              "CreateInviteCode",
	OpCreatePasskeyRegistrationLink: "CreatePasskeyRegistrationLink",
}

// String returns the operation's name, e.g. "CreateUser".
func (o Operation) String() string {
	if o >= 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "Operation(" + strconv.Itoa(int(o)) + ")"
}

// Request is one entry of the request log.
type Request struct {
	Op       Operation
	Method   string        // HTTP method
	Path     string        // URL path, without the query
	Status   int           // HTTP status of the answer; 0 when the connection was dropped
	Duration time.Duration // wall-clock time spent serving it
}

// Requests returns a copy of the request log, oldest first. Every request is
// logged before its answer is sent, so a client that has its answer sees it
// in the log. Safe for concurrent use.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.requests)
}

// Count returns how many logged requests were routed to op. Safe for
// concurrent use.
func (s *Server) Count(op Operation) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.st.requests {
		if r.Op == op {
			n++
		}
	}
	return n
}

// ResetRequests empties the request log. Safe for concurrent use.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.requests = nil
}

// recorder buffers a response so that the request is logged before any
// byte of the answer reaches the client.
type recorder struct {
	header http.Header
	status int
	body   []byte
	op     Operation
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	r.body = append(r.body, b...)
	return len(b), nil
}

type recorderKey struct{}

// setOp names the operation of the request being served.
func setOp(r *http.Request, op Operation) {
	if rec, ok := r.Context().Value(recorderKey{}).(*recorder); ok {
		rec.op = op
	}
}

// serveLogged routes r, logs it and then sends the buffered answer, with
// the faults armed for its operation applied.
func (s *Server) serveLogged(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	op := s.classify(r, readBody(r))
	f, latency, faulty := s.takeFault(op)
	wait(r, latency)
	if faulty {
		wait(r, f.latency)
	}
	rec := &recorder{header: http.Header{}, op: op}
	switch {
	case faulty && f.kind == faultDrop:
		s.logRequest(r, op, 0, start)
		dropConnection(w)
		return
	case faulty && (f.kind == faultAPIError || f.kind == faultStatus):
		writeFault(rec, r, f)
	default:
		s.mux.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), recorderKey{}, rec)))
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if faulty && f.kind == faultDropAfterCommit {
		s.logRequest(r, rec.op, 0, start)
		dropConnection(w)
		return
	}
	s.logRequest(r, rec.op, rec.status, start)
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body)
}

// logRequest appends r to the request log; status 0 means no answer.
func (s *Server) logRequest(r *http.Request, op Operation, status int, start time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.requests = append(s.st.requests, Request{
		Op: op, Method: r.Method, Path: r.URL.Path, Status: status, Duration: time.Since(start),
	})
}
