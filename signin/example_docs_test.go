package signin_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/signin"
)

// The sign-in with merge of docs/signin.md, compiled: the lines between
// the markers are the document's code block (TestDocsSnippetCompiles).
func Example_signInWithMerge() {
	var (
		ctx         = context.Background()
		mgr         *shadow.Manager // shadow.New(...) with WithCartStore and WithSessionKeys
		mux         = http.NewServeMux()
		issuer      = "https://my-instance.zitadel.cloud" // exactly as discovery states it
		clientID    = "<the OIDC application's client id>"
		stateSecret = []byte("<32 or more random bytes; may be the session key>")
	)
	// docs/signin.md begins
	flow, err := signin.New(ctx, signin.Config{
		Issuer: issuer, ClientID: clientID, RedirectURL: "https://shop.example/callback",
		Secrets: [][]byte{stateSecret}, Manager: mgr, // mgr merges the guest that started the sign-in
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) { flow.Start(w, r) })
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		res, err := flow.Callback(w, r)
		switch {
		case signin.IsBadRequest(err):
			http.Error(w, "Please sign in again.", http.StatusBadRequest)
		case err != nil:
			http.Error(w, "Sign-in failed; please try again.", http.StatusBadGateway)
		default:
			signInToApp(w, res.User) // your session: res.User.ID, .Email, .IDToken
			if res.Merge.Status == signin.MergeDeferred {
				flash(w, "We'll move your cart at your next sign-in.")
			}
			http.Redirect(w, r, "/", http.StatusSeeOther)
		}
	})
	// docs/signin.md ends
}

// signInToApp and flash stand for the app's own session and messages.
func signInToApp(http.ResponseWriter, *signin.User) {}
func flash(http.ResponseWriter, string)             {}

var (
	docsBlock    = regexp.MustCompile("(?s)## Sign-in with merge.*?```go\n(.*?)```")
	exampleBlock = regexp.MustCompile("(?s)\t// docs/signin.md begins\n(.*?)\t// docs/signin.md ends\n")
)

// TestDocsSnippetCompiles: the sign-in with merge shown in docs/signin.md
// is Example_signInWithMerge's code, so it compiles as written.
func TestDocsSnippetCompiles(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/signin.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_docs_test.go")
	if err != nil {
		t.Fatal(err)
	}
	d, e := docsBlock.FindSubmatch(doc), exampleBlock.FindSubmatch(src)
	if d == nil || e == nil {
		t.Fatalf("code block found in docs/signin.md: %t, in the example: %t", d != nil, e != nil)
	}
	var lines []string
	for _, l := range strings.SplitAfter(string(e[1]), "\n") {
		lines = append(lines, strings.TrimPrefix(l, "\t"))
	}
	if diff := cmp.Diff(strings.Join(lines, ""), string(d[1])); diff != "" {
		t.Errorf("docs/signin.md's sign-in with merge differs from Example_signInWithMerge (-example +docs):\n%s", diff)
	}
}
