package zitadeltest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

func TestPasswordComplexitySettings(t *testing.T) {
	t.Parallel()
	setUp := time.Date(2026, 11, 21, 9, 30, 0, 123456000, time.UTC)
	s := Start(t, WithClock(func() time.Time { return setUp }))
	s.Advance(time.Hour) // the policy keeps its dates
	want := `{"details":{"sequence":"1","changeDate":"2026-11-21T09:30:00.123456Z","resourceOwner":"340000000000000000","creationDate":"2026-11-21T09:30:00.123456Z"},"settings":{"minLength":"8","requiresUppercase":true,"requiresLowercase":true,"requiresNumber":true,"requiresSymbol":true,"resourceOwnerType":"RESOURCE_OWNER_TYPE_INSTANCE"}}`
	for _, c := range []struct {
		method, path, body, auth string
		status                   int
		want                     string
	}{
		{http.MethodPost, zitadel.SettingsServicePath + "GetPasswordComplexitySettings", `{"ctx":{"orgId":"` + s.OrganizationID() + `"}}`, s.ServiceAccount().PAT, 200, want},
		{http.MethodGet, "/v2/settings/password/complexity", "", s.ServiceAccount().PAT, 200, want},
		{http.MethodPost, zitadel.SettingsServicePath + "GetPasswordComplexitySettings", `{}`, "", 401, `{"code":"unauthenticated"`},
		{http.MethodPost, zitadel.SettingsServicePath + "GetPasswordComplexitySettings", ``, s.ServiceAccount().PAT, 400, `{"code":"invalid_argument"`},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), c.method, s.URL+c.path, strings.NewReader(c.body))
		if c.method == http.MethodPost {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.auth != "" {
			req.Header.Set("Authorization", "Bearer "+c.auth)
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.HasPrefix(string(b), c.want) {
			t.Errorf("%s %s: %d %s; want %d %s", c.method, c.path, resp.StatusCode, b, c.status, c.want)
		}
		if c.status == 200 && !json.Valid(b) {
			t.Errorf("invalid JSON: %s", b)
		}
	}
	if n := s.Count(OpGetPasswordComplexitySettings); n != 4 {
		t.Errorf("Count = %d, want 4", n)
	}
}
