package zitadeltest

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"net/mail"
	"strings"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// userService binds the user-service methods to their implementations.
func userService() map[string]rpc {
	m := map[string]rpc{
		zitadel.MethodCreateUser: method[zitadel.CreateUserRequest, zitadel.CreateUserResponse]{
			op: OpCreateUser, oneofs: createUserOneofs, validate: validateCreateUser, call: createUser,
		},
		zitadel.MethodGetUserByID: method[zitadel.UserIDRequest, zitadel.GetUserByIDResponse]{
			op:       OpGetUserByID,
			validate: func(r *zitadel.UserIDRequest) error { return validateUserID("GetUserByIDRequest", r.UserID) },
			call:     getUserByID,
		},
		zitadel.MethodUpdateUser: method[zitadel.UpdateUserRequest, zitadel.UpdateUserResponse]{
			op: OpUpdateUser, oneofs: updateUserOneofs, validate: validateUpdateUser, call: updateUser,
		},
		zitadel.MethodDeleteUser: method[zitadel.UserIDRequest, zitadel.DeleteUserResponse]{
			op:       OpDeleteUser,
			validate: func(r *zitadel.UserIDRequest) error { return validateUserID("DeleteUserRequest", r.UserID) },
			call:     deleteUser,
		},
		zitadel.MethodListUsers: method[zitadel.ListUsersRequest, zitadel.ListUsersResponse]{
			op:       OpListUsers,
			oneofs:   func(r *zitadel.ListUsersRequest) error { return searchQueryOneofs(r.Queries) },
			validate: validateListUsers,
			call:     listUsers,
		},
		zitadel.MethodSetUserMetadata: method[zitadel.SetUserMetadataRequest, zitadel.SetUserMetadataResponse]{
			op: OpSetUserMetadata, validate: validateSetUserMetadata, call: setUserMetadata,
		},
		zitadel.MethodListUserMetadata: method[zitadel.ListUserMetadataRequest, zitadel.ListUserMetadataResponse]{
			op: OpListUserMetadata, validate: validateListUserMetadata, call: listUserMetadata,
		},
		zitadel.MethodDeleteUserMetadata: method[zitadel.DeleteUserMetadataRequest, zitadel.DeleteUserMetadataResponse]{
			op: OpDeleteUserMetadata, validate: validateDeleteUserMetadata, call: deleteUserMetadata,
		},
	}
	credentialService(m)
	return m
}

func createUserOneofs(r *zitadel.CreateUserRequest) error {
	if r.Human != nil && r.Machine != nil {
		return oneofSet("machine", "zitadel.user.v2.CreateUserRequest.user_type")
	}
	if h := r.Human; h != nil {
		if h.Password != nil && h.HashedPassword != nil {
			return oneofSet("hashedPassword", "zitadel.user.v2.CreateUserRequest.Human.password_type")
		}
		return first(emailOneof(h.Email), phoneOneof(h.Phone))
	}
	return nil
}

func updateUserOneofs(r *zitadel.UpdateUserRequest) error {
	if r.Human != nil && r.Machine != nil {
		return oneofSet("machine", "zitadel.user.v2.UpdateUserRequest.user_type")
	}
	if h := r.Human; h != nil {
		if p := h.Password; p != nil {
			if p.Password != nil && p.HashedPassword != nil {
				return oneofSet("hashedPassword", "zitadel.user.v2.SetPassword.password_type")
			}
			if p.CurrentPassword != nil && p.VerificationCode != nil {
				return oneofSet("verificationCode", "zitadel.user.v2.SetPassword.verification")
			}
		}
		return first(emailOneof(h.Email), phoneOneof(h.Phone))
	}
	return nil
}

// unsupported is the answer to request features the fake does not model.
func unsupported(feature string) *apiError {
	return &apiError{code: zitadel.CodeUnimplemented, msg: "zitadeltest: " + feature + " is not supported"}
}

// checkEmailAddress is ZITADEL's own e-mail check after the proto rule: a
// bare address without display name.
func checkEmailAddress(addr string) *apiError {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr {
		return errEmailInvalid()
	}
	return nil
}

// checkMetadataList is AddMetadataEntry.Valid for each entry.
func checkMetadataList(md []zitadel.Metadata) *apiError {
	for _, m := range md {
		if strings.TrimSpace(m.Key) == "" {
			return errMetadataKeyEmpty()
		}
		if len(m.Value) == 0 {
			return errMetadataValueEmpty()
		}
	}
	return nil
}

// Verification codes use ZITADEL's default generator for e-mail codes:
// six characters of upper-case letters and digits without look-alikes.
const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func verificationCode() string {
	b := make([]byte, 6)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(codeAlphabet)))) // never fails
		b[i] = codeAlphabet[n.Int64()]
	}
	return string(b)
}

