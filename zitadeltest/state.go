package zitadeltest

import (
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// state is everything the server knows. It is only touched with Server.mu
// held; its methods assume that.
type state struct {
	clock  func() time.Time
	offset time.Duration
	lastID uint64
	events uint64 // user events written, ListUsers' processedSequence

	orgs             map[string]*org
	projectID        string // the project of the seeded and added apps
	projectName      string
	zitadelProjectID string          // ZITADEL's own project: the audience of its APIs
	apps             map[string]*app // by client id
	users            map[string]*user
	userList         []*user           // the users of the map, for scans: a slice ranges much faster
	usernames        map[string]string // lower-cased username → user id
	usersVersion     uint64            // bumped by every change to a user (listOrder)
	listOrder        userOrder         // all users sorted for ListUsers, while current
	impersonation    bool              // instance security policy enableImpersonation
	instanceCreated  time.Time         // when the instance and its default policies were set up
	misconfig        misconfig         // misconfiguration and regression knobs (misconfig.go)

	tokens   map[string]*token // by bearer value (PAT, opaque) or jti (JWT)
	refresh  map[string]*refreshToken
	tokenSeq uint64 // issue order of tokens and refresh tokens
	authReqs map[string]*authRequest
	codes    map[string]*authCode
	browsers browsers // login sessions and first-credential codes (login.go, credential.go)

	webKey WebKey    // kind of the signing keys
	keys   []*webKey // previous key (after RotateKeys) and current key, last; made on first use
	jwks   []byte    // the JWKS of keys, rendered when they change

	requests []Request

	// Fault injection (faults.go).
	nextFaults    map[Operation][]Fault
	faults        map[Operation]Fault
	latency       time.Duration
	projectionLag time.Duration
}

func newState(clock func() time.Time, key WebKey) *state {
	return &state{
		clock:         clock,
		webKey:        key,
		orgs:          map[string]*org{},
		apps:          map[string]*app{},
		users:         map[string]*user{},
		usernames:     map[string]string{},
		impersonation: true,
		tokens:        map[string]*token{},
		refresh:       map[string]*refreshToken{},
		authReqs:      map[string]*authRequest{},
		codes:         map[string]*authCode{},
		nextFaults:    map[Operation][]Fault{},
		faults:        map[Operation]Fault{},
	}
}

// now is the server's time, truncated to microseconds like the dates
// ZITADEL stores in PostgreSQL.
func (st *state) now() time.Time {
	return st.clock().Add(st.offset).Truncate(time.Microsecond)
}

// newID returns an 18-digit id in the style of ZITADEL's sonyflake ids.
// Ids are sequential per server, so runs are reproducible.
func (st *state) newID() string {
	st.lastID++
	return strconv.FormatUint(340000000000000000+st.lastID, 10)
}

// randomToken returns n random bytes in base64url, for secrets and codes.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

type org struct {
	id, name, domain string
	created          time.Time
}

// user is a human or machine user. Machine users carry roles and PATs.
type user struct {
	id, orgID, username string
	machine             bool
	state               zitadel.UserState
	created, changed    time.Time
	sequence            uint64

	// human
	givenName, familyName, nickName, displayName string
	preferredLanguage                            string
	gender                                       zitadel.Gender
	email                                        string
	emailVerified                                bool
	emailCode                                    string
	phone                                        string
	phoneVerified                                bool
	password                                     *passwordHash
	passwordChangeRequired                       bool
	passwordChanged                              time.Time

	// machine
	name, description string
	accessTokenType   zitadel.AccessTokenType
	roles             []Role
	keys              map[string]*machineKey // by key id
	secret            *passwordHash          // client secret

	// metadata is a short slice of values rather than a map: ListUsers
	// scans the entries of every user, and a slice is far cheaper to range.
	metadata []metadataEntry
	metaSeq  uint64 // orders entries created at the same instant

	// unprojected marks a user created through the API that no
	// GetUserByID has read yet (SetProjectionLag).
	unprojected bool

	listIndex int // position in state.userList
}

type metadataEntry struct {
	key              string
	value            []byte
	created, changed time.Time
	seq              uint64
}

// touch records a change event on u at the current time.
func (st *state) touch(u *user) {
	u.changed = st.now()
	u.sequence++
	st.events++
	st.usersVersion++
}

// meta returns the metadata entry of key, or nil.
func (u *user) meta(key string) *metadataEntry {
	for i := range u.metadata {
		if u.metadata[i].key == key {
			return &u.metadata[i]
		}
	}
	return nil
}

// setMetadata sets key to value, keeping the creation date of an existing entry.
func (u *user) setMetadata(key string, value []byte, at time.Time) {
	if e := u.meta(key); e != nil {
		e.value = append([]byte(nil), value...)
		e.changed = at
		return
	}
	u.metaSeq++
	u.metadata = append(u.metadata, metadataEntry{key: key, value: append([]byte(nil), value...),
		created: at, changed: at, seq: u.metaSeq})
}

// deleteMetadata removes key and reports whether it was there.
func (u *user) deleteMetadata(key string) bool {
	n := len(u.metadata)
	u.metadata = slices.DeleteFunc(u.metadata, func(e metadataEntry) bool { return e.key == key })
	return len(u.metadata) != n
}

// loginNames are the user's login names. With the default domain policy
// (UserLoginMustBeDomain false) that is the username alone.
func (u *user) loginNames() []string { return []string{u.username} }

func (st *state) usernameTaken(username, exceptUserID string) bool {
	id, ok := st.usernames[strings.ToLower(username)]
	return ok && id != exceptUserID
}

func (st *state) setUsername(u *user, username string) {
	delete(st.usernames, strings.ToLower(u.username))
	u.username = username
	st.usernames[strings.ToLower(username)] = u.id
}

// app is an OIDC application of the project.
type app struct {
	clientID        string
	name            string
	redirectURIs    []string
	grantTypes      []string
	authMethod      AuthMethod
	secret          string
	jwtAccessToken  bool
	idTokenUserinfo bool
	keyID           string
	publicKey       any
}

func (a *app) allowsGrant(grant string) bool {
	for _, g := range a.grantTypes {
		if g == grant {
			return true
		}
	}
	return false
}

type tokenKind int

const (
	tokenPAT tokenKind = iota
	tokenAccess
)

// token is an issued access token or PAT. Opaque tokens and PATs are found
// by their bearer value, JWT access tokens by their jti. Tokens are never
// forgotten: revoked ones stay for IssuedTokens.
type token struct {
	kind      tokenKind
	seq       uint64
	id        string // jti of access tokens
	value     string // bearer value of opaque tokens and PATs; "" for JWTs
	jwt       bool
	userID    string
	clientID  string
	sessionID string
	scopes    []string
	audience  []string
	actor     *actor
	issuedAt  time.Time
	expiresAt time.Time // zero: never (PATs)
	authTime  time.Time
	amr       []string
	revoked   bool
}

// addToken stores t, in issue order.
func (st *state) addToken(t *token) {
	st.tokenSeq++
	t.seq = st.tokenSeq
	st.tokens[t.key()] = t
}

func (t *token) key() string {
	if t.value != "" {
		return t.value
	}
	return t.id
}

func (t *token) expired(now time.Time) bool {
	return !t.expiresAt.IsZero() && !now.Before(t.expiresAt)
}

// actor is the "act" claim of an impersonated token.
type actor struct {
	issuer, subject string
	act             *actor
}

type refreshToken struct {
	seq                         uint64
	value                       string
	userID, clientID, sessionID string
	scopes, audience, amr       []string
	actor                       *actor
	authTime, issuedAt          time.Time
	idleExpiry, absoluteExpiry  time.Time
	revoked                     bool
}

// authRequest is an authorization request waiting for the login page.
type authRequest struct {
	id, clientID, redirectURI string
	scopes                    []string
	state, nonce              string
	codeChallenge             string // S256 challenge; "" when none was sent
	loginHint                 string
	audience                  []string
	userAgent                 string // the browser (user-agent cookie) that started it
	prompt                    []string
	created                   time.Time
}

// authCode is an issued authorization code; it is used at most once.
type authCode struct {
	req       *authRequest
	userID    string
	authTime  time.Time
	expiresAt time.Time
	sessionID string // the browser's login session, the tokens' "sid"
}

// revokeUserTokens revokes the access and refresh tokens of a user, and its
// PATs too when withPATs is set, and drops its codes.
func (st *state) revokeUserTokens(userID string, withPATs bool) {
	for _, t := range st.tokens {
		if t.userID == userID && (withPATs || t.kind != tokenPAT) {
			t.revoked = true
		}
	}
	for _, r := range st.refresh {
		if r.userID == userID {
			r.revoked = true
		}
	}
	for k, c := range st.codes {
		if c.userID == userID {
			delete(st.codes, k)
		}
	}
}
