package zitadeltest

import (
	"io"
	"net/http"
	"strings"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// The instance service, as far as a configuration check reads it:
// GetInstance over Connect (POST /zitadel.instance.v2.InstanceService/GetInstance),
// which tells ZITADEL's release. It needs iam.read (RoleIAMOwnerViewer);
// IAM_USER_MANAGER and the impersonator roles do not grant it.

// DefaultVersion is the release GetInstance reports until SetVersion.
const DefaultVersion = "v4.17.0"

// SetVersion sets the release GetInstance reports, e.g. "v4.15.3". It
// changes no behaviour; SetScopeRegression switches on that release's
// token-exchange regression.
func (s *Server) SetVersion(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.misconfig.version = v
}

// serveInstance answers the instance service.
func (s *Server) serveInstance(w http.ResponseWriter, r *http.Request) {
	setOp(r, OpGetInstance)
	if strings.TrimPrefix(r.URL.Path, zitadel.InstanceServicePath) != zitadel.MethodGetInstance {
		http.NotFound(w, r)
		return
	}
	if !connectPreamble(w, r) {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	var req zitadel.GetInstanceRequest
	if err := decodeMessage(body, &req, true); err != nil {
		writeConnectError(w, invalidArgument("%s", err.Error()))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	caller, aerr := st.authenticate(r)
	if aerr == nil {
		aerr = checkPermission(caller, permIAMRead, caller.orgID)
	}
	if aerr == nil && req.InstanceID != "" && req.InstanceID != st.instanceID() {
		aerr = checkPermission(caller, "system.instance.read", caller.orgID)
	}
	if aerr != nil {
		writeConnectError(w, aerr)
		return
	}
	version := st.misconfig.version
	if version == "" {
		version = DefaultVersion
	}
	writeJSON(w, http.StatusOK, zitadel.GetInstanceResponse{Instance: &zitadel.Instance{
		ID: st.instanceID(), Name: "ZITADEL", State: "STATE_RUNNING", Version: version,
	}})
}

// instanceID is the id of the fake's one instance: that of ZITADEL's own
// project, which is created with it.
func (st *state) instanceID() string { return st.zitadelProjectID }
