package zitadel

// Enum is a protobuf enum of ZITADEL's v2 API, named by its spec type S.
// It marshals to its name and unmarshals from a name or a number.
type Enum[S enumSpec] int32

type enumSpec interface{ table() enum }

// MarshalJSON writes the enum's name.
func (e Enum[S]) MarshalJSON() ([]byte, error) { var s S; return s.table().marshal(int32(e)) }

// UnmarshalJSON reads a name or a number.
func (e *Enum[S]) UnmarshalJSON(b []byte) error {
	var s S
	v, err := s.table().unmarshal(b)
	if err != nil {
		return err
	}
	*e = Enum[S](v)
	return nil
}

// String returns the enum's name, or its number when undeclared.
func (e Enum[S]) String() string { var s S; return s.table().name(int32(e)) }

// Defined reports whether e is a declared value (protoc-gen-validate's defined_only).
func (e Enum[S]) Defined() bool { var s S; return s.table().defined(int32(e)) }

type (
	userStateSpec        struct{}
	genderSpec           struct{}
	textQueryMethodSpec  struct{}
	textFilterMethodSpec struct{}
	byteFilterMethodSpec struct{}
	userFieldNameSpec    struct{}
	userTypeSpec         struct{}
	accessTokenTypeSpec  struct{}
)

func (userStateSpec) table() enum {
	return enum{"USER_STATE_UNSPECIFIED", "USER_STATE_ACTIVE", "USER_STATE_INACTIVE",
		"USER_STATE_DELETED", "USER_STATE_LOCKED", "USER_STATE_INITIAL"}
}

func (genderSpec) table() enum {
	return enum{"GENDER_UNSPECIFIED", "GENDER_FEMALE", "GENDER_MALE", "GENDER_DIVERSE"}
}

func (textQueryMethodSpec) table() enum {
	return enum{"TEXT_QUERY_METHOD_EQUALS", "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE",
		"TEXT_QUERY_METHOD_STARTS_WITH", "TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE",
		"TEXT_QUERY_METHOD_CONTAINS", "TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE",
		"TEXT_QUERY_METHOD_ENDS_WITH", "TEXT_QUERY_METHOD_ENDS_WITH_IGNORE_CASE"}
}

func (textFilterMethodSpec) table() enum {
	return enum{"TEXT_FILTER_METHOD_EQUALS", "TEXT_FILTER_METHOD_EQUALS_IGNORE_CASE",
		"TEXT_FILTER_METHOD_STARTS_WITH", "TEXT_FILTER_METHOD_STARTS_WITH_IGNORE_CASE",
		"TEXT_FILTER_METHOD_CONTAINS", "TEXT_FILTER_METHOD_CONTAINS_IGNORE_CASE",
		"TEXT_FILTER_METHOD_ENDS_WITH", "TEXT_FILTER_METHOD_ENDS_WITH_IGNORE_CASE"}
}

func (byteFilterMethodSpec) table() enum {
	return enum{"BYTE_FILTER_METHOD_EQUALS", "BYTE_FILTER_METHOD_NOT_EQUALS"}
}

func (userFieldNameSpec) table() enum {
	return enum{"USER_FIELD_NAME_UNSPECIFIED", "USER_FIELD_NAME_USER_NAME",
		"USER_FIELD_NAME_FIRST_NAME", "USER_FIELD_NAME_LAST_NAME", "USER_FIELD_NAME_NICK_NAME",
		"USER_FIELD_NAME_DISPLAY_NAME", "USER_FIELD_NAME_EMAIL", "USER_FIELD_NAME_STATE",
		"USER_FIELD_NAME_TYPE", "USER_FIELD_NAME_CREATION_DATE"}
}

func (userTypeSpec) table() enum { return enum{"TYPE_UNSPECIFIED", "TYPE_HUMAN", "TYPE_MACHINE"} }

func (accessTokenTypeSpec) table() enum {
	return enum{"ACCESS_TOKEN_TYPE_BEARER", "ACCESS_TOKEN_TYPE_JWT"}
}

// UserState is zitadel.user.v2.UserState.
type UserState = Enum[userStateSpec]

// UserState values.
const (
	UserStateUnspecified UserState = iota
	UserStateActive
	UserStateInactive
	UserStateDeleted
	UserStateLocked
	UserStateInitial
)

// Gender is zitadel.user.v2.Gender.
type Gender = Enum[genderSpec]

// TextQueryMethod is zitadel.object.v2.TextQueryMethod (user search queries).
type TextQueryMethod = Enum[textQueryMethodSpec]

// TextQueryMethod values.
const (
	TextQueryEquals TextQueryMethod = iota
	TextQueryEqualsIgnoreCase
	TextQueryStartsWith
	TextQueryStartsWithIgnoreCase
	TextQueryContains
	TextQueryContainsIgnoreCase
	TextQueryEndsWith
	TextQueryEndsWithIgnoreCase
)

// TextFilterMethod is zitadel.filter.v2.TextFilterMethod (metadata filters).
type TextFilterMethod = Enum[textFilterMethodSpec]

// TextFilterMethod values.
const (
	TextFilterEquals TextFilterMethod = iota
	TextFilterEqualsIgnoreCase
	TextFilterStartsWith
	TextFilterStartsWithIgnoreCase
	TextFilterContains
	TextFilterContainsIgnoreCase
	TextFilterEndsWith
	TextFilterEndsWithIgnoreCase
)

// ByteFilterMethod is zitadel.filter.v2.ByteFilterMethod.
type ByteFilterMethod = Enum[byteFilterMethodSpec]

// ByteFilterMethod values.
const (
	ByteFilterEquals ByteFilterMethod = iota
	ByteFilterNotEquals
)

// UserFieldName is zitadel.user.v2.UserFieldName, the ListUsers sorting column.
type UserFieldName = Enum[userFieldNameSpec]

// UserFieldName values.
const (
	UserFieldUnspecified UserFieldName = iota
	UserFieldUserName
	UserFieldFirstName
	UserFieldLastName
	UserFieldNickName
	UserFieldDisplayName
	UserFieldEmail
	UserFieldState
	UserFieldType
	UserFieldCreationDate
)

// UserType is zitadel.user.v2.Type (the TypeQuery of ListUsers).
type UserType = Enum[userTypeSpec]

// UserType values.
const (
	UserTypeUnspecified UserType = iota
	UserTypeHuman
	UserTypeMachine
)

// AccessTokenType is zitadel.user.v2.AccessTokenType of a machine user.
type AccessTokenType = Enum[accessTokenTypeSpec]

// AccessTokenType values.
const (
	AccessTokenBearer AccessTokenType = iota
	AccessTokenJWT
)
