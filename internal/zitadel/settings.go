package zitadel

// Messages of zitadel.settings.v2.SettingsService.

// SettingsServicePath is the Connect path prefix of the settings service.
const SettingsServicePath = "/zitadel.settings.v2.SettingsService/"

// MethodGetPasswordComplexitySettings reads an organization's password
// complexity policy.
const MethodGetPasswordComplexitySettings = "GetPasswordComplexitySettings"

// RequestContext is zitadel.object.v2.RequestContext: an organization, or
// the instance.
type RequestContext struct {
	OrgID    string `json:"orgId,omitempty"`
	Instance bool   `json:"instance,omitempty"`
}

// GetPasswordComplexitySettingsRequest asks for the policy in effect for ctx.
type GetPasswordComplexitySettingsRequest struct {
	Ctx *RequestContext `json:"ctx,omitempty"`
}

// PasswordComplexitySettings is zitadel.settings.v2.PasswordComplexitySettings.
type PasswordComplexitySettings struct {
	MinLength         Uint64 `json:"minLength,omitempty"`
	RequiresUppercase bool   `json:"requiresUppercase,omitempty"`
	RequiresLowercase bool   `json:"requiresLowercase,omitempty"`
	RequiresNumber    bool   `json:"requiresNumber,omitempty"`
	RequiresSymbol    bool   `json:"requiresSymbol,omitempty"`
	ResourceOwnerType string `json:"resourceOwnerType,omitempty"`
}

// GetPasswordComplexitySettingsResponse carries the policy.
type GetPasswordComplexitySettingsResponse struct {
	Details  *Details                    `json:"details,omitempty"`
	Settings *PasswordComplexitySettings `json:"settings,omitempty"`
}
