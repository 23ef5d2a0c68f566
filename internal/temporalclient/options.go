package temporalclient

import (
	"fmt"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
)

// Defaults used when neither a flag nor the profile names them.
const (
	DefaultAddress   = "127.0.0.1:7233"
	DefaultNamespace = "default"
)

// Connection says where Temporal is and how to authenticate to it, the way
// the Temporal CLI reads it: a profile of a TOML file
// (go.temporal.io/sdk/contrib/envconfig), then the TEMPORAL_* environment
// variables, then Address and Namespace when they are set.
type Connection struct {
	// Address, if set, overrides the profile's address (--temporal-address).
	Address string
	// Namespace, if set, overrides the profile's namespace.
	Namespace string
	// ConfigFile is the TOML file of profiles; empty: TEMPORAL_CONFIG_FILE,
	// else the Temporal CLI's default path. A missing file is no error.
	ConfigFile string
	// Profile in the file; empty: TEMPORAL_PROFILE, else "default". A
	// profile that is named and missing is an error.
	Profile string
	// Env looks up environment variables; nil: the process's.
	Env envconfig.EnvLookup
	// Plain ignores profiles and the TEMPORAL_* variables: plaintext to
	// Address, no credential (a server of this process, such as dev's).
	Plain bool
}

// Options returns the client options of c: address, namespace, TLS (client
// certificate and key, server CA and name), API key and gRPC metadata. The
// API key may also come from the file named by TEMPORAL_API_KEY_FILE
// (giving both is an error). The error never holds a secret.
func (c Connection) Options() (client.Options, error) {
	if c.Plain {
		return client.Options{HostPort: first(c.Address, DefaultAddress), Namespace: first(c.Namespace, DefaultNamespace)}, nil
	}
	env := c.Env
	if env == nil {
		env = envconfig.EnvLookupOS
	}
	env, err := withSecretFiles(env, "TEMPORAL_API_KEY", "TEMPORAL_TLS_CLIENT_KEY_DATA")
	if err != nil {
		return client.Options{}, err
	}
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{
		ConfigFilePath:    c.ConfigFile,
		ConfigFileProfile: c.Profile,
		EnvLookup:         env,
	})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal client config: %w", err)
	}
	prof.Address = first(c.Address, prof.Address, DefaultAddress)
	prof.Namespace = first(c.Namespace, prof.Namespace, DefaultNamespace)
	opts, err := prof.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal client config: %w", err)
	}
	return opts, nil
}

// Describe summarises where and how c connects, secrets left out: for
// `ordersaga config` and startup logs.
func (c Connection) Describe() (map[string]string, error) {
	opts, err := c.Options()
	if err != nil {
		return nil, err
	}
	out := map[string]string{"address": opts.HostPort, "namespace": opts.Namespace, "tls": "off", "api_key": "none"}
	if opts.Credentials != nil {
		out["api_key"] = "set (redacted)"
	}
	if t := opts.ConnectionOptions.TLS; t != nil {
		out["tls"] = "on"
		if len(t.Certificates) > 0 {
			out["tls"] = "on, client certificate"
		}
		if t.ServerName != "" {
			out["tls_server_name"] = t.ServerName
		}
	}
	return out, nil
}

// withSecretFiles returns env where each of vars may also be read from the
// file named by <var>_FILE (one trailing newline trimmed).
func withSecretFiles(env envconfig.EnvLookup, vars ...string) (envconfig.EnvLookup, error) {
	files := map[string]string{}
	for _, v := range vars {
		path, ok := env.LookupEnv(v + "_FILE")
		if !ok || path == "" {
			continue
		}
		if _, set := env.LookupEnv(v); set {
			return nil, fmt.Errorf("both %s and %s_FILE are set: give one", v, v)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s_FILE: %w", v, err)
		}
		files[v] = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	if len(files) == 0 {
		return env, nil
	}
	return fileEnv{EnvLookup: env, files: files}, nil
}

type fileEnv struct {
	envconfig.EnvLookup
	files map[string]string
}

func (e fileEnv) LookupEnv(k string) (string, bool) {
	if v, ok := e.files[k]; ok {
		return v, true
	}
	return e.EnvLookup.LookupEnv(k)
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
