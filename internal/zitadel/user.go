package zitadel

// Messages of zitadel.user.v2.UserService (docs/zitadel.md §4). Optional
// proto3 fields are pointers so that "set to the empty value" and "absent"
// stay distinct; oneof members are pointers of which at most one is set.

// UserServicePath is the Connect path prefix of the user service.
const UserServicePath = "/zitadel.user.v2.UserService/"

// User-service RPC names (the last path segment of a Connect call).
const (
	MethodCreateUser         = "CreateUser"
	MethodGetUserByID        = "GetUserByID"
	MethodUpdateUser         = "UpdateUser"
	MethodDeleteUser         = "DeleteUser"
	MethodListUsers          = "ListUsers"
	MethodSetUserMetadata    = "SetUserMetadata"
	MethodListUserMetadata   = "ListUserMetadata"
	MethodDeleteUserMetadata = "DeleteUserMetadata"
)

// Metadata is zitadel.metadata.v2.Metadata as sent in requests: a key and
// its raw value (base64 on the wire). An empty value deletes the key in
// UpdateUser and SetUserMetadata (v4.13+).
type Metadata struct {
	Key   string `json:"key"`
	Value Bytes  `json:"value"`
}

// MetadataEntry is a metadata entry as ListUserMetadata returns it.
type MetadataEntry struct {
	CreationDate Timestamp `json:"creationDate,omitzero"`
	ChangeDate   Timestamp `json:"changeDate,omitzero"`
	Key          string    `json:"key,omitempty"`
	Value        Bytes     `json:"value,omitempty"`
}

// Details is zitadel.object.v2.Details.
type Details struct {
	Sequence      Uint64    `json:"sequence,omitempty"`
	ChangeDate    Timestamp `json:"changeDate,omitzero"`
	ResourceOwner string    `json:"resourceOwner,omitempty"`
	CreationDate  Timestamp `json:"creationDate,omitzero"`
}

// SetHumanProfile is the profile of CreateUser (given and family name required).
type SetHumanProfile struct {
	GivenName         string  `json:"givenName,omitempty"`
	FamilyName        string  `json:"familyName,omitempty"`
	NickName          *string `json:"nickName,omitempty"`
	DisplayName       *string `json:"displayName,omitempty"`
	PreferredLanguage *string `json:"preferredLanguage,omitempty"`
	Gender            *Gender `json:"gender,omitempty"`
}

// UpdateHumanProfile is the profile of UpdateUser: every field optional.
type UpdateHumanProfile struct {
	GivenName         *string `json:"givenName,omitempty"`
	FamilyName        *string `json:"familyName,omitempty"`
	NickName          *string `json:"nickName,omitempty"`
	DisplayName       *string `json:"displayName,omitempty"`
	PreferredLanguage *string `json:"preferredLanguage,omitempty"`
	Gender            *Gender `json:"gender,omitempty"`
}

// SendCode asks ZITADEL to send a verification code, optionally with a
// URL template ({{.UserID}}, {{.Code}}, {{.OrgID}}).
type SendCode struct {
	URLTemplate *string `json:"urlTemplate,omitempty"`
}

// ReturnCode asks ZITADEL to return the verification code instead of sending it.
type ReturnCode struct{}

// SetHumanEmail is an e-mail address with its verification oneof:
// at most one of SendCode, ReturnCode and IsVerified.
type SetHumanEmail struct {
	Email      string      `json:"email"`
	SendCode   *SendCode   `json:"sendCode,omitempty"`
	ReturnCode *ReturnCode `json:"returnCode,omitempty"`
	IsVerified *bool       `json:"isVerified,omitempty"`
}

// SetHumanPhone is a phone number with its verification oneof.
type SetHumanPhone struct {
	Phone      string      `json:"phone,omitempty"`
	SendCode   *SendCode   `json:"sendCode,omitempty"`
	ReturnCode *ReturnCode `json:"returnCode,omitempty"`
	IsVerified *bool       `json:"isVerified,omitempty"`
}