// createUser is CreateUser (docs/zitadel.md §4.1), in the order of
// AddUserHuman: request checks, permission, organization, id, password
// policy, and the username's unique constraint when the events are pushed.
func createUser(s *Server, caller *user, req *zitadel.CreateUserRequest) (*zitadel.CreateUserResponse, *apiError) {
	st := s.st
	metadata := req.Metadata
	if h := req.Human; h != nil && len(h.Metadata) > 0 {
		if len(req.Metadata) > 0 {
			return nil, errMetadataConflicting()
		}
		metadata = h.Metadata
	}
	h := req.Human
	if h != nil && h.HashedPassword != nil {
		return nil, unsupported("hashedPassword")
	}
	if h != nil && h.TOTPSecret != nil {
		return nil, unsupported("totpSecret")
	}
	var username string
	if req.Username != nil {
		username = *req.Username
	}
	if h != nil {
		if username == "" {
			username = h.Email.Email
		}
		if aerr := checkEmailAddress(h.Email.Email); aerr != nil {
			return nil, aerr
		}
		username = strings.TrimSpace(username)
		switch {
		case username == "":
			return nil, errUsernameEmpty()
		case strings.TrimSpace(h.Profile.GivenName) == "":
			return nil, errFirstNameEmpty()
		case strings.TrimSpace(h.Profile.FamilyName) == "":
			return nil, errLastNameEmpty()
		}
	}
	if aerr := checkMetadataList(metadata); aerr != nil {
		return nil, aerr
	}
	id := ""
	if req.UserID != nil {
		id = *req.UserID
	} else {
		id = st.newID()
	}
	if username == "" {
		username = id // machine users default to their id
	}
	if aerr := checkPermission(caller, permUserWrite, req.OrganizationID); aerr != nil {
		return nil, aerr
	}
	u, aerr := st.newUser(req.OrganizationID, id)
	if aerr != nil {
		return nil, aerr
	}
	if h != nil && h.Password != nil {
		if aerr := checkPasswordComplexity(h.Password.Password); aerr != nil {
			return nil, aerr
		}
	}
	if h != nil && len(h.IDPLinks) > 0 {
		// No identity providers exist in the fake.
		return nil, newError(zitadel.CodeFailedPrecondition, "COMMAND-39nf2", "Identity Provider Configuration doesn't exist")
	}
	if st.usernameTaken(username, "") {
		return nil, errUsernameTaken()
	}

	u.username = username
	resp := &zitadel.CreateUserResponse{ID: u.id, CreationDate: zitadel.TimestampOf(u.created)}
	if h != nil {
		resp.EmailCode = u.createHuman(h)
	} else {
		m := req.Machine
		u.machine = true
		u.name = m.Name
		if m.Description != nil {
			u.description = *m.Description
		}
		if m.AccessTokenType != nil {
			u.accessTokenType = *m.AccessTokenType
		}
	}
	for _, m := range metadata {
		u.setMetadata(strings.TrimSpace(m.Key), m.Value, u.created) // keys are stored trimmed
	}
	u.unprojected = true
	st.insertUser(u)
	return resp, nil
}

// createHuman fills u from a valid CreateUserRequest.human and returns the
// e-mail code when one was requested back.
func (u *user) createHuman(h *zitadel.CreateHuman) (emailCode *string) {
	p := h.Profile
	u.givenName, u.familyName = strings.TrimSpace(p.GivenName), strings.TrimSpace(p.FamilyName)
	u.displayName = u.givenName + " " + u.familyName
	if p.DisplayName != nil && strings.TrimSpace(*p.DisplayName) != "" {
		u.displayName = *p.DisplayName
	}
	if p.NickName != nil {
		u.nickName = *p.NickName
	}
	u.preferredLanguage = "und"
	if p.PreferredLanguage != nil && *p.PreferredLanguage != "" {
		u.preferredLanguage = *p.PreferredLanguage
	}
	if p.Gender != nil {
		u.gender = *p.Gender
	}
	e := h.Email
	u.email = e.Email
	switch {
	case e.IsVerified != nil && *e.IsVerified:
		u.emailVerified = true
	case e.IsVerified != nil:
		// isVerified false: no verification, no code (NoEmailVerification).
	default:
		u.emailCode = verificationCode() // sendCode, returnCode or nothing: a code is created
		if e.ReturnCode != nil {
			emailCode = &u.emailCode
		}
	}
	if h.Phone != nil && h.Phone.Phone != "" {
		u.phone = h.Phone.Phone
		u.phoneVerified = h.Phone.IsVerified != nil && *h.Phone.IsVerified
	}
	if h.Password != nil {
		u.password = hashPassword(h.Password.Password)
		u.passwordChangeRequired = h.Password.ChangeRequired
		u.passwordChanged = u.created
	}
	return emailCode
}

