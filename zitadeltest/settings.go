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
	s.mu.Unlock()
	if aerr != nil {
		fail(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, zitadel.GetPasswordComplexitySettingsResponse{
		Settings: &zitadel.PasswordComplexitySettings{MinLength: passwordMinLength, RequiresUppercase: true,
			RequiresLowercase: true, RequiresNumber: true, RequiresSymbol: true,
			ResourceOwnerType: "RESOURCE_OWNER_TYPE_INSTANCE"},
	})
}