// Password is a plain password to set.
type Password struct {
	Password       string `json:"password"`
	ChangeRequired bool   `json:"changeRequired,omitempty"`
}

// HashedPassword is a password hash in modular crypt format.
type HashedPassword struct {
	Hash           string `json:"hash"`
	ChangeRequired bool   `json:"changeRequired,omitempty"`
}

// IDPLink links a user to an external identity provider.
type IDPLink struct {
	IDPID    string `json:"idpId,omitempty"`
	UserID   string `json:"userId,omitempty"`
	UserName string `json:"userName,omitempty"`
}

// CreateHuman is CreateUserRequest.human.
type CreateHuman struct {
	Profile        *SetHumanProfile `json:"profile,omitempty"`
	Email          *SetHumanEmail   `json:"email,omitempty"`
	Phone          *SetHumanPhone   `json:"phone,omitempty"`
	Password       *Password        `json:"password,omitempty"`
	HashedPassword *HashedPassword  `json:"hashedPassword,omitempty"`
	IDPLinks       []IDPLink        `json:"idpLinks,omitempty"`
	TOTPSecret     *string          `json:"totpSecret,omitempty"`
	// Metadata is deprecated since v4.13 in favour of CreateUserRequest.Metadata.
	Metadata []Metadata `json:"metadata,omitempty"`
}

// CreateMachine is CreateUserRequest.machine.
type CreateMachine struct {
	Name            string           `json:"name,omitempty"`
	Description     *string          `json:"description,omitempty"`
	AccessTokenType *AccessTokenType `json:"accessTokenType,omitempty"`
}

// CreateUserRequest is zitadel.user.v2.CreateUserRequest (§4.1).
type CreateUserRequest struct {
	OrganizationID string         `json:"organizationId"`
	UserID         *string        `json:"userId,omitempty"`
	Username       *string        `json:"username,omitempty"`
	Human          *CreateHuman   `json:"human,omitempty"`
	Machine        *CreateMachine `json:"machine,omitempty"`
	Metadata       []Metadata     `json:"metadata,omitempty"`
}

// CreateUserResponse is zitadel.user.v2.CreateUserResponse: the new id is in "id".
type CreateUserResponse struct {
	ID           string    `json:"id,omitempty"`
	CreationDate Timestamp `json:"creationDate,omitzero"`
	EmailCode    *string   `json:"emailCode,omitempty"`
	PhoneCode    *string   `json:"phoneCode,omitempty"`
}

// UserIDRequest is the body of GetUserByID and DeleteUser.
type UserIDRequest struct {
	UserID string `json:"userId"`
}

// HumanProfile is a human's profile as GetUserByID returns it; the optional
// fields are always set by ZITADEL's converter and so always emitted.
type HumanProfile struct {
	GivenName         string  `json:"givenName,omitempty"`
	FamilyName        string  `json:"familyName,omitempty"`
	NickName          *string `json:"nickName,omitempty"`
	DisplayName       *string `json:"displayName,omitempty"`
	PreferredLanguage *string `json:"preferredLanguage,omitempty"`
	Gender            *Gender `json:"gender,omitempty"`
	AvatarURL         string  `json:"avatarUrl,omitempty"`
}

// HumanEmail is a human's e-mail as GetUserByID returns it.
type HumanEmail struct {
	Email      string `json:"email,omitempty"`
	IsVerified bool   `json:"isVerified,omitempty"`
}

// HumanPhone is a human's phone as GetUserByID returns it.
type HumanPhone struct {
	Phone      string `json:"phone,omitempty"`
	IsVerified bool   `json:"isVerified,omitempty"`
}

