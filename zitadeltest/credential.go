package zitadeltest

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// The first-credential RPCs of the user service (docs/zitadel-signin.md §2):
// CreateInviteCode (internal/command/user_v2_invite.go) and
// CreatePasskeyRegistrationLink (internal/command/user_v2_passkey.go), and
// what the user then does with the code at ZITADEL's pages
// (RedeemInviteCode).

// firstCredentialCode is an invite code or passkey registration code.
type firstCredentialCode struct {
	id, code string
	returned bool   // returned to the caller rather than mailed
	url      string // the URL template of the mail
	appName  string
}

// Error ids of CreateInviteCode (internal/command/user_v2_invite.go).
const (
	idInviteUserNotFound       = "COMMAND-Wgvn4"
	idInviteAlreadyInitialised = "COMMAND-EF34g"
	idInviteCodeInvalid        = "COMMAND-Wgn4q"
)

// credentialService binds the first-credential RPCs; userService adds them.
func credentialService(m map[string]rpc) {
	m[zitadel.MethodCreateInviteCode] = method[zitadel.CreateInviteCodeRequest, zitadel.CreateInviteCodeResponse]{
		op: OpCreateInviteCode,
		oneofs: func(r *zitadel.CreateInviteCodeRequest) error {
			if r.SendCode != nil && r.ReturnCode != nil {
				return oneofSet("returnCode", "zitadel.user.v2.CreateInviteCodeRequest.verification")
			}
			return nil
		},
		validate: validateCreateInviteCode,
		call:     createInviteCode,
	}
	m[zitadel.MethodCreatePasskeyRegistrationLink] = method[zitadel.CreatePasskeyRegistrationLinkRequest, zitadel.CreatePasskeyRegistrationLinkResponse]{
		op: OpCreatePasskeyRegistrationLink,
		oneofs: func(r *zitadel.CreatePasskeyRegistrationLinkRequest) error {
			if r.SendLink != nil && r.ReturnCode != nil {
				return oneofSet("returnCode", "zitadel.user.v2.CreatePasskeyRegistrationLinkRequest.medium")
			}
			return nil
		},
		validate: validateCreatePasskeyRegistrationLink,
		call:     createPasskeyRegistrationLink,
	}
}

func validateCreateInviteCode(r *zitadel.CreateInviteCodeRequest) error {
	const m = "CreateInviteCodeRequest"
	err := validateUserID(m, r.UserID)
	if err == nil && r.SendCode != nil {
		if t := r.SendCode.URLTemplate; t != nil {
			err = embedded(m, "SendCode", runes("SendInviteCode", "UrlTemplate", *t, 1, 200))
		}
		if n := r.SendCode.ApplicationName; err == nil && n != nil {
			err = embedded(m, "SendCode", runes("SendInviteCode", "ApplicationName", *n, 1, 200))
		}
	}
	return err
}

func validateCreatePasskeyRegistrationLink(r *zitadel.CreatePasskeyRegistrationLinkRequest) error {
	const m = "CreatePasskeyRegistrationLinkRequest"
	err := validateUserID(m, r.UserID)
	if err == nil && r.SendLink != nil && r.SendLink.URLTemplate != nil {
		err = embedded(m, "SendLink", runes("SendPasskeyRegistrationLink", "UrlTemplate", *r.SendLink.URLTemplate, 1, 200))
	}
	return err
}

// checkURLTemplate renders a mail URL template as ZITADEL does before
// storing it (domain.RenderConfirmURLTemplate and friends).
func checkURLTemplate(tmpl *string, data map[string]string) *apiError {
	if tmpl == nil {
		return nil
	}
	t, err := template.New("").Parse(*tmpl)
	if err == nil {
		err = t.Execute(&strings.Builder{}, data)
	}
	if err != nil {
		return newError(zitadel.CodeInvalidArgument, "DOMAIN-oGh5e", "Errors.User.InvalidURLTemplate")
	}
	return nil
}

