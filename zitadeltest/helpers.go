package zitadeltest

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// The helpers in this file change and inspect the server's state directly,
// under the server's mutex, without going through HTTP. They are safe for
// concurrent use; inspection returns copies.

// MachineUser is a machine user (service account) with its credentials.
type MachineUser struct {
	ID       string
	Username string
	PAT      string // send as "Authorization: Bearer <PAT>"
	// KeyFile is the user's key file exactly as ZITADEL downloads it, for
	// the JWT profile grant: {"type":"serviceaccount","keyId":…,"key":
	// "-----BEGIN RSA PRIVATE KEY-----…","expirationDate":…,"userId":…}
	// (RSA 2048, PKCS#1). Nil without NewMachine.WithKey.
	KeyFile []byte
	// ClientID and ClientSecret are the credentials of the client
	// credentials grant: the client id is the user's login name (its
	// username). Empty without NewMachine.WithSecret.
	ClientID     string
	ClientSecret string
}

// NewHuman describes a human user for AddHumanUser.
type NewHuman struct {
	OrganizationID string // default: the seeded organization
	UserID         string // default: generated
	Username       string // default: Email
	GivenName      string // required
	FamilyName     string // required
	Email          string // required
	EmailVerified  bool
	Password       string // optional; must satisfy the password complexity policy
	Metadata       map[string][]byte
}

// NewMachine describes a machine user for AddMachineUser.
type NewMachine struct {
	OrganizationID string // default: the seeded organization
	Username       string // required
	Roles          []Role // ORG_ roles apply to OrganizationID
	// WithKey adds a machine key (RSA 2048, generated here: tens of
	// milliseconds) and returns its key file; KeyExpiration defaults to
	// 9999-12-31T23:59:59Z, as in ZITADEL.
	WithKey       bool
	KeyExpiration time.Time
	// WithSecret generates a client secret for the client credentials grant.
	WithSecret bool
	// JWTAccessToken makes the user's access token type JWT
	// (ACCESS_TOKEN_TYPE_JWT); the default is an opaque bearer token.
	JWTAccessToken bool
}

// AuthMethod is the token-endpoint authentication method of an application.
type AuthMethod int

// Authentication methods, in the order of ZITADEL's OIDCAuthMethodType: the
// zero value is client_secret_basic, as in ZITADEL.
const (
	AuthMethodBasic         AuthMethod = iota // client_secret_basic
	AuthMethodPost                            // client_secret_post
	AuthMethodNone                            // public client, PKCE
	AuthMethodPrivateKeyJWT                   // private_key_jwt
)

// String returns the OAuth name of the method, e.g. "client_secret_basic".
func (m AuthMethod) String() string {
	switch m {
	case AuthMethodBasic:
		return "client_secret_basic"
	case AuthMethodPost:
		return "client_secret_post"
	case AuthMethodNone:
		return "none"
	case AuthMethodPrivateKeyJWT:
		return "private_key_jwt"
	}
	return "AuthMethod(" + strconv.Itoa(int(m)) + ")"
}

// NewApp describes an OIDC application of the project for AddApp.
type NewApp struct {
	Name         string   // required
	RedirectURIs []string // absolute URLs; matched exactly
	// GrantTypes are OAuth grant type names (zitadel.Grant* values, e.g.
	// "authorization_code"); default: authorization_code.
	GrantTypes []string
	AuthMethod AuthMethod
	// ClientSecret is the secret of a basic or post application; generated
	// when empty. Read it back with App.
	ClientSecret string
	// KeyID and PublicKey (an *rsa.PublicKey or *ecdsa.PublicKey) verify
	// the client assertions of a private_key_jwt application.
	KeyID     string
	PublicKey any
	// JWTAccessToken issues JWT access tokens instead of opaque ones.
	JWTAccessToken bool
	// IDTokenUserinfo puts the profile, email and phone claims into ID
	// tokens ("include user info in ID token").
	IDTokenUserinfo bool
}