// HumanUser is zitadel.user.v2.HumanUser.
type HumanUser struct {
	Profile                *HumanProfile `json:"profile,omitempty"`
	Email                  *HumanEmail   `json:"email,omitempty"`
	Phone                  *HumanPhone   `json:"phone,omitempty"`
	PasswordChangeRequired bool          `json:"passwordChangeRequired,omitempty"`
	PasswordChanged        Timestamp     `json:"passwordChanged,omitzero"`
	MFAInitSkipped         Timestamp     `json:"mfaInitSkipped,omitzero"`
}

// MachineUser is zitadel.user.v2.MachineUser.
type MachineUser struct {
	Name            string          `json:"name,omitempty"`
	Description     string          `json:"description,omitempty"`
	HasSecret       bool            `json:"hasSecret,omitempty"`
	AccessTokenType AccessTokenType `json:"accessTokenType,omitempty"`
}

// User is zitadel.user.v2.User.
type User struct {
	UserID             string       `json:"userId,omitempty"`
	Details            *Details     `json:"details,omitempty"`
	State              UserState    `json:"state,omitempty"`
	Username           string       `json:"username,omitempty"`
	LoginNames         []string     `json:"loginNames,omitempty"`
	PreferredLoginName string       `json:"preferredLoginName,omitempty"`
	Human              *HumanUser   `json:"human,omitempty"`
	Machine            *MachineUser `json:"machine,omitempty"`
}

// GetUserByIDResponse is zitadel.user.v2.GetUserByIDResponse.
type GetUserByIDResponse struct {
	Details *Details `json:"details,omitempty"`
	User    *User    `json:"user,omitempty"`
}

// SetPassword is UpdateUserRequest.human.password: a password or a hash,
// optionally verified by the current password or a code.
type SetPassword struct {
	Password         *Password       `json:"password,omitempty"`
	HashedPassword   *HashedPassword `json:"hashedPassword,omitempty"`
	CurrentPassword  *string         `json:"currentPassword,omitempty"`
	VerificationCode *string         `json:"verificationCode,omitempty"`
}

// UpdateHuman is UpdateUserRequest.human.
type UpdateHuman struct {
	Profile  *UpdateHumanProfile `json:"profile,omitempty"`
	Email    *SetHumanEmail      `json:"email,omitempty"`
	Phone    *SetHumanPhone      `json:"phone,omitempty"`
	Password *SetPassword        `json:"password,omitempty"`
}

// UpdateMachine is UpdateUserRequest.machine.
type UpdateMachine struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
}

// UpdateUserRequest is zitadel.user.v2.UpdateUserRequest (§4.5). All its
// changes are applied as one atomic batch.
type UpdateUserRequest struct {
	UserID   string         `json:"userId"`
	Username *string        `json:"username,omitempty"`
	Human    *UpdateHuman   `json:"human,omitempty"`
	Machine  *UpdateMachine `json:"machine,omitempty"`
	Metadata []Metadata     `json:"metadata,omitempty"`
}

// UpdateUserResponse is zitadel.user.v2.UpdateUserResponse.
type UpdateUserResponse struct {
	ChangeDate Timestamp `json:"changeDate,omitzero"`
	EmailCode  *string   `json:"emailCode,omitempty"`
	PhoneCode  *string   `json:"phoneCode,omitempty"`
}

// DeleteUserResponse is zitadel.user.v2.DeleteUserResponse.
type DeleteUserResponse struct {
	Details *Details `json:"details,omitempty"`
}

// ListQuery is zitadel.object.v2.ListQuery. Asc defaults to false (descending).
type ListQuery struct {
	Offset Uint64 `json:"offset,omitempty"`
	Limit  uint32 `json:"limit,omitempty"`
	Asc    bool   `json:"asc,omitempty"`
}

// ListUsersRequest is zitadel.user.v2.ListUsersRequest (§4.4). The queries
// are ANDed.
type ListUsersRequest struct {
	Query         *ListQuery    `json:"query,omitempty"`
	SortingColumn UserFieldName `json:"sortingColumn,omitempty"`
	Queries       []SearchQuery `json:"queries,omitempty"`
}

