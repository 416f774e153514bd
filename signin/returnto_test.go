package signin

import (
	"net/url"
	"strings"
	"testing"
)

// browserResolve resolves a Location value against https://shop.example/
// as a browser does: tab and newline characters are dropped and a
// backslash counts as a slash (WHATWG URL Standard, special schemes).
func browserResolve(loc string) (*url.URL, error) {
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	base, _ := url.Parse("https://shop.example/start")
	ref, err := url.Parse(loc)
	if err != nil {
		return nil, err
	}
	return base.ResolveReference(ref), nil
}

// FuzzReturnTo: a return path WithReturnTo accepts never leaves the app's
// host, however a browser reads it; a refused one is an error, not a panic.
func FuzzReturnTo(f *testing.F) {
	for _, s := range []string{"/cart", "/", "//evil.example", `/\evil.example`, "/\t/evil.example", "https://evil.example",
		"/.//evil.example", "/%2F%2Fevil.example", "evil", "", "/a?b=//c#d", "/\x00", "/ /evil.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		var ap authParams
		WithReturnTo(p)(&ap)
		if len(ap.errs) > 0 {
			if ap.returnTo != "" {
				t.Fatalf("refused %q but kept it", p)
			}
			return
		}
		u, err := browserResolve(p)
		if err != nil {
			return // the browser cannot follow it either
		}
		if u.Scheme != "https" || u.Host != "shop.example" {
			t.Fatalf("return path %q leads to %s", p, u)
		}
	})
}
