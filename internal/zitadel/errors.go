package zitadel

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Code is a gRPC status code as ZITADEL's v2 APIs return it: a number in
// gateway (REST) bodies, a snake_case string in Connect bodies.
type Code int

// The gRPC codes (google.golang.org/grpc/codes numbering).
const (
	CodeOK Code = iota
	CodeCanceled
	CodeUnknown
	CodeInvalidArgument
	CodeDeadlineExceeded
	CodeNotFound
	CodeAlreadyExists
	CodePermissionDenied
	CodeResourceExhausted
	CodeFailedPrecondition
	CodeAborted
	CodeOutOfRange
	CodeUnimplemented
	CodeInternal
	CodeUnavailable
	CodeDataLoss
	CodeUnauthenticated
)

var codeNames = [...]string{"ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded",
	"not_found", "already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
	"aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated"}

// String is the Connect name of the code, e.g. "failed_precondition".
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "unknown"
}

// CodeFromString maps a Connect code name to its Code; unknown names give CodeUnknown.
func CodeFromString(s string) Code {
	for i, n := range codeNames {
		if n == s {
			return Code(i)
		}
	}
	return CodeUnknown
}

// HTTPStatus is the status both the gateway and Connect answer with for c
// (docs/zitadel.md §3.1; FailedPrecondition is 400, not 412).
func (c Code) HTTPStatus() int {
	switch c {
	case CodeOK:
		return http.StatusOK
	case CodeCanceled:
		return 499
	case CodeInvalidArgument, CodeFailedPrecondition, CodeOutOfRange:
		return http.StatusBadRequest
	case CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	case CodeNotFound:
		return http.StatusNotFound
	case CodeAlreadyExists, CodeAborted:
		return http.StatusConflict
	case CodePermissionDenied:
		return http.StatusForbidden
	case CodeResourceExhausted:
		return http.StatusTooManyRequests
	case CodeUnimplemented:
		return http.StatusNotImplemented
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	default:
		return http.StatusInternalServerError
	}
}

// CodeFromHTTPStatus is Connect's fallback mapping for a response whose
// body is not a Connect error (a proxy's 502, say).
func CodeFromHTTPStatus(status int) Code {
	switch status {
	case http.StatusBadRequest:
		return CodeInternal
	case http.StatusUnauthorized:
		return CodeUnauthenticated
	case http.StatusForbidden:
		return CodePermissionDenied
	case http.StatusNotFound:
		return CodeUnimplemented
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return CodeUnavailable
	default:
		return CodeUnknown
	}
}

// ErrorDetailType is the detail ZITADEL attaches to handler errors.
const ErrorDetailType = "zitadel.v1.ErrorDetail"

// ErrorDetail is zitadel.v1.ErrorDetail: the error id and its message.
type ErrorDetail struct {
	ID      string `json:"id,omitempty"`
	Message string `json:"message,omitempty"`
}

// ConnectError is the JSON body of a Connect error (connectWireError).
type ConnectError struct {
	Code    string          `json:"code"`
	Message string          `json:"message,omitempty"`
	Details []ConnectDetail `json:"details,omitempty"`
}

// ConnectDetail is one entry of ConnectError.details: the binary proto in
// Value (base64 without padding) and its JSON form in Debug.
type ConnectDetail struct {
	Type  string       `json:"type"`
	Value string       `json:"value"`
	Debug *ErrorDetail `json:"debug,omitempty"`
}

// GatewayStatus is the google.rpc.Status body of a REST (grpc-gateway) error.
type GatewayStatus struct {
	Code    int             `json:"code"`
	Message string          `json:"message,omitempty"`
	Details []GatewayDetail `json:"details,omitempty"`
}

// GatewayDetail is one entry of GatewayStatus.details (a google.protobuf.Any
// in JSON form).
type GatewayDetail struct {
	Type    string `json:"@type"`
	ID      string `json:"id,omitempty"`
	Message string `json:"message,omitempty"`
}

// StatusError is a ZITADEL API error parsed from a Connect or a gateway body.
type StatusError struct {
	HTTPStatus int
	Code       Code
	ID         string // ZITADEL's error id, e.g. "COMMAND-7yiox1isql"; empty when absent
	Message    string // ZITADEL's message, e.g. "User could not be found (QUERY-Dfbg2)"
}

func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString(e.Code.String())
	if e.ID != "" {
		b.WriteString(" " + e.ID)
	}
	b.WriteString(" (HTTP " + strconv.Itoa(e.HTTPStatus) + ")")
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// ParseError reads an error response of a v2 API call. It accepts both the
// Connect body (string code, details[].debug) and the gateway body (numeric
// code, details[].@type). A body that is neither (an HTML page from a proxy,
// say) gives a StatusError whose Code follows the HTTP status and whose
// Message is the start of the body. It never fails.
func ParseError(status int, body []byte) *StatusError {
	e := &StatusError{HTTPStatus: status, Code: CodeFromHTTPStatus(status)}
	var raw struct {
		Code    json.RawMessage   `json:"code"`
		Message string            `json:"message"`
		Details []json.RawMessage `json:"details"`
	}
	if json.Unmarshal(body, &raw) != nil || len(raw.Code) == 0 {
		e.Message = snippet(body)
		return e
	}
	var name string
	var num int
	switch {
	case json.Unmarshal(raw.Code, &name) == nil:
		e.Code = CodeFromString(name)
	case json.Unmarshal(raw.Code, &num) == nil && num >= 0 && num < len(codeNames):
		e.Code = Code(num)
	}
	e.Message = raw.Message
	for _, d := range raw.Details {
		var cd ConnectDetail
		if json.Unmarshal(d, &cd) == nil && cd.Debug != nil && cd.Debug.ID != "" {
			e.ID = cd.Debug.ID
			break
		}
		var gd GatewayDetail
		if json.Unmarshal(d, &gd) == nil && gd.ID != "" {
			e.ID = gd.ID
			break
		}
	}
	if e.ID == "" {
		e.ID = idFromMessage(e.Message)
	}
	return e
}

// idFromMessage takes the id from a message of the form "text (ID-x)", the
// form ZITADEL gives every message it raises, for bodies without details.
func idFromMessage(msg string) string {
	if !strings.HasSuffix(msg, ")") {
		return ""
	}
	i := strings.LastIndexByte(msg, '(')
	if i < 0 {
		return ""
	}
	id := msg[i+1 : len(msg)-1]
	if !strings.Contains(id, "-") || strings.ContainsAny(id, " \t") {
		return ""
	}
	return id
}

// snippet returns at most 200 bytes of a body for an error message.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}
