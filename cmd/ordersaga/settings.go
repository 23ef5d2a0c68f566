package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
	"go.yaml.in/yaml/v3"
)

// configFile is the --config file: YAML whose keys are flag names, at the
// top level (for every command that takes them) or in a section named
// after a command (`worker:`, `api:`, `history: {export: ...}`) for that
// command alone. It is kong's resolver of the file: a setting comes from
// the file only when no flag and no environment variable gives it.
type configFile struct {
	doc map[string]any
}

// load is kong's ConfigurationLoader for --config.
func (f *configFile) load(r io.Reader) (kong.Resolver, error) {
	doc := map[string]any{}
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config file: %w", err)
	}
	f.doc = doc
	return kong.ResolverFunc(f.resolve), nil
}

func (f *configFile) resolve(kctx *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
	if envSet(flag) {
		return nil, nil // the environment beats the file
	}
	if sec, ok := f.section(kctx.Selected()); ok {
		if v, ok := sec[flag.Name]; ok {
			return plain(v), nil
		}
	}
	if v, ok := f.doc[flag.Name]; ok && !isCommand(kctx.Model.Node, flag.Name) {
		return plain(v), nil
	}
	return nil, nil
}

// section returns the file's section of command n, if it has one.
func (f *configFile) section(n *kong.Node) (map[string]any, bool) {
	if n == nil || f.doc == nil {
		return nil, false
	}
	cur := f.doc
	for _, name := range commandPath(n) {
		next, ok := cur[name].(map[string]any)
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// commandPath is the names of n's commands from the root's child down.
func commandPath(n *kong.Node) []string {
	var names []string
	for ; n != nil && n.Parent != nil; n = n.Parent {
		names = append([]string{n.Name}, names...)
	}
	return names
}

func isCommand(n *kong.Node, name string) bool {
	for _, c := range n.Children {
		if c.Type == kong.CommandNode && c.Name == name {
			return true
		}
	}
	return false
}

// plain turns YAML scalars into the text kong parses as from the command
// line (so `10` is no duration of 10ns, but an error), keeping lists and
// maps.
func plain(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plain(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = plain(e)
		}
		return out
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// envSet reports whether an environment variable of flag, or its _FILE
// variant for a secret, is set.
func envSet(flag *kong.Flag) bool {
	for _, e := range flag.Tag.Envs {
		if _, ok := os.LookupEnv(e); ok {
			return true
		}
		if _, ok := os.LookupEnv(e + "_FILE"); ok && flag.Tag.Has("secret") {
			return true
		}
	}
	return false
}

// secretFiles is kong's resolver of secrets as files: a flag tagged secret
// whose variable VAR is unset is read from the file VAR_FILE names (the
// convention of the official Postgres and RabbitMQ images), one trailing
// newline trimmed. Both set is an error; a flag on the command line wins.
func secretFiles(_ *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
	if !flag.Tag.Has("secret") {
		return nil, nil
	}
	for _, e := range flag.Tag.Envs {
		path, ok := os.LookupEnv(e + "_FILE")
		if !ok {
			continue
		}
		if _, set := os.LookupEnv(e); set {
			return nil, fmt.Errorf("both %s and %s_FILE are set: give one", e, e)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s_FILE: %w", e, err)
		}
		s := strings.TrimSuffix(string(b), "\n")
		return strings.TrimSuffix(s, "\r"), nil
	}
	return nil, nil
}

// flagInfo is what the whole model says of one flag name.
type flagInfo struct {
	scoped   bool
	envs     []string
	commands []string
}

// allFlags indexes every flag of every command by name.
func allFlags(root *kong.Node) map[string]*flagInfo {
	out := map[string]*flagInfo{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			fi := out[f.Name]
			if fi == nil {
				fi = &flagInfo{envs: f.Tag.Envs}
				out[f.Name] = fi
			}
			fi.scoped = fi.scoped || f.Tag.Has("scoped")
			if n.Parent != nil {
				fi.commands = append(fi.commands, strings.Join(commandPath(n), " "))
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(root)
	return out
}

// checkSettings refuses settings the selected command would ignore, in one
// line: a config file key that is no setting at all, a key in a command's
// section that the command does not take, and, for a role (a command
// tagged role), a scoped setting it does not read, given in the
// environment or at the file's top level.
func checkSettings(kctx *kong.Context, file *configFile) error {
	all := allFlags(kctx.Model.Node)
	if file != nil && file.doc != nil {
		if err := file.check(kctx.Model.Node, kctx.Model.Node, all, ""); err != nil {
			return err
		}
	}
	sel := kctx.Selected()
	if sel == nil || !sel.Tag.Has("role") {
		return nil
	}
	takes := map[string]bool{}
	for _, f := range kctx.Flags() {
		takes[f.Name] = true
	}
	cmd := strings.Join(commandPath(sel), " ")
	for _, name := range slices.Sorted(maps.Keys(all)) {
		fi := all[name]
		if takes[name] || !fi.scoped {
			continue
		}
		readers := strings.Join(fi.commands, ", ")
		for _, e := range fi.envs {
			if _, ok := os.LookupEnv(e); ok {
				return fmt.Errorf("%s is set, but `ordersaga %s` does not read it (%s do): unset it for this role", e, cmd, readers)
			}
		}
		if file != nil {
			if _, ok := file.doc[name]; ok {
				return fmt.Errorf("config file: %s is set, but `ordersaga %s` does not read it (%s do): move it under their sections", name, cmd, readers)
			}
		}
	}
	return nil
}

// check walks section (the file's part for command node n) and refuses a
// key that is neither a flag of n, nor of its ancestors, nor a subcommand
// section; at the top level, a key of any command is fine.
func (f *configFile) check(root, n *kong.Node, all map[string]*flagInfo, where string) error {
	sec := f.doc
	if n != root {
		sec, _ = f.section(n)
	}
	takes := map[string]bool{}
	for p := n; p != nil; p = p.Parent {
		for _, fl := range p.Flags {
			takes[fl.Name] = true
		}
	}
	for _, key := range slices.Sorted(maps.Keys(sec)) {
		if sub := child(n, key); sub != nil {
			if _, ok := sec[key].(map[string]any); !ok {
				return fmt.Errorf("config file: %s%s: want a section of settings for `ordersaga %s`", where, key, strings.Join(commandPath(sub), " "))
			}
			if err := f.check(root, sub, all, where+key+"."); err != nil {
				return err
			}
			continue
		}
		if n == root && all[key] != nil || takes[key] {
			continue
		}
		if n == root {
			return fmt.Errorf("config file: %s is no setting of ordersaga (keys are flag names, e.g. redis-url)", key)
		}
		return fmt.Errorf("config file: %s%s is not a setting of `ordersaga %s`", where, key, strings.Join(commandPath(n), " "))
	}
	return nil
}

func child(n *kong.Node, name string) *kong.Node {
	for _, c := range n.Children {
		if c.Type == kong.CommandNode && c.Name == name {
			return c
		}
	}
	return nil
}
