package zitadel

// Messages of the user service's first-credential RPCs, for users who set
// their own credential (docs/zitadel-signin.md §2): CreateInviteCode and
// CreatePasskeyRegistrationLink of zitadel.user.v2.UserService.

// RPC names of the first-credential RPCs.
const (
	MethodCreateInviteCode              = "CreateInviteCode"
	MethodCreatePasskeyRegistrationLink = "CreatePasskeyRegistrationLink"
)

// SendInviteCode asks ZITADEL to e-mail the invite code. URLTemplate may
// use {{.UserID}}, {{.OrgID}} and {{.Code}}; ApplicationName is shown in
// the mail (default "ZITADEL").
type SendInviteCode struct {
	URLTemplate     *string `json:"urlTemplate,omitempty"`
	ApplicationName *string `json:"applicationName,omitempty"`
}

// ReturnInviteCode asks ZITADEL to return the invite code instead.
type ReturnInviteCode struct{}

// CreateInviteCodeRequest is zitadel.user.v2.CreateInviteCodeRequest; with
// neither SendCode nor ReturnCode ZITADEL sends the mail with its defaults.
type CreateInviteCodeRequest struct {
	UserID     string            `json:"userId"`
	SendCode   *SendInviteCode   `json:"sendCode,omitempty"`
	ReturnCode *ReturnInviteCode `json:"returnCode,omitempty"`
}

// CreateInviteCodeResponse is zitadel.user.v2.CreateInviteCodeResponse;
// InviteCode is set only for ReturnCode.
type CreateInviteCodeResponse struct {
	Details    *Details `json:"details,omitempty"`
	InviteCode *string  `json:"inviteCode,omitempty"`
}

// SendPasskeyRegistrationLink asks ZITADEL to e-mail the link; URLTemplate
// may use {{.UserID}}, {{.OrgID}}, {{.CodeID}} and {{.Code}}.
type SendPasskeyRegistrationLink struct {
	URLTemplate *string `json:"urlTemplate,omitempty"`
}

// ReturnPasskeyRegistrationCode asks ZITADEL to return the code instead.
type ReturnPasskeyRegistrationCode struct{}

// CreatePasskeyRegistrationLinkRequest is
// zitadel.user.v2.CreatePasskeyRegistrationLinkRequest; with neither
// SendLink nor ReturnCode ZITADEL sends the mail with its default URL.
type CreatePasskeyRegistrationLinkRequest struct {
	UserID     string                         `json:"userId"`
	SendLink   *SendPasskeyRegistrationLink   `json:"sendLink,omitempty"`
	ReturnCode *ReturnPasskeyRegistrationCode `json:"returnCode,omitempty"`
}

// PasskeyRegistrationCode is zitadel.user.v2.PasskeyRegistrationCode: a
// one-time code and its id, which start a passkey registration without
// the user being authenticated.
type PasskeyRegistrationCode struct {
	ID   string `json:"id"`
	Code string `json:"code"`
}

// CreatePasskeyRegistrationLinkResponse is
// zitadel.user.v2.CreatePasskeyRegistrationLinkResponse; Code is set only
// for ReturnCode.
type CreatePasskeyRegistrationLinkResponse struct {
	Details *Details                 `json:"details,omitempty"`
	Code    *PasskeyRegistrationCode `json:"code,omitempty"`
}
