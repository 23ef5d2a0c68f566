package docs

import (
	"fmt"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// readmeMaxLines is the README's budget: a front door, the depth in docs/.
const readmeMaxLines = 300

// TestRelativeLinksResolve ensures every relative link of README.md and of
// the Markdown pages under docs/ points at a file of the repository and,
// with a fragment, at a heading of that file.
func TestRelativeLinksResolve(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	pages, err := markdownPages(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) < 2 {
		t.Fatalf("found %d Markdown pages under %s, want README.md and docs/*.md", len(pages), root)
	}
	checked := 0
	for _, page := range pages {
		for _, problem := range brokenLinks(root, page) {
			t.Error(problem)
		}
		checked++
	}
	t.Logf("checked the links of %d pages", checked)
}

// TestReadmeIsAFrontDoor ensures the README stays within its budget.
func TestReadmeIsAFrontDoor(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > readmeMaxLines {
		t.Errorf("README.md has %d lines, want at most %d: move the depth into docs/", n, readmeMaxLines)
	}
}

// TestBrokenLinksAreFound ensures the checker itself fails on what it must:
// a missing file, a missing heading, a link out of the repository, and a
// fragment into a file that has no headings.
func TestBrokenLinksAreFound(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("code.go", "package x\n")
	write("docs/b.md", "# B page\n\n## The `--api-addr` flag\n\n## Overload: admission control\n\n## Overload: admission control\n\nSetext one\n---\n")
	write("docs/a.md", "# A\n\n"+
		"[ok](b.md#the---api-addr-flag) [ok2](b.md#overload-admission-control-1) [ok3](#a) [ok4](b.md#setext-one)\n"+
		"[ok5](../code.go) [ok6](../code.go#L1) [web](https://example.com/x.md#nope) ![img](b.md)\n"+
		"`[in code](missing.md)`\n\n```\n[in a fence](missing.md)\n```\n\n"+
		"[gone](missing.md) [nohead](b.md#nope) [self](#nope) [out](../../outside.md) [frag](../code.go#main)\n"+
		"[ref]: c.md\n")
	got := brokenLinks(root, filepath.Join(root, "docs", "a.md"))
	want := []string{"missing.md", "b.md#nope", "#nope", "../../outside.md", "../code.go#main", "c.md"}
	if len(got) != len(want) {
		t.Fatalf("found %d broken links, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(got[i], "("+w+")") {
			t.Errorf("problem %d = %q, want one about %s", i, got[i], w)
		}
	}
}

// TestSlugsAreGitHubs ensures headings become the anchors GitHub gives
// them.
func TestSlugsAreGitHubs(t *testing.T) {
	for heading, want := range map[string]string{
		"Overload: admission control":            "overload-admission-control",
		"Guarantees, and their limits":           "guarantees-and-their-limits",
		"The `--api-request-timeout` flag":       "the---api-request-timeout-flag",
		"`history export`":                       "history-export",
		"Replay tests and safe workflow changes": "replay-tests-and-safe-workflow-changes",
		"Data ownership & idempotency":           "data-ownership--idempotency",
		"**Bold** and _emphasis_ in `a_b`":       "bold-and-emphasis-in-a_b",
		"A [link](x.md) in it":                   "a-link-in-it",
		"The Web UI as the saga console":         "the-web-ui-as-the-saga-console",
		"Écoute, 2× faster":                      "écoute-2-faster",
	} {
		if got := slug(heading); got != want {
			t.Errorf("slug(%q) = %q, want %q", heading, got, want)
		}
	}
}

// markdownPages returns README.md and every .md file under docs/.
func markdownPages(root string) ([]string, error) {
	pages := []string{filepath.Join(root, "README.md")}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			pages = append(pages, p)
		}
		return err
	})
	return pages, err
}

var (
	fence      = regexp.MustCompile("^ {0,3}(```|~~~)")
	codeSpan   = regexp.MustCompile("``[^`](?:.*?[^`])?``|`[^`]+`")
	comment    = regexp.MustCompile(`(?s)<!--.*?-->`)
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^()\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refDef     = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	hrefAttr   = regexp.MustCompile(`(?i)\b(?:href|src)="([^"]+)"`)
	scheme     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	lineAnchor = regexp.MustCompile(`^L\d+(-L\d+)?$`)
)

// brokenLinks returns one line per relative link of page that does not
// resolve, in the order they appear.
func brokenLinks(root, page string) []string {
	b, err := os.ReadFile(page)
	if err != nil {
		return []string{err.Error()}
	}
	rel, _ := filepath.Rel(root, page)
	var out []string
	for _, target := range links(string(b)) {
		if problem := checkLink(root, page, target); problem != "" {
			out = append(out, fmt.Sprintf("%s: link (%s): %s", rel, target, problem))
		}
	}
	return out
}

