package zitadeltest

import (
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// Request validation as protoc-gen-validate's generated Validate methods
// report it: the first violation, as "invalid <Message>.<Field>: <reason>",
// nested messages chained with " | caused by: ". ZITADEL returns the text
// as an InvalidArgument without id or detail. Within a message, plain fields
// are checked in declaration order, then oneofs, then proto3 optional fields.

type violation struct {
	message, field, reason string
	cause                  error
}

func (v *violation) Error() string {
	s := "invalid " + v.message + "." + v.field + ": " + v.reason
	if v.cause != nil {
		s += " | caused by: " + v.cause.Error()
	}
	return s
}

// embedded wraps the violation of a nested message.
func embedded(message, field string, cause error) error {
	if cause == nil {
		return nil
	}
	return &violation{message: message, field: field, reason: "embedded message failed validation", cause: cause}
}

func required(message, field string) error {
	return &violation{message: message, field: field, reason: "value is required"}
}

// runes checks a string's length in runes; max 0 means unbounded.
func runes(message, field, s string, min, max int) error {
	n := utf8.RuneCountInString(s)
	if n >= min && (max == 0 || n <= max) {
		return nil
	}
	var reason string
	switch {
	case min > 0 && max > 0:
		reason = fmt.Sprintf("value length must be between %d and %d runes, inclusive", min, max)
	case min > 0:
		reason = fmt.Sprintf("value length must be at least %d runes", min)
	default:
		reason = fmt.Sprintf("value length must be at most %d runes", max)
	}
	return &violation{message: message, field: field, reason: reason}
}

func maxBytes(message, field string, b []byte, max int) error {
	if len(b) <= max {
		return nil
	}
	return &violation{message: message, field: field, reason: fmt.Sprintf("value length must be at most %d bytes", max)}
}

type definedEnum interface{ Defined() bool }

func defined(message, field string, e definedEnum) error {
	if e.Defined() {
		return nil
	}
	return &violation{message: message, field: field, reason: "value must be one of the defined enum values"}
}

// email is the rule string.email: net/mail parsing plus pgv's length and
// hostname checks.
func email(message, field, s string) error {
	if err := validEmail(s); err != nil {
		return &violation{message: message, field: field, reason: "value must be a valid email address", cause: err}
	}
	return nil
}

func validEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return err
	}
	addr := a.Address
	if len(addr) > 254 {
		return errors.New("email addresses cannot exceed 254 characters")
	}
	local, host, _ := strings.Cut(addr, "@")
	if len(local) > 64 {
		return errors.New("email address local phrase cannot exceed 64 characters")
	}
	return validHostname(host)
}

func validHostname(host string) error {
	if len(host) > 253 {
		return errors.New("hostname cannot exceed 253 characters")
	}
	for _, part := range strings.Split(strings.ToLower(strings.TrimSuffix(host, ".")), ".") {
		if l := len(part); l == 0 || l > 63 {
			return errors.New("hostname part must be non-empty and cannot exceed 63 characters")
		}
		if part[0] == '-' {
			return errors.New("hostname parts cannot begin with hyphens")
		}
		if part[len(part)-1] == '-' {
			return errors.New("hostname parts cannot end with hyphens")
		}
		for _, r := range part {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return fmt.Errorf("hostname parts can only contain alphanumeric characters or hyphens, got %q", string(r))
			}
		}
	}
	return nil
}

// first returns the first non-nil error.
func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func optRunes(message, field string, s *string, min, max int) error {
	if s == nil {
		return nil
	}
	return runes(message, field, *s, min, max)
}

