package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
)

// config is what the doctor needs to build a Manager.
type config struct {
	Issuer       string
	OrgID        string
	ClientID     string
	ProjectID    string
	PAT          string
	KeyFile      []byte
	ClientSecret string
	HTTPClient   *http.Client // nil: the SDK's default
}

// configFromEnv reads the environment variables examples/shop reads, plus
// ZITADEL_PROJECT_ID, ZITADEL_KEY_FILE and ZITADEL_CLIENT_SECRET. It names
// every missing or conflicting variable at once.
func configFromEnv(getenv func(string) string) (config, error) {
	c := config{Issuer: getenv("ZITADEL_ISSUER"), OrgID: getenv("ZITADEL_ORG_ID"), ClientID: getenv("ZITADEL_CLIENT_ID"),
		ProjectID: getenv("ZITADEL_PROJECT_ID"), PAT: getenv("ZITADEL_PAT"), ClientSecret: getenv("ZITADEL_CLIENT_SECRET")}
	var problems []string
	for _, v := range []struct{ name, val string }{
		{"ZITADEL_ISSUER", c.Issuer}, {"ZITADEL_ORG_ID", c.OrgID}, {"ZITADEL_CLIENT_ID", c.ClientID},
	} {
		if v.val == "" {
			problems = append(problems, v.name+" is not set")
		}
	}
	keyPath := getenv("ZITADEL_KEY_FILE")
	switch {
	case c.PAT == "" && keyPath == "":
		problems = append(problems, "set ZITADEL_PAT or ZITADEL_KEY_FILE")
	case c.PAT != "" && keyPath != "":
		problems = append(problems, "set ZITADEL_PAT or ZITADEL_KEY_FILE, not both")
	case keyPath != "":
		b, err := os.ReadFile(keyPath)
		if err != nil {
			problems = append(problems, "ZITADEL_KEY_FILE: "+err.Error())
		}
		c.KeyFile = b
	}
	if len(problems) > 0 {
		return config{}, fmt.Errorf("%s (or run with -fake)", strings.Join(problems, "; "))
	}
	return c, nil
}

// manager builds the Manager to check. Check uses no cart store, but New
// requires one.
func (c config) manager() (*shadow.Manager, error) {
	creds := shadow.PAT(c.PAT)
	if c.KeyFile != nil {
		var err error
		if creds, err = shadow.KeyFile(c.KeyFile); err != nil {
			return nil, err
		}
	}
	opts := []shadow.Option{
		shadow.WithOrganization(c.OrgID), shadow.WithClientID(c.ClientID), shadow.WithCredentials(creds),
		shadow.WithCartStore(memstore.New()),
	}
	if c.ProjectID != "" {
		opts = append(opts, shadow.WithProjectID(c.ProjectID))
	}
	if c.ClientSecret != "" {
		opts = append(opts, shadow.WithClientSecret(c.ClientSecret, shadow.AuthClientSecretBasic))
	}
	if c.HTTPClient != nil {
		opts = append(opts, shadow.WithHTTPClient(c.HTTPClient))
	}
	return shadow.New(c.Issuer, opts...)
}
