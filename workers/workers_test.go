package workers

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Only a process hosting the orchestrator in the single topology colocates,
// and then every other service it hosts.
func TestColocated(t *testing.T) {
	a, b := Service{Name: "a", TaskQueue: "q.a"}, Service{Name: "b", TaskQueue: "q.b"}
	o := OrchestratorService()
	require.Equal(t, []string{"q.a", "q.b"}, Colocated([]Service{a, o, b}, Single))
	require.Empty(t, Colocated([]Service{o, a, b}, Split))
	require.Empty(t, Colocated([]Service{a, b}, Single))
	require.Empty(t, Colocated([]Service{o}, Single))
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
