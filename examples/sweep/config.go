package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/pgstore"
)

type config struct {
	issuer, orgID, clientID, projectID, dsn string
	creds                                   shadow.Credentials
}

// configFromEnv reads ZITADEL_ISSUER, ZITADEL_ORG_ID, ZITADEL_CLIENT_ID
// (required), the machine user's credentials — ZITADEL_PAT, or
// ZITADEL_KEY_FILE (the path of its JSON key file) with ZITADEL_PROJECT_ID
// — and SHADOW_POSTGRES_DSN (optional).
func configFromEnv(getenv func(string) string) (config, error) {
	c := config{issuer: getenv("ZITADEL_ISSUER"), orgID: getenv("ZITADEL_ORG_ID"), clientID: getenv("ZITADEL_CLIENT_ID"),
		projectID: getenv("ZITADEL_PROJECT_ID"), dsn: getenv("SHADOW_POSTGRES_DSN")}
	var missing []string
	for _, name := range []string{"ZITADEL_ISSUER", "ZITADEL_ORG_ID", "ZITADEL_CLIENT_ID"} {
		if getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	pat, keyPath := getenv("ZITADEL_PAT"), getenv("ZITADEL_KEY_FILE")
	var errs []error
	switch {
	case pat != "" && keyPath != "":
		errs = append(errs, errors.New("set ZITADEL_PAT or ZITADEL_KEY_FILE, not both"))
	case pat != "":
		c.creds = shadow.PAT(pat)
	case keyPath != "":
		data, err := os.ReadFile(keyPath)
		if err == nil {
			c.creds, err = shadow.KeyFile(data)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("ZITADEL_KEY_FILE: %w", err))
		}
		if c.projectID == "" {
			missing = append(missing, "ZITADEL_PROJECT_ID (with ZITADEL_KEY_FILE)")
		}
	default:
		missing = append(missing, "ZITADEL_PAT or ZITADEL_KEY_FILE")
	}
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("set %s", strings.Join(missing, ", ")))
	}
	return c, errors.Join(errs...)
}

// ownerTables is the repeatable -owner-table flag: [schema.]table[:column].
type ownerTables []pgstore.OwnerTable

func (o *ownerTables) String() string {
	var s []string
	for _, t := range *o {
		s = append(s, t.Schema+"."+t.Name+":"+t.Column)
	}
	return strings.Join(s, ",")
}

func (o *ownerTables) Set(v string) error {
	name, column, _ := strings.Cut(v, ":")
	if column == "" {
		column = "owner"
	}
	schema, table, qualified := strings.Cut(name, ".")
	if !qualified {
		schema, table = "", name
	}
	if table == "" || strings.ContainsAny(column, ":") {
		return fmt.Errorf("%q: want [schema.]table[:owner_column]", v)
	}
	*o = append(*o, pgstore.OwnerTable{Schema: schema, Name: table, Column: column})
	return nil
}
