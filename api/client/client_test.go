package client_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGeneratedCodeIsUpToDate regenerates the client from the OpenAPI
// document with the pinned oapi-codegen and requires client.gen.go to be
// what it generates: after changing api/openapi.yaml, run
// `go generate ./api/client`.
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	cfg, err := os.ReadFile("oapi-codegen.yaml")
	require.NoError(t, err)
	dir := t.TempDir()
	out := filepath.Join(dir, "client.gen.go")
	cfg = regexp.MustCompile(`(?m)^output: .*$`).ReplaceAll(cfg, []byte("output: "+out))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "oapi-codegen.yaml"), cfg, 0o644))
	gen := exec.Command("go", "tool", "-modfile=../../tools/go.mod", "oapi-codegen", "-config", filepath.Join(dir, "oapi-codegen.yaml"), "../openapi.yaml")
	msg, err := gen.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	want, err := os.ReadFile(out)
	require.NoError(t, err)
	got, err := os.ReadFile("client.gen.go")
	require.NoError(t, err)
	if !bytes.Equal(got, want) {
		t.Fatal("client.gen.go is not what api/openapi.yaml generates: run `go generate ./api/client` (or `task generate`)")
	}
}
