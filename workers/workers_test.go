package workers

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Only a process hosting the orchestrator in the single topology colocates,
// and then every other service it hosts.
func TestColocated(t *testing.T) {
	require.Equal(t, []string{Order, Payment}, Colocated([]string{Order, Orchestrator, Payment}, Single))
	require.Empty(t, Colocated(All, Split))
	require.Empty(t, Colocated([]string{Order, Inventory}, Single))
	require.Empty(t, Colocated([]string{Orchestrator}, Single))
}

func TestParseTopology(t *testing.T) {
	for _, s := range []string{"single", "split"} {
		got, err := ParseTopology(s)
		require.NoError(t, err)
		require.Equal(t, Topology(s), got)
	}
	_, err := ParseTopology("")
	require.ErrorContains(t, err, "unknown topology")
}