// App is an application as App returns it.
type App struct {
	ClientID        string
	Name            string
	RedirectURIs    []string
	GrantTypes      []string
	AuthMethod      AuthMethod
	ClientSecret    string // for basic and post applications
	JWTAccessToken  bool
	IDTokenUserinfo bool
}

// UserType tells human and machine users apart.
type UserType int

// User types.
const (
	Human UserType = iota + 1
	Machine
)

// String returns "Human" or "Machine".
func (t UserType) String() string {
	switch t {
	case Human:
		return "Human"
	case Machine:
		return "Machine"
	}
	return "UserType(" + strconv.Itoa(int(t)) + ")"
}

// User is a copy of a user's state. Human fields are empty for machine users.
type User struct {
	ID             string
	OrganizationID string
	Username       string
	Type           UserType
	State          string // e.g. "USER_STATE_ACTIVE"
	GivenName      string
	FamilyName     string
	DisplayName    string
	Email          string
	EmailVerified  bool
	EmailCode      string // last e-mail verification code created; "" if none
	HasPassword    bool
	Metadata       map[string][]byte
	CreatedAt      time.Time
	ChangedAt      time.Time
}

// AddOrganization creates an organization and returns its id.
func (s *Server) AddOrganization(name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", errors.New("zitadeltest: organization name is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addOrg(name), nil
}

func (st *state) addOrg(name string) string {
	o := &org{id: st.newID(), name: name, created: st.now()}
	o.domain = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), " ", "-")) + ".localhost"
	st.orgs[o.id] = o
	return o.id
}

// AddHumanUser creates an active human user with the same rules as
// CreateUser (unique id and username, valid e-mail, password complexity)
// and returns its id. No verification code is created.
func (s *Server) AddHumanUser(h NewHuman) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if h.OrganizationID == "" {
		h.OrganizationID = s.orgID
	}
	if h.Username == "" {
		h.Username = h.Email
	}
	switch {
	case strings.TrimSpace(h.GivenName) == "" || strings.TrimSpace(h.FamilyName) == "":
		return "", errors.New("zitadeltest: given and family name are required")
	case validEmail(h.Email) != nil:
		return "", fmt.Errorf("zitadeltest: invalid e-mail %q", h.Email)
	}
	u, aerr := st.newUser(h.OrganizationID, h.UserID)
	if aerr == nil && st.usernameTaken(h.Username, "") {
		aerr = errUsernameTaken()
	}
	if aerr == nil && h.Password != "" {
		aerr = checkPasswordComplexity(h.Password)
	}
	if aerr == nil {
		aerr = checkMetadataEntries(h.Metadata)
	}
	if aerr != nil {
		return "", fmt.Errorf("zitadeltest: %s", aerr.message())
	}
	u.username = h.Username
	u.givenName, u.familyName = strings.TrimSpace(h.GivenName), strings.TrimSpace(h.FamilyName)
	u.displayName = u.givenName + " " + u.familyName
	u.preferredLanguage = "und"
	u.email, u.emailVerified = h.Email, h.EmailVerified
	if h.Password != "" {
		u.password = hashPassword(h.Password)
		u.passwordChanged = u.created
	}
	for k, v := range h.Metadata {
		u.setMetadata(strings.TrimSpace(k), v, u.created)
	}
	st.insertUser(u)
	return u.id, nil
}

func checkMetadataEntries(md map[string][]byte) *apiError {
	for k, v := range md {
		if strings.TrimSpace(k) == "" {
			return errMetadataKeyEmpty()
		}
		if len(v) == 0 {
			return errMetadataValueEmpty()
		}
	}
	return nil
}

// AddMachineUser creates an active machine user with the given roles, a
// personal access token that never expires and, when asked, a key file and
// a client secret.
func (s *Server) AddMachineUser(m NewMachine) (MachineUser, error) {
	var key *rsa.PrivateKey
	if m.WithKey {
		key = newMachineKey() // generated without holding the lock
	}
	return s.addMachineUser(m, key)
}