// links returns the link targets of a Markdown text, outside code.
func links(text string) []string {
	text = comment.ReplaceAllString(proseOnly(text), "")
	text = codeSpan.ReplaceAllString(text, "")
	var out []string
	for _, re := range []*regexp.Regexp{inlineLink, hrefAttr, refDef} {
		for _, m := range re.FindAllStringSubmatchIndex(text, -1) {
			out = append(out, text[m[2]:m[3]])
		}
	}
	return out
}

// proseOnly blanks the lines of fenced code blocks.
func proseOnly(text string) string {
	lines := strings.Split(text, "\n")
	var open string
	for i, l := range lines {
		m := fence.FindStringSubmatch(l)
		switch {
		case open == "" && m != nil:
			open = m[1]
			lines[i] = ""
		case open != "":
			if m != nil && m[1] == open {
				open = ""
			}
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// checkLink says what is wrong with target, a link of page; "" if nothing
// is, or if it is not relative.
func checkLink(root, page, target string) string {
	if scheme.MatchString(target) || strings.HasPrefix(target, "//") {
		return ""
	}
	path, frag, _ := strings.Cut(target, "#")
	p, err := url.PathUnescape(path)
	if err != nil {
		return err.Error()
	}
	dest := page
	if p != "" {
		dest = filepath.Join(filepath.Dir(page), filepath.FromSlash(p))
	}
	if r, err := filepath.Rel(root, dest); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "points out of the repository"
	}
	info, err := os.Stat(dest)
	if err != nil {
		return "no such file"
	}
	if frag == "" {
		return ""
	}
	if info.IsDir() || !strings.HasSuffix(dest, ".md") {
		if !info.IsDir() && lineAnchor.MatchString(frag) {
			return ""
		}
		return "a fragment into a file that is not Markdown"
	}
	b, err := os.ReadFile(dest)
	if err != nil {
		return err.Error()
	}
	frag, _ = url.PathUnescape(frag)
	if !anchors(string(b))[strings.ToLower(frag)] {
		return "no heading with that anchor"
	}
	return ""
}

var (
	atxHeading    = regexp.MustCompile(`^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$`)
	setextLine    = regexp.MustCompile(`^ {0,3}(?:=+|-+)\s*$`)
	explicitIDRef = regexp.MustCompile(`(?i)<a\s+(?:name|id)="([^"]+)"`)
)

// anchors returns the anchors GitHub makes of a Markdown text: one per
// heading (duplicates numbered -1, -2, ...) and each <a name|id>.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	add := func(heading string) {
		s := slug(heading)
		if n := seen[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	lines := strings.Split(proseOnly(text), "\n")
	for i, l := range lines {
		if m := atxHeading.FindStringSubmatch(l); m != nil {
			add(m[1])
			continue
		}
		if i > 0 && setextLine.MatchString(l) && isParagraphLine(lines[i-1]) {
			add(lines[i-1])
		}
	}
	for _, m := range explicitIDRef.FindAllStringSubmatch(text, -1) {
		out[strings.ToLower(m[1])] = true
	}
	return out
}

// isParagraphLine reports whether l may be the text of a setext heading.
func isParagraphLine(l string) bool {
	t := strings.TrimSpace(l)
	return t != "" && !strings.HasPrefix(t, "|") && !strings.HasPrefix(t, "- ") && !strings.HasPrefix(t, "* ") &&
		!atxHeading.MatchString(l) && !setextLine.MatchString(l)
}

var (
	linkText = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTag  = regexp.MustCompile(`<[^>]+>`)
	emphasis = regexp.MustCompile(`(^|[^\p{L}\p{N}])_+|_+($|[^\p{L}\p{N}])`)
)

// slug is GitHub's anchor of a heading: its rendered text, lower-cased,
// without punctuation but '-' and '_', spaces made '-'.
func slug(heading string) string {
	heading = linkText.ReplaceAllString(heading, "$1")
	// Code spans keep their text as written; outside them, emphasis marks
	// and HTML tags are not rendered.
	var b strings.Builder
	parts := strings.Split(heading, "`")
	for i, part := range parts {
		if i%2 == 0 {
			part = htmlTag.ReplaceAllString(part, "")
			part = strings.ReplaceAll(part, "*", "")
			part = emphasis.ReplaceAllString(part, "$1$2")
		}
		b.WriteString(part)
	}
	text := strings.ToLower(html.UnescapeString(strings.TrimSpace(b.String())))
	var s strings.Builder
	for _, r := range text {
		switch {
		case r == ' ':
			s.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r):
			s.WriteRune(r)
		}
	}
	return s.String()
}
