package zitadeltest

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// Server is an in-memory ZITADEL instance served by an httptest.Server on
// 127.0.0.1, over TLS unless WithPlainHTTP. All its methods are safe for
// concurrent use: state is guarded by one mutex, and inspection methods
// return copies.
type Server struct {
	// URL is the instance's base URL, https://127.0.0.1:<port> (http://
	// with WithPlainHTTP) without a trailing slash. It is also the OIDC
	// issuer.
	URL string

	ts   *httptest.Server
	cfg  config
	mux  *http.ServeMux
	rpcs map[string]rpc // user-service methods by Connect method name

	mu sync.Mutex
	st *state

	// Seeded ids, fixed after NewServer returns.
	orgID, clientID string
	service         MachineUser
}

// NewServer starts a seeded fake instance: one organization, one project
// with an OIDC application (token exchange, authorization code with PKCE
// and refresh token grants; auth method none; JWT access tokens; user info
// in ID tokens), and a service account holding IAM_USER_MANAGER and
// IAM_END_USER_IMPERSONATOR with a personal access token, a key file and a
// client secret. The instance's security policy allows impersonation.
// Invalid options and setup failures panic with a "zitadeltest: " prefix.
// Call Close when done.
func NewServer(opts ...Option) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		panic("zitadeltest: " + err.Error())
	}
	s := &Server{cfg: cfg, st: newState(cfg.clock, cfg.webKey)}
	s.st.projectionLag = cfg.projectionLag
	s.rpcs = userService()
	s.mux = s.routes()
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveLogged))
	s.ts.Config.ErrorLog = log.New(handshakeFilter{os.Stderr}, "", log.LstdFlags)
	if cfg.plainHTTP {
		s.ts.Start()
	} else {
		s.ts.StartTLS()
	}
	s.URL = s.ts.URL
	s.seed()
	return s
}

// Start is NewServer with Close registered as a cleanup of t.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down and waits for the requests in flight.
func (s *Server) Close() { s.ts.Close() }

// Issuer returns the OIDC issuer: URL, with a trailing slash under
// WithTrailingSlashIssuer.
func (s *Server) Issuer() string { return s.URL + s.cfg.issuerSuffix }

// Client returns an HTTP client that trusts the server's TLS certificate
// (a plain client with WithPlainHTTP).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// OrganizationID returns the id of the seeded organization.
func (s *Server) OrganizationID() string { return s.orgID }

// ProjectID returns the id of the project that holds the seeded application.
func (s *Server) ProjectID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.projectID
}

// ClientID returns the client id of the seeded OIDC application.
func (s *Server) ClientID() string { return s.clientID }

// ServiceAccount returns the seeded machine user with IAM_USER_MANAGER and
// IAM_END_USER_IMPERSONATOR and its credentials: a personal access token,
// a key file and a client secret. The key file's RSA key is generated once
// per process and shared by the seeded accounts of all servers (each
// registers it under its own key id).
func (s *Server) ServiceAccount() MachineUser { return s.service }

// Now returns the server's current time: the base clock (WithClock) moved
// by SetTime and Advance. It stamps creation and change dates and token
// times, and decides token and code expiry.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.now()
}

// SetTime moves the server's clock so that Now returns t; time then goes on
// at the base clock's pace.
func (s *Server) SetTime(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.offset = t.Sub(s.st.clock())
}

// Advance moves the server's clock forward by d (backward if d < 0), for
// example past a token's expiry.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.offset += d
}

// SetImpersonation sets the instance security policy's enableImpersonation
// (seeded true). When off, token exchange with an actor fails with 403.
func (s *Server) SetImpersonation(enabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.impersonation = enabled
}

// handshakeFilter drops the "TLS handshake error" lines net/http logs when
// Close interrupts a client that is still connecting; other server errors,
// such as recovered handler panics, still reach w.
type handshakeFilter struct{ w io.Writer }

func (f handshakeFilter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("http: TLS handshake error")) {
		return len(p), nil
	}
	return f.w.Write(p)
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc(zitadel.UserServicePath, s.serveConnect)
	mux.HandleFunc("/v2/users", s.serveGateway)
	mux.HandleFunc("/v2/users/", s.serveGateway)
	mux.HandleFunc(zitadel.SettingsServicePath, s.serveSettings)
	mux.HandleFunc(zitadel.InstanceServicePath, s.serveInstance)
	mux.HandleFunc("/v2/settings/password/complexity", s.serveSettings)
	mux.HandleFunc(zitadel.PathDiscovery, s.serveDiscovery)
	mux.HandleFunc(zitadel.PathKeys, s.serveKeys)
	mux.HandleFunc(zitadel.PathToken, s.serveToken)
	mux.HandleFunc(zitadel.PathAuthorize, s.serveAuthorize)
	mux.HandleFunc(pathLogin, s.serveLogin)
	mux.HandleFunc(pathRegister, s.serveRegister)
	mux.HandleFunc(zitadel.PathIntrospect, s.serveIntrospect)
	mux.HandleFunc(zitadel.PathUserinfo, s.serveUserinfo)
	mux.HandleFunc(zitadel.PathRevoke, s.serveRevoke)
	mux.HandleFunc(zitadel.PathEndSession, s.serveEndSession)
	return mux
}

// seed creates the seeded organization, project, application and service
// account.
func (s *Server) seed() {
	s.mu.Lock()
	st := s.st
	st.instanceCreated = st.now()
	st.zitadelProjectID = st.newID()
	s.orgID = st.addOrg("Shadow")
	st.projectID = st.newID()
	st.projectName = "shadow"
	s.mu.Unlock()

	clientID, err := s.AddApp(NewApp{
		Name:            "shadow-web",
		GrantTypes:      []string{zitadel.GrantTokenExchange, zitadel.GrantAuthorizationCode, zitadel.GrantRefreshToken},
		AuthMethod:      AuthMethodNone,
		JWTAccessToken:  true,
		IDTokenUserinfo: true,
	})
	if err != nil {
		panic("zitadeltest: seed application: " + err.Error())
	}
	s.clientID = clientID
	s.service, err = s.addMachineUser(NewMachine{
		Username:   "shadow-service",
		Roles:      []Role{RoleIAMUserManager, RoleIAMEndUserImpersonator},
		WithKey:    true,
		WithSecret: true,
	}, seedKey())
	if err != nil {
		panic("zitadeltest: seed service account: " + err.Error())
	}
}
