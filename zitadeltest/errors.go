package zitadeltest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// This file owns ZITADEL's error ids, their English messages and the two
// wire shapes of an API error (docs/zitadel.md §3). The code→HTTP status
// table is zitadel.Code.HTTPStatus, shared with the SDK.

// apiError is a ZITADEL API error: a gRPC code, the error id ("" for
// errors ZITADEL raises without one, such as request validation) and the
// message as ZITADEL's English translation renders it. Messages whose key
// has no translation stay the raw key, as in ZITADEL.
type apiError struct {
	code zitadel.Code
	id   string
	msg  string
}

func (e *apiError) Error() string { return e.message() }

// message is the "message" member: "<text> (<id>)", or the bare text.
func (e *apiError) message() string {
	if e.id == "" {
		return e.msg
	}
	return e.msg + " (" + e.id + ")"
}

func newError(code zitadel.Code, id, msg string) *apiError {
	return &apiError{code: code, id: id, msg: msg}
}

// invalidArgument is an InvalidArgument without id and detail, the shape of
// decoding and request-validation failures.
func invalidArgument(format string, args ...any) *apiError {
	return &apiError{code: zitadel.CodeInvalidArgument, msg: fmt.Sprintf(format, args...)}
}

// ZITADEL error ids used by the fake, with the source that raises them.
const (
	idAuthTokenInvalid      = "AUTH-7fs1e"  // authz token verifier: unknown or expired token
	idAuthInvalidAudience   = "APP-Zxfako"  // authz token verifier: token not meant for ZITADEL's API
	idTokenNotForAPI        = "APP-Shi0J"   // token_verifier.go: impersonated token on the API
	idNoMatchingPermissions = "AUTH-AWfge"  // authz/permissions.go: no permission matched
	idMembershipNotFound    = "AUTHZ-cdgFk" // authz/permissions.go: caller has no memberships
	idQueryUserNotFound     = "QUERY-Dfbg2" // query/user.go
	idUpdateUserNotFound    = "COMMAND-ugjs0upun6"
	idDeleteUserNotFound    = "COMMAND-bd4ir1mblj"
	idMetadataUserNotFound  = "COMMAND-uXHNj" // command/user.go checkUserExists
	idUserIDTaken           = "COMMAND-7yiox1isql"
	idUsernameTaken         = "V3-DKcYh" // eventstore unique constraint
	idOrgNotFound           = "COMMAND-QXPGs"
	idMetadataConflicting   = "USERv2-j0z7uy"
	idMetadataKeyEmpty      = "USER-Drght"
	idMetadataValueEmpty    = "USER-Dbgth"
	idEmailInvalid          = "EMAIL-599BI"
	idUsernameEmpty         = "V2-zzad3"
	idFirstNameEmpty        = "USER-UCej2"
	idLastNameEmpty         = "USER-4hB7d"
	idPasswordMinLength     = "DOMAIN-HuJf6"
	idPasswordHasLower      = "DOMAIN-co3Xw"
	idPasswordHasUpper      = "DOMAIN-VoaRj"
	idPasswordHasNumber     = "DOMAIN-ZBv4H"
	idPasswordHasSymbol     = "DOMAIN-ZDLwA"
	idMetadataInvalid       = "META-2m00f" // domain.Metadata.IsValid: empty key
	idMetadataNoData        = "META-9mm2d"
	idMetadataKeyNotExists  = "META-2nnds"
	idQueryNesting          = "USER-zsQ97"
	idQueryLimitExceeded    = "QUERY-4M0fs"
	idQueryInvalid          = "GRPC-vR9nC"
	idImpersonationDisabled = "OIDC-Fae5w" // oidc/token_exchange.go: instance policy forbids impersonation
	idMachineSecretMissing  = "OIDC-pieP8" // oidc/client_credentials.go: no client secret on the user
	idMachineSecretInvalid  = "OIDC-VoXo6" // oidc/client_credentials.go: wrong client secret
)

func errAuthHeaderMissing() *apiError {
	return &apiError{code: zitadel.CodeUnauthenticated, msg: "auth header missing"}
}

// Errors raised by the auth interceptor, before translation: raw keys.
func errTokenInvalid() *apiError {
	return newError(zitadel.CodeUnauthenticated, idAuthTokenInvalid, "Errors.Token.Invalid")
}

func errInvalidAudience() *apiError {
	return newError(zitadel.CodeUnauthenticated, idAuthInvalidAudience, "invalid audience")
}

func errTokenNotForAPI() *apiError {
	return newError(zitadel.CodePermissionDenied, idTokenNotForAPI, "Errors.TokenExchange.Token.NotForAPI")
}

func errNoPermission() *apiError {
	return newError(zitadel.CodePermissionDenied, idNoMatchingPermissions, "No matching permissions found")
}

func errMembershipNotFound() *apiError {
	return newError(zitadel.CodeNotFound, idMembershipNotFound, "membership not found")
}

func errUserNotFound(code zitadel.Code, id string) *apiError {
	return newError(code, id, "User could not be found")
}

func errUserIDTaken() *apiError {
	// Errors.User.AlreadyExisting has no English translation: the key stays.
	return newError(zitadel.CodeFailedPrecondition, idUserIDTaken, "Errors.User.AlreadyExisting")
}

func errUsernameTaken() *apiError {
	return newError(zitadel.CodeAlreadyExists, idUsernameTaken, "User already exists")
}

func errOrgNotFound() *apiError {
	return newError(zitadel.CodeFailedPrecondition, idOrgNotFound, "Organisation not found")
}

func errMetadataConflicting() *apiError {
	return newError(zitadel.CodeInvalidArgument, idMetadataConflicting, "Errors.User.Metadata.Conflicting")
}

