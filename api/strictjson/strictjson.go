// Package strictjson holds the JSON rules the API enforces beyond the
// schema of a body, shared by the API and its contract checker.
package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// DuplicateKey returns the path (as in a problem's field: items[0].sku) of
// the first key that appears twice in one object of the JSON document body,
// and "" when none does. encoding/json keeps the last of duplicate keys, so
// {"payment_token":"a","payment_token":"b"} would mean whatever the last
// reader of the bytes decides; the API refuses it instead. A syntax error
// is returned as it is: the struct decode reports it.
func DuplicateKey(body []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dupValue(dec, "")
}

// dupValue reads one JSON value from dec; path is where it sits.
func dupValue(dec *json.Decoder, path string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			keyTok, err := dec.Token()
			if err != nil {
				return "", err
			}
			key, _ := keyTok.(string)
			at := key
			if path != "" {
				at = path + "." + key
			}
			if seen[key] {
				return at, nil
			}
			seen[key] = true
			if dup, err := dupValue(dec, at); dup != "" || err != nil {
				return dup, err
			}
		}
		_, err = dec.Token() // '}'
		return "", err
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if dup, err := dupValue(dec, fmt.Sprintf("%s[%d]", path, i)); dup != "" || err != nil {
				return dup, err
			}
		}
		_, err = dec.Token() // ']'
		return "", err
	}
	return "", nil
}