// ListDetails is zitadel.object.v2.ListDetails.
type ListDetails struct {
	TotalResult       Uint64    `json:"totalResult,omitempty"`
	ProcessedSequence Uint64    `json:"processedSequence,omitempty"`
	Timestamp         Timestamp `json:"timestamp,omitzero"`
}

// ListUsersResponse is zitadel.user.v2.ListUsersResponse.
type ListUsersResponse struct {
	Details *ListDetails `json:"details,omitempty"`
	Result  []User       `json:"result,omitempty"`
}

// SearchQuery is the oneof zitadel.user.v2.SearchQuery: exactly one member is set.
type SearchQuery struct {
	UserNameQuery       *UserNameQuery       `json:"userNameQuery,omitempty"`
	FirstNameQuery      *FirstNameQuery      `json:"firstNameQuery,omitempty"`
	LastNameQuery       *LastNameQuery       `json:"lastNameQuery,omitempty"`
	NickNameQuery       *NickNameQuery       `json:"nickNameQuery,omitempty"`
	DisplayNameQuery    *DisplayNameQuery    `json:"displayNameQuery,omitempty"`
	EmailQuery          *EmailQuery          `json:"emailQuery,omitempty"`
	StateQuery          *StateQuery          `json:"stateQuery,omitempty"`
	TypeQuery           *TypeQuery           `json:"typeQuery,omitempty"`
	LoginNameQuery      *LoginNameQuery      `json:"loginNameQuery,omitempty"`
	InUserIDsQuery      *InUserIDsQuery      `json:"inUserIdsQuery,omitempty"`
	OrQuery             *OrQuery             `json:"orQuery,omitempty"`
	AndQuery            *AndQuery            `json:"andQuery,omitempty"`
	NotQuery            *NotQuery            `json:"notQuery,omitempty"`
	InUserEmailsQuery   *InUserEmailsQuery   `json:"inUserEmailsQuery,omitempty"`
	OrganizationIDQuery *OrganizationIDQuery `json:"organizationIdQuery,omitempty"`
	PhoneQuery          *PhoneQuery          `json:"phoneQuery,omitempty"`
	MetadataKeyFilter   *MetadataKeyFilter   `json:"metadataKeyFilter,omitempty"`
	MetadataValueFilter *MetadataValueFilter `json:"metadataValueFilter,omitempty"`
}

// UserNameQuery matches the username.
type UserNameQuery struct {
	UserName string          `json:"userName"`
	Method   TextQueryMethod `json:"method,omitempty"`
}

// FirstNameQuery matches the given name.
type FirstNameQuery struct {
	FirstName string          `json:"firstName"`
	Method    TextQueryMethod `json:"method,omitempty"`
}

// LastNameQuery matches the family name.
type LastNameQuery struct {
	LastName string          `json:"lastName"`
	Method   TextQueryMethod `json:"method,omitempty"`
}

// NickNameQuery matches the nickname.
type NickNameQuery struct {
	NickName string          `json:"nickName"`
	Method   TextQueryMethod `json:"method,omitempty"`
}

// DisplayNameQuery matches the display name.
type DisplayNameQuery struct {
	DisplayName string          `json:"displayName"`
	Method      TextQueryMethod `json:"method,omitempty"`
}

// EmailQuery matches the e-mail address.
type EmailQuery struct {
	EmailAddress string          `json:"emailAddress"`
	Method       TextQueryMethod `json:"method,omitempty"`
}

// PhoneQuery matches the phone number.
type PhoneQuery struct {
	Number string          `json:"number"`
	Method TextQueryMethod `json:"method,omitempty"`
}

// LoginNameQuery matches any login name.
type LoginNameQuery struct {
	LoginName string          `json:"loginName"`
	Method    TextQueryMethod `json:"method,omitempty"`
}

// StateQuery matches the user state.
type StateQuery struct {
	State UserState `json:"state"`
}

