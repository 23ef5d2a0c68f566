//go:build !slim

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/stretchr/testify/require"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/configuration.md from the command-line model")

// TestConfigurationDocIsUpToDate: docs/configuration.md is what the
// command-line model says; `task docs` (this test with -update) rewrites it.
func TestConfigurationDocIsUpToDate(t *testing.T) {
	var cli CLI
	parser, _, err := newParser(&cli, io.Discard, io.Discard)
	require.NoError(t, err)
	doc := configurationDoc(parser.Model)
	path := filepath.Join("..", "..", "docs", "configuration.md")
	if *updateDocs {
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
	}
	have, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, doc, string(have), "docs/configuration.md is stale: run `go tool -modfile=tools/go.mod task docs`")
}

// configurationDoc renders every command's flags as Markdown tables.
func configurationDoc(app *kong.Application) string {
	var b strings.Builder
	b.WriteString(`# Configuration

<!-- Generated from the command-line model by ` + "`go tool -modfile=tools/go.mod task docs`" + `; do not edit. -->

Every setting is a flag, most also an environment variable, and any may
come from the YAML file given by ` + "`--config`" + ` (keys are flag names; at the
top level for every command that takes them, or under a command's name for
that command alone; see [deploy/ordersaga.example.yaml](../deploy/ordersaga.example.yaml)).
Flags beat the environment, which beats the file. ` + "`ordersaga config <command>`" + `
prints a command's effective configuration, secrets redacted.

- **secret**: also read from the file named by the variable with ` + "`_FILE`" + `
  appended (one trailing newline trimmed; both set is an error); redacted
  by ` + "`ordersaga config`" + `; never logged.
- **scoped**: refused, rather than ignored, when set in the environment or
  at the file's top level for a role that does not read it.

The Temporal connection also reads a Temporal CLI profile and the
` + "`TEMPORAL_*`" + ` variables (TLS, API key): see [production.md](production.md#2-temporal).

`)
	b.WriteString("## Every command\n\n")
	writeFlags(&b, app.Node.Flags)
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, c := range n.Children {
			if c.Type != kong.CommandNode || c.Hidden {
				continue
			}
			fmt.Fprintf(&b, "## ordersaga %s\n\n%s\n\n", strings.Join(commandPath(c), " "), c.Help)
			if len(c.Flags) > 0 {
				writeFlags(&b, c.Flags)
			}
			walk(c)
		}
	}
	walk(app.Node)
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func writeFlags(b *strings.Builder, flags []*kong.Flag) {
	b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
	for _, f := range flags {
		if f.Name == "help" || f.Hidden {
			continue
		}
		var env []string
		for _, e := range f.Tag.Envs {
			env = append(env, "`"+e+"`")
		}
		meaning := f.Help
		if f.Tag.Has("secret") {
			meaning = "**secret** " + meaning
		}
		if f.Tag.Has("scoped") {
			meaning = "**scoped** " + meaning
		}
		def := ""
		if f.Default != "" {
			def = "`" + f.Default + "`"
		}
		fmt.Fprintf(b, "| `--%s` | %s | %s | %s |\n", f.Name, strings.Join(env, ", "), cell(def), cell(meaning))
	}
	b.WriteString("\n")
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