// addMachineUser creates the machine user m, with key as its machine key
// when m.WithKey is set.
func (s *Server) addMachineUser(m NewMachine, key *rsa.PrivateKey) (MachineUser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if m.OrganizationID == "" {
		m.OrganizationID = s.orgID
	}
	if strings.TrimSpace(m.Username) == "" {
		return MachineUser{}, errors.New("zitadeltest: machine username is empty")
	}
	for _, r := range m.Roles {
		if !r.valid() {
			return MachineUser{}, fmt.Errorf("zitadeltest: unknown role %v", r)
		}
	}
	u, aerr := st.newUser(m.OrganizationID, "")
	if aerr == nil && st.usernameTaken(m.Username, "") {
		aerr = errUsernameTaken()
	}
	if aerr != nil {
		return MachineUser{}, fmt.Errorf("zitadeltest: %s", aerr.message())
	}
	u.machine = true
	u.username, u.name = m.Username, m.Username
	u.roles = slices.Clone(m.Roles)
	if m.JWTAccessToken {
		u.accessTokenType = zitadel.AccessTokenJWT
	}
	mu := MachineUser{ID: u.id, Username: u.username}
	if m.WithKey {
		expires := m.KeyExpiration
		if expires.IsZero() {
			expires = defaultKeyExpiration
		}
		keyID := st.newID()
		u.keys = map[string]*machineKey{keyID: {pub: key.Public(), expires: expires}}
		mu.KeyFile = keyFileJSON(keyID, key, expires, u.id)
	}
	if m.WithSecret {
		mu.ClientID, mu.ClientSecret = u.username, randomToken(48)
		u.secret = hashPassword(mu.ClientSecret)
	}
	st.insertUser(u)
	mu.PAT = st.issuePAT(u)
	return mu, nil
}

// newUser checks the organization and the id (generated when empty) and
// returns an active user without username that is not stored yet.
func (st *state) newUser(orgID, id string) (*user, *apiError) {
	if st.orgs[orgID] == nil {
		return nil, errOrgNotFound()
	}
	if id == "" {
		id = st.newID()
	} else if st.users[id] != nil {
		return nil, errUserIDTaken()
	}
	now := st.now()
	st.events++
	return &user{
		id: id, orgID: orgID, state: zitadel.UserStateActive,
		created: now, changed: now, sequence: 1,
	}, nil
}

func (st *state) insertUser(u *user) {
	st.usersVersion++
	u.listIndex = len(st.userList)
	st.userList = append(st.userList, u)
	st.users[u.id] = u
	st.usernames[strings.ToLower(u.username)] = u.id
}

// patScopes are the fixed scopes of a PAT (internal/api/grpc/user/v2/pat.go).
func patScopes() []string {
	return []string{"openid", "profile", zitadel.ScopeUserMetadata, zitadel.ScopeUserResourceOwner}
}

func (st *state) issuePAT(u *user) string {
	t := &token{
		kind: tokenPAT, id: st.newID(), value: randomToken(48), userID: u.id,
		scopes: patScopes(), audience: []string{st.zitadelProjectID}, issuedAt: st.now(),
	}
	st.addToken(t)
	return t.value
}

