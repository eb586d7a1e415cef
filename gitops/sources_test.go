package gitops

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSources checks that Sources reads like the map of the values it was
// given, whichever file each comes from and in whatever order they come.
func TestSources(t *testing.T) {
	t.Parallel()
	own := func(line, col int) Source { return Source{Repo: "r", File: "bp.yaml", Line: line, Column: col} }
	label := Source{Repo: "r", File: "labels/dev.yaml", Line: 3, Column: 7}
	var s Sources
	s.Set("name", own(2, 3))
	s.Set("version", own(9, 14))
	s.Set("labels.team", label)
	s.Set("env", own(4, 8))
	s.Set("version", own(10, 14)) // set again: the last one holds
	s.Set("labels.gone", label)
	s.Delete("labels.gone")
	s.Delete("absent")

	want := map[string]Source{"name": own(2, 3), "env": own(4, 8), "version": own(10, 14), "labels.team": label}
	assert.Equal(t, want, maps.Collect(s.All()))
	for k, v := range want {
		got, ok := s.Lookup(k)
		assert.True(t, ok, k)
		assert.Equal(t, v, got, k)
	}
	_, ok := s.Lookup("labels.gone")
	assert.False(t, ok, "deleted")
	assert.Equal(t, Source{}, s.Get("region"), "absent")
	assert.Equal(t, s, SourcesOf(want), "the same values, recorded in another order")

	// A value of the first file recorded again from another one moves.
	s.Set("env", label)
	assert.Equal(t, label, s.Get("env"))
	// So does one whose line does not fit in 32 bits.
	far := own(1<<31, 5)
	s.Set("region", far)
	assert.Equal(t, far, s.Get("region"))

	b, err := json.Marshal(s)
	require.NoError(t, err)
	var m map[string]Source
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, maps.Collect(s.All()), m, "JSON is the map")
	var back Sources
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, maps.Collect(s.All()), maps.Collect(back.All()))
}
