package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/ordersaga/ordersaga/internal/temporalclient"
)

// ConfigCmd prints the effective configuration of a command.
type ConfigCmd struct {
	Args []string `arg:"" passthrough:"" help:"The command and its flags, e.g. worker --services order."`
}

// Run parses the command as `ordersaga <args>` would (with the same
// environment and --config file), refuses what that would refuse, and
// prints every setting as YAML that --config accepts, each with where it
// came from; secrets are redacted.
func (c *ConfigCmd) Run(cli *CLI, stdout, stderr io.Writer) error {
	var target CLI
	parser, file, err := newParser(&target, stdout, stderr)
	if err != nil {
		return err
	}
	args := c.Args
	if cli.Config != "" && !slices.Contains(args, "--config") {
		args = append([]string{"--config", string(cli.Config)}, args...)
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		return err
	}
	if err := checkSettings(kctx, file); err != nil {
		return err
	}
	cmd := strings.Join(commandPath(kctx.Selected()), " ")
	fmt.Fprintf(stdout, "# ordersaga %s: effective configuration (flags > environment > config file > defaults); secrets redacted\n", cmd)
	values := map[string]any{}
	for _, f := range kctx.Flags() {
		if f.Name == "help" || f.Name == "config" {
			continue
		}
		v := display(f, kctx.FlagValue(f))
		values[f.Name] = v
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %s  # %s\n", f.Name, b, source(kctx, f))
	}
	if _, ok := values["temporal-address"]; ok {
		printConnection(stdout, kctx)
	}
	return nil
}

// printConnection prints, as comments, where the Temporal client will
// connect: the profile and the TEMPORAL_* variables with the flags applied.
func printConnection(w io.Writer, kctx *kong.Context) {
	str := func(name string) string {
		for _, f := range kctx.Flags() {
			if f.Name == name {
				s, _ := kctx.FlagValue(f).(string)
				return s
			}
		}
		return ""
	}
	conn := temporalclient.Connection{Address: str("temporal-address"), Namespace: str("temporal-namespace"),
		ConfigFile: str("temporal-config-file"), Profile: str("temporal-profile")}
	d, err := conn.Describe()
	if err != nil {
		fmt.Fprintf(w, "# temporal connection: %s\n", oneLine(err.Error()))
		return
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(d)) {
		parts = append(parts, k+"="+d[k])
	}
	fmt.Fprintf(w, "# temporal connection (profile and TEMPORAL_* variables, flags applied): %s\n", strings.Join(parts, ", "))
}

// display is the printable value of flag f: durations as text, secrets
// redacted (a URL keeps all but its password).
func display(f *kong.Flag, v any) any {
	if d, ok := v.(time.Duration); ok {
		return d.String()
	}
	if s, ok := v.(string); ok && f.Tag.Has("secret") && s != "" {
		return redactSecret(s)
	}
	return v
}

// redactSecret hides a secret: a URL's password, or all of anything else.
func redactSecret(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		if _, has := u.User.Password(); has {
			return u.Redacted()
		}
		if u.User != nil {
			u.User = url.User("xxxxx")
		}
		return u.String()
	}
	return "<redacted>"
}

// source says where flag f's value came from.
func source(kctx *kong.Context, f *kong.Flag) string {
	for _, p := range kctx.Path {
		if p.Flag != f {
			continue
		}
		if !p.Resolved {
			return "flag"
		}
		for _, e := range f.Tag.Envs {
			if _, ok := os.LookupEnv(e + "_FILE"); ok && f.Tag.Has("secret") {
				return "file named by " + e + "_FILE"
			}
		}
		return "config file"
	}
	for _, e := range f.Tag.Envs {
		if _, ok := os.LookupEnv(e); ok {
			return "environment " + e
		}
	}
	if f.HasDefault {
		return "default"
	}
	return "unset"
}
