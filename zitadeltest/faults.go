package zitadeltest

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// Code is a gRPC status code for APIError faults, e.g. CodeUnavailable.
type Code = zitadel.Code

// Codes for APIError faults.
const (
	CodeInvalidArgument    = zitadel.CodeInvalidArgument
	CodeFailedPrecondition = zitadel.CodeFailedPrecondition
	CodeNotFound           = zitadel.CodeNotFound
	CodeAlreadyExists      = zitadel.CodeAlreadyExists
	CodePermissionDenied   = zitadel.CodePermissionDenied
	CodeUnauthenticated    = zitadel.CodeUnauthenticated
	CodeResourceExhausted  = zitadel.CodeResourceExhausted
	CodeInternal           = zitadel.CodeInternal
	CodeUnavailable        = zitadel.CodeUnavailable
	CodeDeadlineExceeded   = zitadel.CodeDeadlineExceeded
)

type faultKind int

const (
	faultAPIError faultKind = iota + 1
	faultStatus
	faultLatency
	faultDrop
	faultDropAfterCommit
)

// Fault is a failure the server produces instead of (or around) serving a
// request. Build one with APIError, RateLimited, Unavailable, Latency,
// DropConnection or DropAfterCommit and arm it with FailNext or SetFault.
type Fault struct {
	kind       faultKind
	code       Code
	id, msg    string
	status     int
	retryAfter time.Duration
	latency    time.Duration
}

// APIError answers with a ZITADEL error of the given code, error id and
// message, in the body shape of the endpoint: Connect or gateway for the
// user service, an OAuth error (as ZITADEL converts it) for the token,
// introspection and userinfo endpoints. Nothing is changed.
func APIError(code Code, id, message string) Fault {
	return Fault{kind: faultAPIError, code: code, id: id, msg: message}
}

// RateLimited answers 429 as ZITADEL Cloud's rate limiter does: a short
// text body and, when retryAfter is positive, a Retry-After header in whole
// seconds (rounded up). Nothing is changed.
func RateLimited(retryAfter time.Duration) Fault {
	return Fault{kind: faultStatus, status: http.StatusTooManyRequests, retryAfter: retryAfter}
}

// Unavailable answers 503 with a short text body, as a proxy in front of
// an unavailable instance does. Nothing is changed.
func Unavailable() Fault { return Fault{kind: faultStatus, status: http.StatusServiceUnavailable} }

// Latency delays the request by d (wall clock) and then serves it. The
// delay ends early when the client gives up.
func Latency(d time.Duration) Fault { return Fault{kind: faultLatency, latency: d} }

// DropConnection closes the connection without serving the request: the
// client sees a network error and nothing is changed.
func DropConnection() Fault { return Fault{kind: faultDrop} }

// DropAfterCommit serves the request, so its changes take effect, then
// closes the connection instead of answering: the client cannot tell
// whether it succeeded.
func DropAfterCommit() Fault { return Fault{kind: faultDropAfterCommit} }

// FailNext arms f for the next request routed to op; faults armed for the
// same op fire in order, one per request. Safe for concurrent use.
func (s *Server) FailNext(op Operation, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.nextFaults[op] = append(s.st.nextFaults[op], f)
}

// SetFault arms f for every request routed to op until ClearFaults; faults
// armed with FailNext fire first. Safe for concurrent use.
func (s *Server) SetFault(op Operation, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faults[op] = f
}

// SetLatency delays every request by d (wall clock) before it is served;
// 0 turns the delay off. Safe for concurrent use.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.latency = d
}

// ClearFaults disarms every fault and the latency. Safe for concurrent use.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.nextFaults = map[Operation][]Fault{}
	s.st.faults = map[Operation]Fault{}
	s.st.latency = 0
}

// SetProjectionLag makes the token exchange answer "subject_token invalid"
// for a user created through the API less than d ago (server time) that no
// GetUserByID has read since, as ZITADEL does while its user projection
// lags behind (docs/zitadel.md §6.7). 0, the default, turns it off. Safe
// for concurrent use.
func (s *Server) SetProjectionLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.projectionLag = d
}

// takeFault returns the fault armed for op, consuming a one-shot one, and
// the global latency.
func (s *Server) takeFault(op Operation) (f Fault, latency time.Duration, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	latency = s.st.latency
	if q := s.st.nextFaults[op]; len(q) > 0 {
		s.st.nextFaults[op] = q[1:]
		return q[0], latency, true
	}
	f, ok = s.st.faults[op]
	return f, latency, ok
}

// wait sleeps d or until the client goes away.
func wait(r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// writeFault answers r with f's error in the endpoint's body shape.
func writeFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if f.kind == faultStatus {
		if f.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((f.retryAfter+time.Second-1)/time.Second), 10))
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, http.StatusText(f.status)+"\n")
		return
	}
	e := newError(f.code, f.id, f.msg)
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/zitadel."): // a Connect service
		writeConnectError(w, e)
	case strings.HasPrefix(p, "/v2/"):
		writeGatewayError(w, e)
	default:
		writeOAuthError(w, oauthFromAPI(e))
	}
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// classify names the operation r will be routed to, without serving it.
// body is r's body, already read.
func (s *Server) classify(r *http.Request, body []byte) Operation {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, zitadel.UserServicePath):
		if m, ok := s.rpcs[strings.TrimPrefix(p, zitadel.UserServicePath)]; ok {
			return m.operation()
		}
	case p == "/v2/users" || strings.HasPrefix(p, "/v2/users/"):
		route, _, ok := gatewayRoute(p)
		if route == "new" && r.Method != http.MethodPost {
			route = "user"
		}
		if name, _, found := gatewayMethod(route, r.Method); ok && found {
			return s.rpcs[name].operation()
		}
	case p == zitadel.PathToken:
		form, _ := url.ParseQuery(string(body))
		switch form.Get("grant_type") {
		case zitadel.GrantTokenExchange:
			return OpTokenExchange
		case zitadel.GrantAuthorizationCode:
			return OpTokenAuthorizationCode
		case zitadel.GrantRefreshToken:
			return OpTokenRefresh
		case zitadel.GrantClientCredentials:
			return OpTokenClientCredentials
		case zitadel.GrantJWTBearer:
			return OpTokenJWTBearer
		}
		return OpToken
	}
	return pathOps[p]
}

var pathOps = map[string]Operation{
	zitadel.PathDiscovery:  OpDiscovery,
	zitadel.PathKeys:       OpKeys,
	zitadel.PathAuthorize:  OpAuthorize,
	pathLogin:              OpLogin,
	zitadel.PathIntrospect: OpIntrospect,
	zitadel.PathUserinfo:   OpUserinfo,
	zitadel.PathRevoke:     OpRevoke,
	zitadel.PathEndSession: OpEndSession,
	zitadel.SettingsServicePath + zitadel.MethodGetPasswordComplexitySettings: OpGetPasswordComplexitySettings,
	"/v2/settings/password/complexity":                                        OpGetPasswordComplexitySettings,
}

// readBody reads r's body and puts it back for the handlers.
func readBody(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}