// TypeQuery matches human or machine users.
type TypeQuery struct {
	Type UserType `json:"type"`
}

// InUserIDsQuery matches any of the ids.
type InUserIDsQuery struct {
	UserIDs []string `json:"userIds,omitempty"`
}

// InUserEmailsQuery matches any of the e-mail addresses.
type InUserEmailsQuery struct {
	UserEmails []string `json:"userEmails,omitempty"`
}

// OrganizationIDQuery matches the resource owner.
type OrganizationIDQuery struct {
	OrganizationID string `json:"organizationId"`
}

// OrQuery matches when any sub-query matches.
type OrQuery struct {
	Queries []SearchQuery `json:"queries,omitempty"`
}

// AndQuery matches when every sub-query matches.
type AndQuery struct {
	Queries []SearchQuery `json:"queries,omitempty"`
}

// NotQuery negates its sub-query.
type NotQuery struct {
	Query *SearchQuery `json:"query,omitempty"`
}

// MetadataKeyFilter matches users with a metadata key (v4.1+). ZITADEL maps
// its method numerically onto the wrong internal enum, swapping CONTAINS and
// ENDS_WITH (docs/zitadel.md §4.4): only EQUALS and STARTS_WITH are safe.
type MetadataKeyFilter struct {
	Key    string           `json:"key"`
	Method TextFilterMethod `json:"method,omitempty"`
}

// MetadataValueFilter matches users with a metadata value (v4.1+).
type MetadataValueFilter struct {
	Value  Bytes            `json:"value"`
	Method ByteFilterMethod `json:"method,omitempty"`
}

// SetUserMetadataRequest is zitadel.user.v2.SetUserMetadataRequest.
type SetUserMetadataRequest struct {
	UserID   string     `json:"userId"`
	Metadata []Metadata `json:"metadata,omitempty"`
}

// SetUserMetadataResponse is zitadel.user.v2.SetUserMetadataResponse.
type SetUserMetadataResponse struct {
	SetDate Timestamp `json:"setDate,omitzero"`
}

// PaginationRequest is zitadel.filter.v2.PaginationRequest: default limit
// 100, at most 1000, descending unless Asc.
type PaginationRequest struct {
	Offset Uint64 `json:"offset,omitempty"`
	Limit  uint32 `json:"limit,omitempty"`
	Asc    bool   `json:"asc,omitempty"`
}

// PaginationResponse is zitadel.filter.v2.PaginationResponse.
type PaginationResponse struct {
	TotalResult  Uint64 `json:"totalResult,omitempty"`
	AppliedLimit Uint64 `json:"appliedLimit,omitempty"`
}

// MetadataSearchFilter is the oneof zitadel.metadata.v2.MetadataSearchFilter.
type MetadataSearchFilter struct {
	KeyFilter *MetadataKeyFilter `json:"keyFilter,omitempty"`
}

// ListUserMetadataRequest is zitadel.user.v2.ListUserMetadataRequest.
type ListUserMetadataRequest struct {
	UserID     string                 `json:"userId"`
	Pagination *PaginationRequest     `json:"pagination,omitempty"`
	Filters    []MetadataSearchFilter `json:"filters,omitempty"`
}

// ListUserMetadataResponse is zitadel.user.v2.ListUserMetadataResponse.
type ListUserMetadataResponse struct {
	Pagination *PaginationResponse `json:"pagination,omitempty"`
	Metadata   []MetadataEntry     `json:"metadata,omitempty"`
}

// DeleteUserMetadataRequest is zitadel.user.v2.DeleteUserMetadataRequest.
type DeleteUserMetadataRequest struct {
	UserID string   `json:"userId"`
	Keys   []string `json:"keys,omitempty"`
}

// DeleteUserMetadataResponse is zitadel.user.v2.DeleteUserMetadataResponse.
type DeleteUserMetadataResponse struct {
	DeletionDate Timestamp `json:"deletionDate,omitzero"`
}
