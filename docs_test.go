package shadow_test

import (
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

// The repository documents itself: code comments cite docs/zitadel.md by
// section and docs/architecture.md by invariant, and the Markdown files
// link to each other. These tests keep every such reference pointing at
// something that exists, and keep references to files outside the
// repository out.

// repoFiles returns the text files of the repository (this package's
// directory is its root), keyed by slash-separated path.
func repoFiles(t *testing.T) map[string]string {
	t.Helper()
	exts := []string{".go", ".md", ".mod", ".html", ".css", ".js", ".sh", ".sql", ".yaml", ".yml", ".txt", ".tmpl"}
	files := map[string]string{}
	root := os.DirFS(".")
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") && d.Name() != ".ci" || d.Name() == "testdata" || d.Name() == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		if !slices.Contains(exts, path.Ext(p)) && path.Dir(p) != ".ci" {
			return nil
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		files[p] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// joinComments turns Go comment blocks into running text, so that a
// citation broken across two comment lines reads as one.
var commentBreak = regexp.MustCompile(`\n[ \t]*//[ \t]*`)

func joinComments(s string) string { return commentBreak.ReplaceAllString(s, " ") }

// headingSlug is the anchor GitHub gives a Markdown heading.
func headingSlug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

var headingLine = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)

// anchors lists the heading anchors of a Markdown text.
func anchors(md string) map[string]bool {
	a := map[string]bool{}
	for _, m := range headingLine.FindAllStringSubmatch(stripFences(md), -1) {
		a[headingSlug(m[1])] = true
	}
	return a
}

// stripFences blanks fenced code blocks, whose lines are no headings or links.
func stripFences(md string) string {
	lines := strings.Split(md, "\n")
	in := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			in = !in
			lines[i] = ""
			continue
		}
		if in {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

var (
	zitadelSection = regexp.MustCompile(`(?m)^#{2,3} (\d+(?:\.\d+)?)\.? `)
	zitadelCite    = regexp.MustCompile(`docs/zitadel\.md((?:[\s,;–-]*(?:and\s+)?§\d+(?:\.\d+)?)*)`)
	sectionNumber  = regexp.MustCompile(`§(\d+(?:\.\d+)?)`)
	invariantDef   = regexp.MustCompile(`(?m)^\*\*(\d+)\. `)
	invariantCite  = regexp.MustCompile(`docs/architecture\.md\s+invariants?\s+(\d+)`)
)

func TestDocsCitationsExist(t *testing.T) {
	t.Parallel()
	files := repoFiles(t)
	zmd, amd := files["docs/zitadel.md"], files["docs/architecture.md"]
	if zmd == "" || amd == "" {
		t.Fatal("docs/zitadel.md or docs/architecture.md is missing or empty")
	}
	sections := map[string]bool{}
	for _, m := range zitadelSection.FindAllStringSubmatch(stripFences(zmd), -1) {
		sections[m[1]] = true
	}
	invariants := map[string]bool{}
	for _, m := range invariantDef.FindAllStringSubmatch(amd, -1) {
		invariants[m[1]] = true
	}
	cited := 0
	for p, text := range files {
		if !strings.HasSuffix(p, ".go") {
			continue
		}
		text = joinComments(text)
		for _, m := range zitadelCite.FindAllStringSubmatch(text, -1) {
			for _, n := range sectionNumber.FindAllStringSubmatch(m[1], -1) {
				cited++
				if !sections[n[1]] {
					t.Errorf("%s cites docs/zitadel.md §%s, which has no such section", p, n[1])
				}
			}
		}
		for _, m := range invariantCite.FindAllStringSubmatch(text, -1) {
			cited++
			if !invariants[m[1]] {
				t.Errorf("%s cites docs/architecture.md invariant %s, which does not exist", p, m[1])
			}
		}
	}
	if cited == 0 {
		t.Error("found no citation of docs/ in the code: the patterns no longer match")
	}
}

// TestDocsSectionsComplete: docs/zitadel.md keeps the numbering code
// comments rely on, §0 to §11, and the invariants are numbered 1 to 8 or
// more without gaps.
func TestDocsSectionsComplete(t *testing.T) {
	t.Parallel()
	files := repoFiles(t)
	var top []string
	for _, m := range zitadelSection.FindAllStringSubmatch(stripFences(files["docs/zitadel.md"]), -1) {
		if !strings.Contains(m[1], ".") {
			top = append(top, m[1])
		}
	}
	want := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}
	if diff := cmp.Diff(want, top); diff != "" {
		t.Errorf("top-level sections of docs/zitadel.md (-want +got):\n%s", diff)
	}
	var inv []string
	for _, m := range invariantDef.FindAllStringSubmatch(files["docs/architecture.md"], -1) {
		inv = append(inv, m[1])
	}
	if len(inv) < 8 {
		t.Fatalf("docs/architecture.md numbers %d invariants, want at least 8", len(inv))
	}
	for i, n := range inv {
		if want := strconv.Itoa(i + 1); n != want {
			t.Errorf("invariant %d is numbered %s", i+1, n)
		}
	}
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocsLinksResolve: every relative link in the repository's Markdown
// names an existing file, and every #anchor a heading of its target.
func TestDocsLinksResolve(t *testing.T) {
	t.Parallel()
	files := repoFiles(t)
	for p, text := range files {
		if !strings.HasSuffix(p, ".md") {
			continue
		}
		for _, m := range mdLink.FindAllStringSubmatch(stripFences(text), -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			target, anchor, _ := strings.Cut(link, "#")
			if target == "" {
				target = p
			} else {
				target = path.Join(path.Dir(p), target)
			}
			body, ok := files[target]
			if !ok {
				if _, err := os.Stat(target); err != nil {
					t.Errorf("%s links to %s, which does not exist", p, link)
				}
				continue
			}
			if anchor != "" && strings.HasSuffix(target, ".md") && !anchors(body)[anchor] {
				t.Errorf("%s links to %s: %s has no heading #%s", p, link, target, anchor)
			}
		}
	}
}

// TestNoReferencesOutsideTheRepository: no file points readers at design
// notes that only exist outside the repository.
func TestNoReferencesOutsideTheRepository(t *testing.T) {
	t.Parallel()
	// Assembled at run time so that this file does not match itself.
	banned := []string{"DESIGN" + ".md", "zitadel-" + "wire.md", "STYLE" + ".md", "../" + "shared"}
	for p, text := range repoFiles(t) {
		for _, b := range banned {
			if strings.Contains(text, b) {
				t.Errorf("%s mentions %s, which is not part of the repository", p, b)
			}
		}
	}
}
