package zitadel

// Messages of zitadel.instance.v2.InstanceService (docs/zitadel.md §1).

// InstanceServicePath is the Connect path prefix of the instance service.
const InstanceServicePath = "/zitadel.instance.v2.InstanceService/"

// MethodGetInstance reads the instance of the request's host. It needs the
// permission iam.read (IAM_OWNER, IAM_OWNER_VIEWER, IAM_LOGIN_CLIENT), which
// the SDK's own roles do not grant.
const MethodGetInstance = "GetInstance"

// GetInstanceRequest asks for the instance in context when InstanceID is
// empty.
type GetInstanceRequest struct {
	InstanceID string `json:"instanceId,omitempty"`
}

// Instance is zitadel.instance.v2.Instance, the fields the SDK reads.
type Instance struct {
	ID           string    `json:"id,omitempty"`
	ChangeDate   Timestamp `json:"changeDate,omitzero"`
	CreationDate Timestamp `json:"creationDate,omitzero"`
	State        string    `json:"state,omitempty"` // e.g. "STATE_RUNNING"
	Name         string    `json:"name,omitempty"`
	Version      string    `json:"version,omitempty"` // ZITADEL's release, e.g. "v4.15.3"
}

// GetInstanceResponse carries the instance.
type GetInstanceResponse struct {
	Instance *Instance `json:"instance,omitempty"`
}
