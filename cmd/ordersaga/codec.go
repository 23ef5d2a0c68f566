package main

import (
	"maps"
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