func indexed(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

func validateMetadataList(message, field string, md []zitadel.Metadata) error {
	for i, m := range md {
		err := first(
			runes("Metadata", "Key", m.Key, 0, 200),
			maxBytes("Metadata", "Value", m.Value, 500000),
		)
		if err != nil {
			return embedded(message, indexed(field, i), err)
		}
	}
	return nil
}

func validateCreateUser(req *zitadel.CreateUserRequest) error {
	const m = "CreateUserRequest"
	return first(
		runes(m, "OrganizationId", req.OrganizationID, 1, 200),
		validateMetadataList(m, "Metadata", req.Metadata),
		func() error {
			switch {
			case req.Human != nil:
				return embedded(m, "Human", validateCreateHuman(req.Human))
			case req.Machine != nil:
				return embedded(m, "Machine", validateCreateMachine(req.Machine))
			}
			return required(m, "UserType")
		}(),
		optRunes(m, "UserId", req.UserID, 1, 200),
		optRunes(m, "Username", req.Username, 1, 200),
	)
}

func validateCreateHuman(h *zitadel.CreateHuman) error {
	const m = "CreateUserRequest_Human"
	return first(
		func() error {
			if h.Profile == nil {
				return required(m, "Profile")
			}
			return embedded(m, "Profile", validateSetProfile(h.Profile))
		}(),
		func() error {
			if h.Email == nil {
				return required(m, "Email")
			}
			return embedded(m, "Email", validateSetEmail(h.Email))
		}(),
		validateMetadataList(m, "Metadata", h.Metadata),
		func() error {
			if h.Password != nil {
				return embedded(m, "Password", runes("Password", "Password", h.Password.Password, 1, 200))
			}
			if h.HashedPassword != nil {
				return embedded(m, "HashedPassword", runes("HashedPassword", "Hash", h.HashedPassword.Hash, 1, 200))
			}
			return nil
		}(),
		func() error {
			if h.Phone == nil {
				return nil
			}
			return embedded(m, "Phone", runes("SetHumanPhone", "Phone", h.Phone.Phone, 0, 200))
		}(),
		optRunes(m, "TotpSecret", h.TOTPSecret, 1, 200),
	)
}

func validateSetProfile(p *zitadel.SetHumanProfile) error {
	const m = "SetHumanProfile"
	return first(
		runes(m, "GivenName", p.GivenName, 1, 200),
		runes(m, "FamilyName", p.FamilyName, 1, 200),
		optRunes(m, "NickName", p.NickName, 0, 200),
		optRunes(m, "DisplayName", p.DisplayName, 0, 200),
		optRunes(m, "PreferredLanguage", p.PreferredLanguage, 0, 10),
	)
}

func validateSetEmail(e *zitadel.SetHumanEmail) error {
	const m = "SetHumanEmail"
	if err := runes(m, "Email", e.Email, 1, 200); err != nil {
		return err
	}
	if err := email(m, "Email", e.Email); err != nil {
		return err
	}
	if e.SendCode != nil {
		return embedded(m, "SendCode", optRunes("SendEmailVerificationCode", "UrlTemplate", e.SendCode.URLTemplate, 1, 200))
	}
	return nil
}

func validateCreateMachine(mc *zitadel.CreateMachine) error {
	const m = "CreateUserRequest_Machine"
	return first(
		runes(m, "Name", mc.Name, 1, 200),
		optRunes(m, "Description", mc.Description, 1, 500),
	)
}

func validateUserID(message, id string) error { return runes(message, "UserId", id, 1, 200) }

func validateUpdateUser(req *zitadel.UpdateUserRequest) error {
	const m = "UpdateUserRequest"
	return first(
		validateUserID(m, req.UserID),
		validateMetadataList(m, "Metadata", req.Metadata),
		func() error {
			switch {
			case req.Human != nil:
				return embedded(m, "Human", validateUpdateHuman(req.Human))
			case req.Machine != nil:
				const mm = "UpdateUserRequest_Machine"
				return embedded(m, "Machine", first(
					optRunes(mm, "Name", req.Machine.Name, 0, 200),
					optRunes(mm, "Description", req.Machine.Description, 0, 500),
				))
			}
			return nil
		}(),
		optRunes(m, "Username", req.Username, 1, 200),
	)
}

func validateUpdateHuman(h *zitadel.UpdateHuman) error {
	const m = "UpdateUserRequest_Human"
	return first(
		func() error {
			if h.Profile == nil {
				return nil
			}
			const pm = "UpdateUserRequest_Human_Profile"
			p := h.Profile
			return embedded(m, "Profile", first(
				optRunes(pm, "GivenName", p.GivenName, 1, 200),
				optRunes(pm, "FamilyName", p.FamilyName, 1, 200),
				optRunes(pm, "NickName", p.NickName, 1, 200),
				optRunes(pm, "DisplayName", p.DisplayName, 1, 200),
				optRunes(pm, "PreferredLanguage", p.PreferredLanguage, 1, 10),
				func() error {
					if p.Gender == nil {
						return nil
					}
					return defined(pm, "Gender", *p.Gender)
				}(),
			))
		}(),
		func() error {
			if h.Email == nil {
				return nil
			}
			return embedded(m, "Email", validateSetEmail(h.Email))
		}(),
		func() error {
			if h.Phone == nil {
				return nil
			}
			return embedded(m, "Phone", runes("SetHumanPhone", "Phone", h.Phone.Phone, 0, 200))
		}(),
		func() error {
			if h.Password == nil {
				return nil
			}
			return embedded(m, "Password", validateSetPassword(h.Password))
		}(),
	)
}

func validateSetPassword(p *zitadel.SetPassword) error {
	const m = "SetPassword"
	switch {
	case p.Password != nil:
		return embedded(m, "Password", runes("Password", "Password", p.Password.Password, 1, 200))
	case p.HashedPassword != nil:
		return embedded(m, "HashedPassword", runes("HashedPassword", "Hash", p.HashedPassword.Hash, 1, 200))
	}
	return required(m, "PasswordType")
}

func validateSetUserMetadata(req *zitadel.SetUserMetadataRequest) error {
	const m = "SetUserMetadataRequest"
	return first(validateUserID(m, req.UserID), validateMetadataList(m, "Metadata", req.Metadata))
}

func validateDeleteUserMetadata(req *zitadel.DeleteUserMetadataRequest) error {
	const m = "DeleteUserMetadataRequest"
	if err := validateUserID(m, req.UserID); err != nil {
		return err
	}
	for i, k := range req.Keys {
		if err := runes(m, indexed("Keys", i), k, 1, 200); err != nil {
			return err
		}
	}
	return nil
}

func validateListUserMetadata(req *zitadel.ListUserMetadataRequest) error {
	const m = "ListUserMetadataRequest"
	if err := validateUserID(m, req.UserID); err != nil {
		return err
	}
	for i, f := range req.Filters {
		if f.KeyFilter == nil {
			continue
		}
		const km = "MetadataKeyFilter"
		err := first(runes(km, "Key", f.KeyFilter.Key, 0, 200), defined(km, "Method", f.KeyFilter.Method))
		if err != nil {
			return embedded(m, indexed("Filters", i), embedded("MetadataSearchFilter", "KeyFilter", err))
		}
	}
	return nil
}

func validateListUsers(req *zitadel.ListUsersRequest) error {
	const m = "ListUsersRequest"
	if err := defined(m, "SortingColumn", req.SortingColumn); err != nil {
		return err
	}
	for i := range req.Queries {
		if err := embedded(m, indexed("Queries", i), validateSearchQuery(&req.Queries[i])); err != nil {
			return err
		}
	}
	return nil
}

// validateSearchQuery checks the text and enum rules of one SearchQuery,
// recursing into and/or/not.
func validateSearchQuery(q *zitadel.SearchQuery) error {
	const m = "SearchQuery"
	text := func(field, msg, valueField, value string, method zitadel.TextQueryMethod, max int) error {
		return embedded(m, field, first(runes(msg, valueField, value, 1, max), defined(msg, "Method", method)))
	}
	switch {
	case q.UserNameQuery != nil:
		return text("UserNameQuery", "UserNameQuery", "UserName", q.UserNameQuery.UserName, q.UserNameQuery.Method, 200)
	case q.FirstNameQuery != nil:
		return text("FirstNameQuery", "FirstNameQuery", "FirstName", q.FirstNameQuery.FirstName, q.FirstNameQuery.Method, 200)
	case q.LastNameQuery != nil:
		return text("LastNameQuery", "LastNameQuery", "LastName", q.LastNameQuery.LastName, q.LastNameQuery.Method, 200)
	case q.NickNameQuery != nil:
		return text("NickNameQuery", "NickNameQuery", "NickName", q.NickNameQuery.NickName, q.NickNameQuery.Method, 200)
	case q.DisplayNameQuery != nil:
		return text("DisplayNameQuery", "DisplayNameQuery", "DisplayName", q.DisplayNameQuery.DisplayName, q.DisplayNameQuery.Method, 200)
	case q.EmailQuery != nil:
		return text("EmailQuery", "EmailQuery", "EmailAddress", q.EmailQuery.EmailAddress, q.EmailQuery.Method, 200)
	case q.PhoneQuery != nil:
		return text("PhoneQuery", "PhoneQuery", "Number", q.PhoneQuery.Number, q.PhoneQuery.Method, 20)
	case q.LoginNameQuery != nil:
		return text("LoginNameQuery", "LoginNameQuery", "LoginName", q.LoginNameQuery.LoginName, q.LoginNameQuery.Method, 200)
	case q.StateQuery != nil:
		return embedded(m, "StateQuery", defined("StateQuery", "State", q.StateQuery.State))
	case q.TypeQuery != nil:
		return embedded(m, "TypeQuery", defined("TypeQuery", "Type", q.TypeQuery.Type))
	case q.OrganizationIDQuery != nil:
		return embedded(m, "OrganizationIdQuery", runes("OrganizationIdQuery", "OrganizationId", q.OrganizationIDQuery.OrganizationID, 1, 200))
	case q.MetadataKeyFilter != nil:
		f := q.MetadataKeyFilter
		return embedded(m, "MetadataKeyFilter", first(runes("MetadataKeyFilter", "Key", f.Key, 0, 200), defined("MetadataKeyFilter", "Method", f.Method)))
	case q.MetadataValueFilter != nil:
		f := q.MetadataValueFilter
		return embedded(m, "MetadataValueFilter", first(maxBytes("MetadataValueFilter", "Value", f.Value, 200), defined("MetadataValueFilter", "Method", f.Method)))
	case q.OrQuery != nil:
		return embedded(m, "OrQuery", validateSubQueries("OrQuery", q.OrQuery.Queries))
	case q.AndQuery != nil:
		return embedded(m, "AndQuery", validateSubQueries("AndQuery", q.AndQuery.Queries))
	case q.NotQuery != nil && q.NotQuery.Query != nil:
		return embedded(m, "NotQuery", embedded("NotQuery", "Query", validateSearchQuery(q.NotQuery.Query)))
	}
	return nil
}

func validateSubQueries(message string, qs []zitadel.SearchQuery) error {
	for i := range qs {
		if err := embedded(message, indexed("Queries", i), validateSearchQuery(&qs[i])); err != nil {
			return err
		}
	}
	return nil
}
