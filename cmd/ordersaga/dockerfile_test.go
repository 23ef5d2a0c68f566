//go:build !slim

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/stretchr/testify/require"
)

// TestDockerfile parses the Dockerfile with BuildKit's own parser and
// linter (the checks of `docker build --check`) and checks what the image
// promises: the slim build by default, module and build caches, a
// non-root user, a writable working directory and a HEALTHCHECK.
func TestDockerfile(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "Dockerfile"))
	require.NoError(t, err)
	defer f.Close()
	res, err := parser.Parse(f)
	require.NoError(t, err)
	require.Empty(t, res.Warnings, "parser warnings")
	var lint []string
	stages, _, err := instructions.Parse(res.AST, linter.New(&linter.Config{
		Warn: func(rule, _, _, msg string, loc []parser.Range) {
			lint = append(lint, fmt.Sprintf("%s: %s %v", rule, msg, loc))
		},
	}))
	require.NoError(t, err)
	require.Empty(t, lint, "lint warnings")
	require.Len(t, stages, 2)

	var caches []string
	var buildCmd string
	var slimDefault bool
	for _, cmd := range stages[0].Commands {
		switch c := cmd.(type) {
		case *instructions.ArgCommand:
			for _, a := range c.Args {
				if a.Key == "BUILD_TAGS" && a.Value != nil && *a.Value == "slim" {
					slimDefault = true
				}
			}
		case *instructions.RunCommand:
			// The mounts are parsed when the command is expanded.
			require.NoError(t, c.Expand(func(word string) (string, error) { return word, nil }))
			for _, m := range instructions.GetMounts(c) {
				if m.Type == instructions.MountTypeCache {
					caches = append(caches, m.Target)
				}
			}
			if s := strings.Join(c.CmdLine, " "); strings.Contains(s, "go build") {
				buildCmd = s
			}
		}
	}
	require.True(t, slimDefault, "BUILD_TAGS defaults to slim")
	require.Contains(t, buildCmd, `-tags "${BUILD_TAGS}"`)
	require.Contains(t, caches, "/go/pkg/mod")
	require.Contains(t, caches, "/root/.cache/go-build")

	var user, workdir string
	var health *instructions.HealthCheckCommand
	for _, cmd := range stages[1].Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.WorkdirCommand:
			workdir = c.Path
		case *instructions.HealthCheckCommand:
			health = c
		}
	}
	require.NotEmpty(t, user)
	require.NotContains(t, []string{"0", "root", "0:0"}, user, "runs as non-root")
	require.Equal(t, "/var/lib/ordersaga", workdir)
	require.NotNil(t, health)
	require.Equal(t, []string{"CMD", "ordersaga", "healthcheck", "http://127.0.0.1:9100/readyz"}, health.Health.Test)
}