// createInviteCode: the user must exist (a human) and have no credential
// yet (password, passkey or identity provider link).
func createInviteCode(s *Server, caller *user, req *zitadel.CreateInviteCodeRequest) (*zitadel.CreateInviteCodeResponse, *apiError) {
	st := s.st
	u := st.users[strings.TrimSpace(req.UserID)]
	if u != nil {
		if aerr := checkPermission(caller, permUserWrite, u.orgID); aerr != nil {
			return nil, aerr
		}
	}
	switch {
	case u == nil || u.machine:
		return nil, newError(zitadel.CodeFailedPrecondition, idInviteUserNotFound, "User could not be found")
	case u.password != nil:
		return nil, newError(zitadel.CodeFailedPrecondition, idInviteAlreadyInitialised, "Errors.User.AlreadyInitialised")
	}
	c := &firstCredentialCode{code: randomToken(6), returned: req.ReturnCode != nil}
	if sc := req.SendCode; sc != nil {
		if aerr := checkURLTemplate(sc.URLTemplate, map[string]string{"UserID": u.id, "OrgID": u.orgID, "Code": c.code}); aerr != nil {
			return nil, aerr
		}
		c.url, c.appName = deref(sc.URLTemplate), deref(sc.ApplicationName)
	}
	st.browsers.init()
	st.browsers.invites[u.id] = c
	st.touch(u)
	resp := &zitadel.CreateInviteCodeResponse{Details: &zitadel.Details{
		Sequence: zitadel.Uint64(u.sequence), ChangeDate: zitadel.TimestampOf(u.changed), ResourceOwner: u.orgID,
	}}
	if c.returned {
		code := c.code
		resp.InviteCode = &code
	}
	return resp, nil
}

// createPasskeyRegistrationLink creates a one-time passkey registration
// code. Unlike ZITADEL, whose command does not look the user up, the fake
// answers NotFound for a user that does not exist.
func createPasskeyRegistrationLink(s *Server, caller *user, req *zitadel.CreatePasskeyRegistrationLinkRequest) (*zitadel.CreatePasskeyRegistrationLinkResponse, *apiError) {
	st := s.st
	u := st.users[req.UserID]
	if u == nil || u.machine {
		return nil, errUserNotFound(zitadel.CodeNotFound, idQueryUserNotFound)
	}
	if aerr := checkPermission(caller, permUserWrite, u.orgID); aerr != nil {
		return nil, aerr
	}
	c := &firstCredentialCode{id: st.newID(), code: randomToken(9), returned: req.ReturnCode != nil}
	if sl := req.SendLink; sl != nil {
		data := map[string]string{"UserID": u.id, "OrgID": u.orgID, "CodeID": c.id, "Code": c.code}
		if aerr := checkURLTemplate(sl.URLTemplate, data); aerr != nil {
			return nil, aerr
		}
		c.url = deref(sl.URLTemplate)
	}
	st.browsers.init()
	st.browsers.passkeys[u.id] = c
	st.touch(u)
	resp := &zitadel.CreatePasskeyRegistrationLinkResponse{Details: &zitadel.Details{
		Sequence: zitadel.Uint64(u.sequence), ChangeDate: zitadel.TimestampOf(u.changed), ResourceOwner: u.orgID,
	}}
	if c.returned {
		resp.Code = &zitadel.PasskeyRegistrationCode{ID: c.id, Code: c.code}
	}
	return resp, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// InviteCode returns the user's latest invite code, returned or mailed
// (as the mail would carry it); ok is false when none was created.
func (s *Server) InviteCode(userID string) (code string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.st.browsers.invites[userID]
	if c == nil {
		return "", false
	}
	return c.code, true
}

// PasskeyRegistrationCode returns the user's latest passkey registration
// code and its id; ok is false when none was created.
func (s *Server) PasskeyRegistrationCode(userID string) (codeID, code string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.st.browsers.passkeys[userID]
	if c == nil {
		return "", "", false
	}
	return c.id, c.code, true
}

// RedeemInviteCode does what the invited user does at ZITADEL's invite
// page (VerifyInviteCodeSetPassword): the code verifies the e-mail address
// and the password is set. The code is single-use. Errors: no such user,
// a wrong code (COMMAND-Wgn4q Errors.User.Code.Invalid), a password the
// complexity policy refuses.
func (s *Server) RedeemInviteCode(userID, code, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	u := st.users[userID]
	if u == nil {
		return errors.New("zitadeltest: RedeemInviteCode: user could not be found")
	}
	c := st.browsers.invites[userID]
	if c == nil || subtle.ConstantTimeCompare([]byte(c.code), []byte(code)) != 1 {
		return fmt.Errorf("zitadeltest: RedeemInviteCode: %s", newError(zitadel.CodeInvalidArgument, idInviteCodeInvalid, "Errors.User.Code.Invalid").message())
	}
	if aerr := checkPasswordComplexity(password); aerr != nil {
		return fmt.Errorf("zitadeltest: RedeemInviteCode: %s", aerr.message())
	}
	delete(st.browsers.invites, userID)
	st.touch(u)
	u.emailVerified = true
	u.password = hashPassword(password)
	u.passwordChanged = st.now()
	return nil
}
