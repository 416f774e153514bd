package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

type config struct {
	issuer, orgID, clientID, pat, dsn string
	client                            *http.Client
}

// configFromEnv reads ZITADEL_ISSUER, ZITADEL_ORG_ID, ZITADEL_CLIENT_ID,
// ZITADEL_PAT (all required) and SHADOW_POSTGRES_DSN (optional).
func configFromEnv(getenv func(string) string) (config, error) {
	c := config{issuer: getenv("ZITADEL_ISSUER"), orgID: getenv("ZITADEL_ORG_ID"),
		clientID: getenv("ZITADEL_CLIENT_ID"), pat: getenv("ZITADEL_PAT"), dsn: getenv("SHADOW_POSTGRES_DSN"),
		client: &http.Client{Timeout: 30 * time.Second}}
	var missing []string
	for name, v := range map[string]string{"ZITADEL_ISSUER": c.issuer, "ZITADEL_ORG_ID": c.orgID,
		"ZITADEL_CLIENT_ID": c.clientID, "ZITADEL_PAT": c.pat} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("set %s", strings.Join(missing, ", "))
	}
	return c, nil
}
