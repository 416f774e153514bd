package main

import (
	"fmt"
	"strings"
)

type config struct {
	issuer, orgID, clientID, pat, dsn string
}

// configFromEnv reads ZITADEL_ISSUER, ZITADEL_ORG_ID, ZITADEL_CLIENT_ID,
// ZITADEL_PAT (all required) and SHADOW_POSTGRES_DSN (optional).
func configFromEnv(getenv func(string) string) (config, error) {
	c := config{issuer: getenv("ZITADEL_ISSUER"), orgID: getenv("ZITADEL_ORG_ID"),
		clientID: getenv("ZITADEL_CLIENT_ID"), pat: getenv("ZITADEL_PAT"), dsn: getenv("SHADOW_POSTGRES_DSN")}
	var missing []string
	for _, name := range []string{"ZITADEL_ISSUER", "ZITADEL_ORG_ID", "ZITADEL_CLIENT_ID", "ZITADEL_PAT"} {
		if getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("set %s", strings.Join(missing, ", "))
	}
	return c, nil
}
