package zitadeltest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Role is a ZITADEL membership role of a machine user. IAM_ roles hold on
// the whole instance, ORG_ roles on the machine user's own organization.
type Role int

// Roles with the permissions they grant (cmd/defaults.yaml
// InternalAuthZ.RolePermissionMappings, the parts the fake checks).
const (
	RoleIAMUserManager         Role = iota + 1 // user.read, user.write, user.delete on every org
	RoleOrgUserManager                         // user.read, user.write, user.delete on the own org
	RoleIAMEndUserImpersonator                 // impersonation on every org
	RoleOrgEndUserImpersonator                 // impersonation on the own org
	RoleIAMOwnerViewer                         // iam.read and user.read on every org
)

// String returns ZITADEL's name of the role, e.g. "IAM_USER_MANAGER".
func (r Role) String() string {
	switch r {
	case RoleIAMUserManager:
		return "IAM_USER_MANAGER"
	case RoleOrgUserManager:
		return "ORG_USER_MANAGER"
	case RoleIAMEndUserImpersonator:
		return "IAM_END_USER_IMPERSONATOR"
	case RoleOrgEndUserImpersonator:
		return "ORG_END_USER_IMPERSONATOR"
	case RoleIAMOwnerViewer:
		return "IAM_OWNER_VIEWER"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

func (r Role) valid() bool { return r >= RoleIAMUserManager && r <= RoleIAMOwnerViewer }

func (r Role) instanceWide() bool {
	return r == RoleIAMUserManager || r == RoleIAMEndUserImpersonator || r == RoleIAMOwnerViewer
}

// Permissions checked by the fake (internal/domain/permission.go).
const (
	permUserRead      = "user.read"
	permUserWrite     = "user.write"
	permUserDelete    = "user.delete"
	permImpersonation = "impersonation"
	permIAMRead       = "iam.read"
)

func (r Role) grants(perm string) bool {
	switch r {
	case RoleIAMUserManager, RoleOrgUserManager:
		return perm == permUserRead || perm == permUserWrite || perm == permUserDelete
	case RoleIAMEndUserImpersonator, RoleOrgEndUserImpersonator:
		return perm == permImpersonation
	case RoleIAMOwnerViewer:
		return perm == permIAMRead || perm == permUserRead
	}
	return false
}

// checkPermission is authz.CheckPermission: the memberships of caller that
// apply to orgID must grant perm. Without any such membership the answer
// is 404 membership not found, else 403 no matching permissions.
func checkPermission(caller *user, perm, orgID string) *apiError {
	member := false
	for _, r := range caller.roles {
		if !r.instanceWide() && caller.orgID != orgID {
			continue
		}
		member = true
		if r.grants(perm) {
			return nil
		}
	}
	if !member {
		return errMembershipNotFound()
	}
	return errNoPermission()
}

// authenticate checks the bearer token of a ZITADEL API call and returns
// the calling user.
func (st *state) authenticate(r *http.Request) (*user, *apiError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, errAuthHeaderMissing()
	}
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return nil, errTokenInvalid()
	}
	t := st.lookupToken(raw)
	if t == nil {
		return nil, errTokenInvalid()
	}
	if t.actor != nil {
		return nil, errTokenNotForAPI()
	}
	// PATs skip the audience check (token_verifier.go verifyAccessTokenV1).
	if t.kind != tokenPAT && !slices.Contains(t.audience, st.zitadelProjectID) {
		return nil, errInvalidAudience()
	}
	u := st.users[t.userID]
	if u == nil {
		return nil, errTokenInvalid()
	}
	return u, nil
}

// lookupToken returns the live access token or PAT for a bearer value: an
// opaque value or PAT, or a JWT access token signed by an instance key.
func (st *state) lookupToken(raw string) *token {
	var t *token
	if payload, ok := st.verifyJWT(raw); ok {
		var claims struct {
			JTI string `json:"jti"`
		}
		if json.Unmarshal(payload, &claims) != nil {
			return nil
		}
		t = st.tokens[claims.JTI]
		if t != nil && t.value != "" {
			return nil // a JWT may only name a JWT access token
		}
	} else {
		t = st.tokens[raw]
		if t != nil && t.value != raw {
			return nil // a jti is not a bearer value
		}
	}
	if t == nil || t.revoked || t.expired(st.now()) {
		return nil
	}
	return t
}

// accessTokenLifetimeLeft is expires_in: whole seconds until exp.
func accessTokenLifetimeLeft(exp, now time.Time) int64 {
	return int64(exp.Sub(now) / time.Second)
}