func errMetadataKeyEmpty() *apiError {
	return newError(zitadel.CodeInvalidArgument, idMetadataKeyEmpty, "Errors.User.Metadata.KeyEmpty")
}

func errMetadataValueEmpty() *apiError {
	return newError(zitadel.CodeInvalidArgument, idMetadataValueEmpty, "Errors.User.Metadata.ValueEmpty")
}

func errEmailInvalid() *apiError {
	return newError(zitadel.CodeInvalidArgument, idEmailInvalid, "Email is invalid")
}

func errUsernameEmpty() *apiError {
	// Errors.Invalid.Argument has no English translation.
	return newError(zitadel.CodeInvalidArgument, idUsernameEmpty, "Errors.Invalid.Argument")
}

func errFirstNameEmpty() *apiError {
	return newError(zitadel.CodeInvalidArgument, idFirstNameEmpty, "First name in profile is empty")
}

func errLastNameEmpty() *apiError {
	return newError(zitadel.CodeInvalidArgument, idLastNameEmpty, "Last name in profile is empty")
}

func errMetadataInvalid() *apiError {
	return newError(zitadel.CodeInvalidArgument, idMetadataInvalid, "Metadata is invalid")
}

func errMetadataNoData() *apiError {
	return newError(zitadel.CodeFailedPrecondition, idMetadataNoData, "Metadata list is empty")
}

func errMetadataKeyNotExisting() *apiError {
	return newError(zitadel.CodeNotFound, idMetadataKeyNotExists, "One or more keys do not exist")
}

func errTooManyNestingLevels() *apiError {
	return newError(zitadel.CodeInvalidArgument, idQueryNesting, "Too many query nesting levels (Max 20)")
}

func errLimitExceeded() *apiError {
	return newError(zitadel.CodeInvalidArgument, idQueryLimitExceeded, "Limit exceeded")
}

func errQueryInvalid() *apiError {
	// List.Query.Invalid is not a translation key: the text stays.
	return newError(zitadel.CodeInvalidArgument, idQueryInvalid, "List.Query.Invalid")
}

// connectAcceptPost is the Accept-Post value connect-go answers a request
// without a supported content type with: the content types of the gRPC,
// gRPC-Web and Connect protocols for the proto and JSON codecs, sorted.
const connectAcceptPost = "application/grpc, application/grpc+json, application/grpc+json; charset=utf-8, " +
	"application/grpc+proto, application/grpc-web, application/grpc-web+json, " +
	"application/grpc-web+json; charset=utf-8, application/grpc-web+proto, " +
	"application/json, application/json; charset=utf-8, application/proto"

// writeConnectError writes e as a Connect error body (connectWireError).
func writeConnectError(w http.ResponseWriter, e *apiError) {
	body := zitadel.ConnectError{Code: e.code.String(), Message: e.message()}
	if e.id != "" {
		body.Details = []zitadel.ConnectDetail{{
			Type:  zitadel.ErrorDetailType,
			Value: base64.RawStdEncoding.EncodeToString(errorDetailProto(e.id, e.msg)),
			Debug: &zitadel.ErrorDetail{ID: e.id, Message: e.msg},
		}}
	}
	writeJSON(w, e.code.HTTPStatus(), body)
}

// writeGatewayError writes e as grpc-gateway's google.rpc.Status body.
func writeGatewayError(w http.ResponseWriter, e *apiError) {
	body := zitadel.GatewayStatus{Code: int(e.code), Message: e.message()}
	if e.id != "" {
		body.Details = []zitadel.GatewayDetail{{
			Type:    "type.googleapis.com/" + zitadel.ErrorDetailType,
			ID:      e.id,
			Message: e.msg,
		}}
	}
	writeJSON(w, e.code.HTTPStatus(), body)
}

// errorDetailProto is the binary protobuf encoding of zitadel.v1.ErrorDetail
// {string id = 1; string message = 2;}; empty fields are omitted.
func errorDetailProto(id, msg string) []byte {
	var b []byte
	for i, s := range []string{id, msg} {
		if s == "" {
			continue
		}
		b = append(b, byte((i+1)<<3|2)) // field number, wire type 2 (length-delimited)
		for n := uint64(len(s)); ; n >>= 7 {
			if n < 0x80 {
				b = append(b, byte(n))
				break
			}
			b = append(b, byte(n)|0x80)
		}
		b = append(b, s...)
	}
	return b
}

// oauthError is an OAuth error of the token, introspection and userinfo
// endpoints: an HTTP status, the RFC 6749 "error" and a description.
type oauthError struct {
	status int
	code   string
	desc   string
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func oauthErr(status int, code, format string, args ...any) *oauthError {
	return &oauthError{status: status, code: code, desc: fmt.Sprintf(format, args...)}
}

// invalidRequest is the zitadel/oidc invalid_request with status 400.
func invalidRequest(format string, args ...any) *oauthError {
	return oauthErr(http.StatusBadRequest, "invalid_request", format, args...)
}

// oauthFromAPI converts a ZITADEL error the way internal/api/oidc/error.go
// does: the status follows the code, "error" is invalid_request below 500,
// and the description is the untranslated message without the id.
func oauthFromAPI(e *apiError) *oauthError {
	status := e.code.HTTPStatus()
	code := "invalid_request"
	if status >= 500 {
		code = "server_error"
	}
	return &oauthError{status: status, code: code, desc: e.msg}
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	writeJSON(w, e.status, zitadel.OAuthErrorBody{Error: e.code, ErrorDescription: e.desc})
}

// writeJSON writes v as JSON without HTML escaping, as protojson and the
// OIDC library do.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("zitadeltest: encode response: " + err.Error()) // only wire types are encoded
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
