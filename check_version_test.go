package shadow

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want [3]int
		ok   bool
	}{
		{"v4.15.3", [3]int{4, 15, 3}, true},
		{"4.1.0", [3]int{4, 1, 0}, true},
		{"v4.16.0-rc.1", [3]int{4, 16, 0}, true},
		{"v4.13.1+build.7", [3]int{4, 13, 1}, true},
		{"v4.15", [3]int{}, false},
		{"main", [3]int{}, false},
		{"v4.-1.0", [3]int{}, false},
		{"", [3]int{}, false},
	} {
		got, ok := parseVersion(c.in)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("parseVersion(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if !less([3]int{4, 15, 2}, regressionVersion) || less(regressionVersion, regressionVersion) || less([3]int{5, 0, 0}, regressionVersion) {
		t.Error("less orders releases wrongly")
	}
}

// FuzzParseVersion: any version string ZITADEL reports parses or is
// refused, never panics, and a parsed one prints back to its numbers.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"v4.15.3", "4.1.0", "v4.16.0-rc.1", "v1", "", "v..", "v4.15.3.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseVersion(s)
		if !ok {
			return
		}
		core := strings.TrimPrefix(s, "v")
		if i := strings.IndexAny(core, "-+"); i >= 0 {
			core = core[:i]
		}
		for i, p := range strings.Split(core, ".") {
			if x, err := strconv.Atoi(p); err != nil || x != n[i] {
				t.Fatalf("parseVersion(%q) = %v: part %d is %q", s, n, i, p)
			}
		}
	})
}
