package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWaitPreference ensures the wait preference is read as RFC 7240 has
// it — among other preferences and parameters, case-insensitive, the first
// of two, quoted or bare — capped at MaxPreferWait, and that a malformed
// or zero one is ignored (0).
func TestWaitPreference(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		fields []string
		want   int
	}{
		"none":                    {nil, 0},
		"bare":                    {[]string{"wait=5"}, 5},
		"with spaces":             {[]string{"  wait = 7 "}, 7},
		"case-insensitive name":   {[]string{"Wait=3"}, 3},
		"among others":            {[]string{"respond-async, wait=4, handling=lenient"}, 4},
		"with parameters":         {[]string{"wait=2;foo=bar;baz"}, 2},
		"quoted":                  {[]string{`wait="6"`}, 6},
		"leading zeros":           {[]string{"wait=0008"}, 8},
		"the maximum":             {[]string{"wait=10"}, 10},
		"above the maximum":       {[]string{"wait=11"}, MaxPreferWait},
		"far above":               {[]string{"wait=99999999999999999999999"}, MaxPreferWait},
		"the first counts":        {[]string{"wait=2, wait=9"}, 2},
		"across fields":           {[]string{"respond-async", "wait=3"}, 3},
		"first field counts":      {[]string{"wait=1", "wait=9"}, 1},
		"comma in a quoted value": {[]string{`foo="a, wait=9", wait=2`}, 2},
		"escaped quote":           {[]string{`foo="a\", wait=9", wait=4`}, 4},
		"unclosed quote":          {[]string{`foo="a, wait=9`}, 0},
		"zero":                    {[]string{"wait=0"}, 0},
		"no value":                {[]string{"wait"}, 0},
		"empty value":             {[]string{"wait="}, 0},
		"negative":                {[]string{"wait=-1"}, 0},
		"fraction":                {[]string{"wait=1.5"}, 0},
		"a word":                  {[]string{"wait=soon"}, 0},
		"malformed first wins":    {[]string{"wait=x, wait=5"}, 0},
		"other name":              {[]string{"waiting=5"}, 0},
		"empty elements":          {[]string{" , ,wait=3"}, 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			for _, f := range tc.fields {
				h.Add(PreferHeader, f)
			}
			require.Equal(t, tc.want, waitPreference(h))
		})
	}
}
