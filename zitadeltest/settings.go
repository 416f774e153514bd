package zitadeltest

import (
	"io"
	"net/http"
	"strings"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// The settings service, as far as apps touch it around the guest flow:
// GetPasswordComplexitySettings, over Connect
// (POST /zitadel.settings.v2.SettingsService/GetPasswordComplexitySettings)
// and its REST transcoding (GET /v2/settings/password/complexity). Every
// organization has ZITADEL's default policy, inherited from the instance.
// Like every settings read of ZITADEL, the answer carries the policy's
// details: its sequence, creation and change dates, and its resource owner,
// here the instance (internal/api/grpc/settings/v2/query.go).

// instanceID is the fake instance's id: the first id of the server's
// sequence, which no other object takes (newID starts one above it).
const instanceID = "340000000000000000"

// instancePolicySequence is the sequence of the instance's default
// policies, written by the instance's setup; the fake never changes them.
const instancePolicySequence = 1

// serveSettings answers the settings service.
func (s *Server) serveSettings(w http.ResponseWriter, r *http.Request) {
	connect := strings.HasPrefix(r.URL.Path, zitadel.SettingsServicePath)
	setOp(r, OpGetPasswordComplexitySettings)
	fail := writeGatewayError
	if connect {
		fail = writeConnectError
		if strings.TrimPrefix(r.URL.Path, zitadel.SettingsServicePath) != zitadel.MethodGetPasswordComplexitySettings {
			http.NotFound(w, r)
			return
		}
		if !connectPreamble(w, r) {
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
		var req zitadel.GetPasswordComplexitySettingsRequest
		if err := decodeMessage(body, &req, true); err != nil {
			fail(w, invalidArgument("%s", err.Error()))
			return
		}
	} else if r.Method != http.MethodGet {
		fail(w, &apiError{code: zitadel.CodeUnimplemented, msg: http.StatusText(http.StatusMethodNotAllowed)})
		return
	}
	s.mu.Lock()
	_, aerr := s.st.authenticate(r)
	setUp := s.st.instanceCreated
	s.mu.Unlock()
	if aerr != nil {
		fail(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, zitadel.GetPasswordComplexitySettingsResponse{
		Details: &zitadel.Details{Sequence: instancePolicySequence, CreationDate: zitadel.TimestampOf(setUp),
			ChangeDate: zitadel.TimestampOf(setUp), ResourceOwner: instanceID},
		Settings: &zitadel.PasswordComplexitySettings{MinLength: passwordMinLength, RequiresUppercase: true,
			RequiresLowercase: true, RequiresNumber: true, RequiresSymbol: true,
			ResourceOwnerType: "RESOURCE_OWNER_TYPE_INSTANCE"},
	})
}