// getUserByID is GetUserByID (§4.3): unknown users are not found before
// any permission check; users may always read themselves.
func getUserByID(s *Server, caller *user, req *zitadel.UserIDRequest) (*zitadel.GetUserByIDResponse, *apiError) {
	u := s.st.users[req.UserID]
	if u == nil {
		return nil, errUserNotFound(zitadel.CodeNotFound, idQueryUserNotFound)
	}
	if caller.id != u.id {
		if aerr := checkPermission(caller, permUserRead, u.orgID); aerr != nil {
			return nil, aerr
		}
	}
	u.unprojected = false // GetUserByID triggers the projection
	wu := u.wire()
	return &zitadel.GetUserByIDResponse{Details: wu.Details, User: &wu}, nil
}

// wire converts u into zitadel.user.v2.User as ZITADEL's converter does:
// the optional profile fields are always set.
func (u *user) wire() zitadel.User {
	wu := zitadel.User{
		UserID: u.id,
		Details: &zitadel.Details{
			Sequence:      zitadel.Uint64(u.sequence),
			ChangeDate:    zitadel.TimestampOf(u.changed),
			ResourceOwner: u.orgID,
			CreationDate:  zitadel.TimestampOf(u.created),
		},
		State:              u.state,
		Username:           u.username,
		LoginNames:         u.loginNames(),
		PreferredLoginName: u.username,
	}
	if u.machine {
		wu.Machine = &zitadel.MachineUser{Name: u.name, Description: u.description, HasSecret: u.secret != nil,
			AccessTokenType: u.accessTokenType}
		return wu
	}
	nick, display, lang, gender := u.nickName, u.displayName, u.preferredLanguage, u.gender
	wu.Human = &zitadel.HumanUser{
		Profile: &zitadel.HumanProfile{
			GivenName: u.givenName, FamilyName: u.familyName,
			NickName: &nick, DisplayName: &display, PreferredLanguage: &lang, Gender: &gender,
		},
		Email:                  &zitadel.HumanEmail{Email: u.email, IsVerified: u.emailVerified},
		Phone:                  &zitadel.HumanPhone{Phone: u.phone, IsVerified: u.phoneVerified},
		PasswordChangeRequired: u.passwordChangeRequired,
		PasswordChanged:        zitadel.TimestampOf(u.passwordChanged),
	}
	return wu
}

// updateUser is UpdateUser (§4.5): every change is checked first and then
// applied as one batch, so a failing part leaves the user untouched.
func updateUser(s *Server, caller *user, req *zitadel.UpdateUserRequest) (*zitadel.UpdateUserResponse, *apiError) {
	st := s.st
	h := req.Human
	if h != nil {
		// ChangeHuman.Validate runs before the user is loaded.
		if h.Email != nil {
			if aerr := checkEmailAddress(h.Email.Email); aerr != nil {
				return nil, aerr
			}
		}
		if p := h.Password; p != nil {
			switch {
			case p.HashedPassword != nil:
				return nil, unsupported("hashedPassword")
			case p.CurrentPassword != nil || p.VerificationCode != nil:
				return nil, unsupported("password verification by currentPassword or verificationCode")
			}
		}
	}
	u := st.users[req.UserID]
	if u == nil || (h != nil && u.machine) || (req.Machine != nil && !u.machine) {
		return nil, errUserNotFound(zitadel.CodeNotFound, idUpdateUserNotFound)
	}
	metadataChanged := len(req.Metadata) > 0
	changed := req.Username != nil || req.Machine != nil || metadataChanged ||
		(h != nil && (h.Profile != nil || h.Email != nil || h.Phone != nil || h.Password != nil))
	if changed {
		// Metadata and verified contact data need user.write even for oneself.
		requireWrite := metadataChanged ||
			(h != nil && h.Email != nil && h.Email.IsVerified != nil && *h.Email.IsVerified) ||
			(h != nil && h.Phone != nil && h.Phone.IsVerified != nil && *h.Phone.IsVerified)
		if caller.id != u.id || requireWrite {
			if aerr := checkPermission(caller, permUserWrite, u.orgID); aerr != nil {
				return nil, aerr
			}
		}
	}
	if h != nil && h.Password != nil {
		if aerr := checkPasswordComplexity(h.Password.Password.Password); aerr != nil {
			return nil, aerr
		}
	}
	for _, m := range req.Metadata {
		if m.Key == "" {
			return nil, errMetadataInvalid()
		}
	}
	renamed := req.Username != nil && *req.Username != u.username
	if renamed && st.usernameTaken(*req.Username, u.id) {
		return nil, errUsernameTaken()
	}

	resp := &zitadel.UpdateUserResponse{}
	dirty := false
	if renamed {
		st.setUsername(u, *req.Username)
		// Active tokens and sessions are invalidated on a username change.
		st.revokeUserTokens(u.id, false)
		dirty = true
	}
	if h != nil {
		var d bool
		d, resp.EmailCode, resp.PhoneCode = u.updateHuman(h)
		dirty = dirty || d
		if h.Password != nil {
			u.passwordChanged = st.now()
		}
	}
	if m := req.Machine; m != nil {
		if m.Name != nil {
			u.name, dirty = *m.Name, true
		}
		if m.Description != nil {
			u.description, dirty = *m.Description, true
		}
	}
	if u.applyMetadata(req.Metadata, st.now()) {
		dirty = true
	}
	if dirty {
		st.touch(u)
	}
	resp.ChangeDate = zitadel.TimestampOf(u.changed)
	return resp, nil
}