// AddApp adds an OIDC application to the project and returns its client id.
func (s *Server) AddApp(a NewApp) (string, error) {
	if strings.TrimSpace(a.Name) == "" {
		return "", errors.New("zitadeltest: application name is empty")
	}
	if err := checkRedirectURIs(a.RedirectURIs); err != nil {
		return "", err
	}
	grants := a.GrantTypes
	if len(grants) == 0 {
		grants = []string{zitadel.GrantAuthorizationCode}
	}
	for _, g := range grants {
		switch g {
		case zitadel.GrantAuthorizationCode, zitadel.GrantRefreshToken, zitadel.GrantTokenExchange,
			zitadel.GrantClientCredentials, zitadel.GrantJWTBearer:
		default:
			return "", fmt.Errorf("zitadeltest: unsupported grant type %q", g)
		}
	}
	switch a.AuthMethod {
	case AuthMethodBasic, AuthMethodPost:
		if a.ClientSecret == "" {
			a.ClientSecret = randomToken(48)
		}
	case AuthMethodNone:
		a.ClientSecret = ""
	case AuthMethodPrivateKeyJWT:
		if a.PublicKey == nil || a.KeyID == "" {
			return "", errors.New("zitadeltest: a private_key_jwt application needs KeyID and PublicKey")
		}
		a.ClientSecret = ""
	default:
		return "", fmt.Errorf("zitadeltest: unknown auth method %v", a.AuthMethod)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	ap := &app{
		clientID:        st.newID() + "@" + st.projectName,
		name:            a.Name,
		redirectURIs:    slices.Clone(a.RedirectURIs),
		grantTypes:      slices.Clone(grants),
		authMethod:      a.AuthMethod,
		secret:          a.ClientSecret,
		jwtAccessToken:  a.JWTAccessToken,
		idTokenUserinfo: a.IDTokenUserinfo,
		keyID:           a.KeyID,
		publicKey:       a.PublicKey,
	}
	st.apps[ap.clientID] = ap
	return ap.clientID, nil
}

func checkRedirectURIs(uris []string) error {
	for _, u := range uris {
		p, err := url.Parse(u)
		if err != nil || !p.IsAbs() || p.Host == "" {
			return fmt.Errorf("zitadeltest: redirect URI %q is not an absolute URL", u)
		}
	}
	return nil
}

// SetRedirectURIs replaces the redirect URIs of an application.
func (s *Server) SetRedirectURIs(clientID string, uris ...string) error {
	if err := checkRedirectURIs(uris); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.apps[clientID]
	if a == nil {
		return fmt.Errorf("zitadeltest: unknown client id %q", clientID)
	}
	a.redirectURIs = slices.Clone(uris)
	return nil
}

// App returns a copy of the application with clientID.
func (s *Server) App(clientID string) (App, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.apps[clientID]
	if a == nil {
		return App{}, false
	}
	return App{
		ClientID: a.clientID, Name: a.name, RedirectURIs: slices.Clone(a.redirectURIs),
		GrantTypes: slices.Clone(a.grantTypes), AuthMethod: a.authMethod, ClientSecret: a.secret,
		JWTAccessToken: a.jwtAccessToken, IDTokenUserinfo: a.idTokenUserinfo,
	}, true
}

// User returns a copy of the user with id; ok is false for unknown and
// deleted users.
func (s *Server) User(id string) (u User, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	su := s.st.users[id]
	if su == nil {
		return User{}, false
	}
	return su.export(), true
}

// Users returns copies of all users, ordered by id.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.st.users))
	for _, id := range slices.Sorted(maps.Keys(s.st.users)) {
		out = append(out, s.st.users[id].export())
	}
	return out
}

func (u *user) export() User {
	e := User{
		ID: u.id, OrganizationID: u.orgID, Username: u.username, Type: Human, State: u.state.String(),
		GivenName: u.givenName, FamilyName: u.familyName, DisplayName: u.displayName,
		Email: u.email, EmailVerified: u.emailVerified, EmailCode: u.emailCode,
		HasPassword: u.password != nil, Metadata: map[string][]byte{},
		CreatedAt: u.created, ChangedAt: u.changed,
	}
	if u.machine {
		e.Type = Machine
		e.DisplayName = u.name
	}
	for _, m := range u.metadata {
		e.Metadata[m.key] = slices.Clone(m.value)
	}
	return e
}

// CheckPassword reports whether password is the password of the user with
// userID.
func (s *Server) CheckPassword(userID, password string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.users[userID]
	return u != nil && u.password.matches(password)
}
