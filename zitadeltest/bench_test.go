package zitadeltest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shadowaccounts/shadow/zitadeltest"
)

// BenchmarkListUsersGuestPage measures one ListUsers page of 100 over
// HTTP (Connect) with 100,000 stored users, 99% of them guests, filtered
// by metadataKeyFilter STARTS_WITH "GUEST_" and sorted by creation date,
// as the SDK's sweep asks for it. The users are seeded with AddHumanUser,
// not over HTTP. Results and commands are in BENCHMARKS.md.
func BenchmarkListUsersGuestPage(b *testing.B) {
	const users = 100_000
	s := zitadeltest.Start(b, zitadeltest.WithClock(func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }))
	for i := range users {
		h := zitadeltest.NewHuman{GivenName: "Guest", FamilyName: "User", Email: fmt.Sprintf("guest-%06d@guests.invalid", i)}
		if i%100 == 0 {
			h.GivenName, h.Email = "Registered", fmt.Sprintf("user-%06d@example.com", i)
		} else {
			h.Metadata = map[string][]byte{"GUEST_CREATED_AT": []byte("2025-01-01T00:00:00Z")}
		}
		if _, err := s.AddHumanUser(h); err != nil {
			b.Fatal(err)
		}
		s.Advance(time.Second)
	}
	hc := s.Client()
	pat := s.ServiceAccount().PAT
	for _, bc := range []struct{ name, query string }{
		{"FirstPage", `{"limit":100,"asc":true}`},
		{"Offset50000", `{"offset":"50000","limit":100,"asc":true}`},
	} {
		body := `{"query":` + bc.query + `,"sortingColumn":"USER_FIELD_NAME_CREATION_DATE",` +
			`"queries":[{"metadataKeyFilter":{"key":"GUEST_","method":"TEXT_FILTER_METHOD_STARTS_WITH"}}]}`
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, s.URL+"/zitadel.user.v2.UserService/ListUsers", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+pat)
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				page, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `"totalResult":"99000"`) {
					b.Fatalf("ListUsers: %d %.300s", resp.StatusCode, page)
				}
			}
		})
	}
}