// updateHuman applies a checked UpdateUserRequest.human and reports whether
// anything changed, with the codes requested back.
func (u *user) updateHuman(h *zitadel.UpdateHuman) (changed bool, emailCode, phoneCode *string) {
	if p := h.Profile; p != nil {
		for _, f := range []struct {
			dst *string
			src *string
		}{
			{&u.givenName, p.GivenName}, {&u.familyName, p.FamilyName}, {&u.nickName, p.NickName},
			{&u.displayName, p.DisplayName}, {&u.preferredLanguage, p.PreferredLanguage},
		} {
			if f.src != nil && *f.dst != *f.src {
				*f.dst, changed = *f.src, true
			}
		}
		if p.Gender != nil && u.gender != *p.Gender {
			u.gender, changed = *p.Gender, true
		}
	}
	if e := h.Email; e != nil {
		verified := e.IsVerified != nil && *e.IsVerified
		switch {
		case e.Email != u.email:
			// A changed address is unverified until proven: without
			// isVerified a code is created (update has no "no verification").
			u.email, u.emailVerified, changed = e.Email, verified, true
			if !verified {
				u.emailCode = verificationCode()
				if e.ReturnCode != nil {
					emailCode = &u.emailCode
				}
			}
		case verified && !u.emailVerified:
			u.emailVerified, changed = true, true
		}
	}
	if p := h.Phone; p != nil {
		verified := p.IsVerified != nil && *p.IsVerified
		switch {
		case p.Phone == "" && p.SendCode == nil && p.ReturnCode == nil && p.IsVerified == nil:
			if u.phone != "" {
				u.phone, u.phoneVerified, changed = "", false, true
			}
		case p.Phone != "" && p.Phone != u.phone:
			u.phone, u.phoneVerified, changed = p.Phone, verified, true
			if !verified && p.ReturnCode != nil {
				c := verificationCode()
				phoneCode = &c
			}
		case verified && !u.phoneVerified:
			u.phoneVerified, changed = true, true
		}
	}
	if p := h.Password; p != nil {
		u.password = hashPassword(p.Password.Password)
		u.passwordChangeRequired = p.Password.ChangeRequired
		changed = true
	}
	return changed, emailCode, phoneCode
}

// applyMetadata sets entries with a value and deletes those without one
// (an absent key is ignored); it reports whether anything changed.
func (u *user) applyMetadata(md []zitadel.Metadata, at time.Time) bool {
	changed := false
	for _, m := range md {
		if len(m.Value) == 0 {
			if u.deleteMetadata(m.Key) {
				changed = true
			}
			continue
		}
		if e := u.meta(m.Key); e != nil && bytes.Equal(e.value, m.Value) {
			continue
		}
		u.setMetadata(m.Key, m.Value, at)
		changed = true
	}
	return changed
}

// deleteUser is DeleteUser (§4.9): not found before permission; deleting
// releases the username and removes metadata, tokens and codes.
func deleteUser(s *Server, caller *user, req *zitadel.UserIDRequest) (*zitadel.DeleteUserResponse, *apiError) {
	st := s.st
	u := st.users[req.UserID]
	if u == nil {
		return nil, errUserNotFound(zitadel.CodeNotFound, idDeleteUserNotFound)
	}
	if caller.id != u.id {
		if aerr := checkPermission(caller, permUserDelete, u.orgID); aerr != nil {
			return nil, aerr
		}
	}
	st.touch(u)
	st.removeUser(u)
	return &zitadel.DeleteUserResponse{Details: &zitadel.Details{
		Sequence: zitadel.Uint64(u.sequence), ChangeDate: zitadel.TimestampOf(u.changed), ResourceOwner: u.orgID,
	}}, nil
}

func (st *state) removeUser(u *user) {
	st.usersVersion++
	last := st.userList[len(st.userList)-1]
	st.userList[u.listIndex], last.listIndex = last, u.listIndex
	st.userList[len(st.userList)-1] = nil
	st.userList = st.userList[:len(st.userList)-1]
	delete(st.users, u.id)
	delete(st.usernames, strings.ToLower(u.username))
	st.revokeUserTokens(u.id, true)
}
