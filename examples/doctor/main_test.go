package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDoctorOnTheFake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		brk      string
		wantExit int
		wantFail string // the failing step; "" for none
	}{
		{"", 0, ""},
		{"issuer", 1, "discovery and issuer"},
		{"pat", 1, "service token accepted"},
		{"org", 1, "user manager role"},
		{"user-manager", 1, "user manager role"},
		{"impersonator", 1, "end-user impersonator role"},
		{"grant", 1, "application client and grant type"},
		{"impersonation", 1, "impersonation policy"},
		{"audience", 1, "project audience"},
		{"regression", 1, "known regressions"},
		{"old", 1, "ZITADEL version"},
	}
	for _, tc := range tests {
		t.Run("break="+tc.brk, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			args := []string{"-fake"}
			if tc.brk != "" {
				args = append(args, "-break", tc.brk)
			}
			if got := run(args, func(string) string { return "" }, &out, &errOut); got != tc.wantExit {
				t.Fatalf("exit %d, want %d\n%s%s", got, tc.wantExit, out.String(), errOut.String())
			}
			var fails []string
			for _, line := range strings.Split(out.String(), "\n") {
				if rest, ok := strings.CutPrefix(line, "FAIL    "); ok {
					fails = append(fails, strings.SplitN(rest, ":", 2)[0])
				}
			}
			var want []string
			if tc.wantFail != "" {
				want = []string{tc.wantFail}
			}
			if strings.Join(fails, "|") != strings.Join(want, "|") {
				t.Errorf("failing steps %q, want %q\n%s", fails, want, out.String())
			}
			if tc.wantFail != "" && !strings.Contains(out.String(), "fix: ") {
				t.Errorf("no fix printed:\n%s", out.String())
			}
			if !strings.Contains(out.String(), "check guest deleted") {
				t.Errorf("no cleanup line:\n%s", out.String())
			}
		})
	}
}

func TestDoctorConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"nothing set", nil, nil, "ZITADEL_ISSUER is not set; ZITADEL_ORG_ID is not set; ZITADEL_CLIENT_ID is not set; set ZITADEL_PAT or ZITADEL_KEY_FILE"},
		{"both credentials", nil, map[string]string{"ZITADEL_ISSUER": "https://x.zitadel.cloud", "ZITADEL_ORG_ID": "1",
			"ZITADEL_CLIENT_ID": "2", "ZITADEL_PAT": "p", "ZITADEL_KEY_FILE": "/k.json"}, "not both"},
		{"key file unreadable", nil, map[string]string{"ZITADEL_ISSUER": "https://x.zitadel.cloud", "ZITADEL_ORG_ID": "1",
			"ZITADEL_CLIENT_ID": "2", "ZITADEL_KEY_FILE": "/nonexistent/k.json"}, "ZITADEL_KEY_FILE"},
		{"break without fake", []string{"-break", "pat"}, nil, "-break needs -fake"},
		{"unknown breakage", []string{"-fake", "-break", "nope"}, nil, `-break "nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			if got := run(tc.args, func(k string) string { return tc.env[k] }, &out, &errOut); got != 2 {
				t.Fatalf("exit %d, want 2\n%s", got, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tc.wantErr)
			}
		})
	}
}
