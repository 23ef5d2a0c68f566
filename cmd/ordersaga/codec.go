package main

import (
	"fmt"
	"maps"
	"os"
	"strings"
)

// codecCallers returns the bearer keys the codec server accepts (key →
// client name): the admin API keys and the keys given for it alone.
func codecCallers(adminKeys, codecKeys string) (map[string]string, error) {
	admin, err := parseKeys("--admin-api-keys", adminKeys)
	if err != nil {
		return nil, err
	}
	own, err := parseKeys("--codec-auth-keys", codecKeys)
	if err != nil {
		return nil, err
	}
	maps.Copy(admin, own)
	return admin, nil
}

// secretOrFile returns a secret given either as the flag's value or in a
// file (its _FILE variant, e.g. a mounted secret; surrounding whitespace
// trimmed); not both.
func secretOrFile(flag, value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	if value != "" {
		return "", fmt.Errorf("%s: give the value or its file, not both", flag)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: read its file: %w", flag, err)
	}
	return strings.TrimSpace(string(b)), nil
}
