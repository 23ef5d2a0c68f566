//go:build !slim

package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// configurationDoc is the generated configuration reference, relative to
// this package's directory.
var configurationDoc = filepath.Join("..", "..", "docs", "configuration.md")

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/configuration.md from the CLI's model")

// TestConfigurationDocIsUpToDate ensures docs/configuration.md is what the
// CLI's kong model generates, so the reference cannot drift from the flags.
// `go tool -modfile=tools/go.mod task docs` (this test with -update-docs)
// rewrites it.
func TestConfigurationDocIsUpToDate(t *testing.T) {
	got, err := configurationMarkdown()
	if err != nil {
		t.Fatal(err)
	}
	if *updateDocs {
		if err := os.WriteFile(configurationDoc, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(configurationDoc)
	if err != nil {
		t.Fatalf("%v: run `go tool -modfile=tools/go.mod task docs`", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("docs/configuration.md is not what the CLI's model generates: run `go tool -modfile=tools/go.mod task docs` "+
			"and commit the result (first difference at line %d)", firstDifferentLine(got, want))
	}
}

// TestConfigurationDocListsEveryFlag ensures the generator leaves out no
// visible command or flag of the model, and writes each with its variable.
func TestConfigurationDocListsEveryFlag(t *testing.T) {
	doc, err := configurationMarkdown()
	if err != nil {
		t.Fatal(err)
	}
	k, err := docParser()
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	visibleCommands(k.Model.Node, func(n *kong.Node) {
		if n.Type == kong.CommandNode && !strings.Contains(text, "\n## `"+n.Path()+"`\n") {
			t.Errorf("command %q has no section", n.Path())
		}
		for _, f := range n.Flags {
			if f.Hidden {
				continue
			}
			if !strings.Contains(text, "`--"+f.Name+"`") && !strings.Contains(text, "`--[no-]"+f.Name+"`") {
				t.Errorf("%s: flag --%s is missing", n.Path(), f.Name)
			}
			for _, env := range f.Envs {
				if !strings.Contains(text, "`"+env+"`") {
					t.Errorf("%s: variable %s of --%s is missing", n.Path(), env, f.Name)
				}
			}
		}
	})
	for _, want := range []string{"`--log-level`", "`LOG_LEVEL`", "`info`", "## `worker`", "## `api`"} {
		if !strings.Contains(text, want) {
			t.Errorf("the reference lacks %s", want)
		}
	}
}

// foreignFlags are the flags the docs name of other programs: the Temporal
// CLI, Chromium, git, npm, Docker Compose, kubectl, Helm and cmd/faultsuite.
var foreignFlags = map[string]bool{
	"codec-endpoint": true, "codec-auth": true, "name": true, "input": true, "event-id": true, "reason": true,
	"type": true, "output": true, "dump-dom": true, "name-only": true, "prefix": true, "build": true, "outage": true,
	"build-arg": true, "short": true, "retention": true, "scale": true, "replicas": true,
	"from-file": true, "from-literal": true, "install": true, "set": true, "reuse-values": true, "strict": true,
}

var docFlag = regexp.MustCompile(`(?:^|[^\w-])--([a-z][a-z0-9-]*)`)

// TestDocsNameExistingFlags ensures every flag README.md and docs/ name is
// one of the CLI's (or of another program the docs show), so a renamed
// flag cannot linger in the prose.
func TestDocsNameExistingFlags(t *testing.T) {
	k, err := docParser()
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{}
	visibleCommands(k.Model.Node, func(n *kong.Node) {
		for _, f := range n.Flags {
			flags[f.Name] = true
			flags["no-"+f.Name] = true
		}
	})
	pages, _ := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	pages = append(pages, filepath.Join("..", "..", "README.md"))
	for _, page := range pages {
		if page == configurationDoc {
			continue
		}
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range docFlag.FindAllStringSubmatch(line, -1) {
				// A name ending in "-" is a family (`--temporal-*`).
				if !flags[m[1]] && !foreignFlags[m[1]] && !strings.HasSuffix(m[1], "-") {
					t.Errorf("%s:%d names --%s, which no command has", filepath.Base(page), i+1, m[1])
				}
			}
		}
	}
}

// docParser builds the CLI's model as `ordersaga` parses it. Options that
// only act while parsing (writers, exit, resolvers) do not change the model.
func docParser() (*kong.Kong, error) {
	return kong.New(&CLI{}, kong.Name("ordersaga"),
		kong.Description("A durable saga orchestrator for order fulfillment, on Temporal."))
}

// visibleCommands calls fn for n and each command under it that --help
// shows, parents before children, in the model's order.
func visibleCommands(n *kong.Node, fn func(*kong.Node)) {
	if n.Hidden {
		return
	}
	fn(n)
	for _, c := range n.Children {
		if c.Type == kong.CommandNode {
			visibleCommands(c, fn)
		}
	}
}

// configurationMarkdown renders the reference: every command (its help,
// usage and arguments) and every flag it takes (its variables, default and
// help), from the model.
func configurationMarkdown() ([]byte, error) {
	k, err := docParser()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(configurationHeader)
	root := k.Model.Node
	b.WriteString("\n## Commands\n\n| command | what it does |\n|---|---|\n")
	visibleCommands(root, func(n *kong.Node) {
		if n.Type == kong.CommandNode && n.Leaf() {
			fmt.Fprintf(&b, "| [`%s`](#%s) | %s |\n", n.Path(), slug(n.Path()), cell(n.Help))
		}
	})
	b.WriteString("\n## Every command\n\nThese flags go before or after the command's name.\n\n")
	writeFlags(&b, root.Flags)
	visibleCommands(root, func(n *kong.Node) {
		if n.Type != kong.CommandNode {
			return
		}
		fmt.Fprintf(&b, "\n## `%s`\n\n%s\n\n", n.Path(), text(n.Help))
		if n.Detail != "" {
			fmt.Fprintf(&b, "%s\n\n", text(n.Detail))
		}
		if !n.Leaf() {
			b.WriteString("Its commands are below.\n")
			return
		}
		fmt.Fprintf(&b, "`ordersaga %s`\n", n.Summary())
		writeArgs(&b, n.Positional)
		if own := visibleFlags(n.Flags); len(own) > 0 {
			b.WriteString("\n")
			writeFlags(&b, own)
		}
	})
	return b.Bytes(), nil
}

const configurationHeader = `# Configuration reference

<!-- Generated from the CLI's kong model (cmd/ordersaga/docgen_test.go) by
` + "`go tool -modfile=tools/go.mod task docs`" + `: do not edit by hand.
TestConfigurationDocIsUpToDate fails while this file is not what the model generates. -->

Every setting of every command: its flag, the environment variable that
sets it when the flag is not given, its default and what it does.
` + "`ordersaga --help` and `ordersaga <command> --help`" + ` print the same.
A flag beats its variable. Durations are Go durations (` + "`500ms`, `30s`, `24h`" + `).
A variable marked ` + "`_FILE`" + ` may instead name a file holding the value
(a mounted secret).

Where the flags matter: [the saga's options](architecture.md#the-saga),
[the timeouts of every HTTP listener](reliability.md#timeouts-of-every-listener),
[overload and admission control](reliability.md#overload-admission-control),
[authorization](access.md#authorization), [payload encryption](access.md#sensitive-data-off-the-history)
and [tracing, which only the ` + "`OTEL_*`" + ` variables configure](observability.md#one-trace-per-order).
`

// visibleFlags drops the flags --help hides.
func visibleFlags(flags []*kong.Flag) []*kong.Flag {
	var out []*kong.Flag
	for _, f := range flags {
		if !f.Hidden {
			out = append(out, f)
		}
	}
	return out
}

func writeFlags(b *bytes.Buffer, flags []*kong.Flag) {
	b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
	for _, f := range visibleFlags(flags) {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", flagName(f), envs(f), defaultOf(f.Value), cell(f.Help))
	}
}

func writeArgs(b *bytes.Buffer, args []*kong.Positional) {
	if len(args) == 0 {
		return
	}
	b.WriteString("\n| argument | default | meaning |\n|---|---|---|\n")
	for _, a := range args {
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", a.Summary(), defaultOf(a), cell(a.Help))
	}
}

// flagName writes a flag as --help does: its short form, and [no-] when
// it is negatable.
func flagName(f *kong.Flag) string {
	name := "--" + f.Name
	switch {
	case f.IsBool() && f.Tag.Negatable == "_":
		name = "--[no-]" + f.Name
	case f.IsBool() && f.Tag.Negatable != "":
		name += "/--" + f.Tag.Negatable
	}
	out := "`" + name + "`"
	if f.Short != 0 {
		out = fmt.Sprintf("`-%c`, %s", f.Short, out)
	}
	return out
}

// envs lists a flag's variables; a flag tagged secret is also read from
// the file its variable's _FILE variant names.
func envs(f *kong.Flag) string {
	var out []string
	for _, e := range f.Envs {
		out = append(out, "`"+e+"`")
		if f.Tag.Has("secret") {
			out = append(out, "`"+e+"_FILE`")
		}
	}
	return strings.Join(out, ", ")
}

func defaultOf(v *kong.Value) string {
	if !v.HasDefault || v.Default == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(v.Default, "|", `\|`) + "`"
}

// text makes help text safe in Markdown: a '<' would open an HTML tag, a
// '*' emphasis.
func text(s string) string {
	return strings.NewReplacer("<", "&lt;", "*", `\*`).Replace(strings.TrimSpace(s))
}

// cell makes help text safe in a table cell: one line, no bare '|'.
func cell(s string) string {
	s = strings.Join(strings.Fields(text(s)), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// slug is GitHub's anchor of a heading holding only s in backticks.
func slug(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), " ", "-")
}

func firstDifferentLine(a, b []byte) int {
	al, bl := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(al), len(bl)) {
		if !bytes.Equal(al[i], bl[i]) {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}
