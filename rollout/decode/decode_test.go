package decode_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/rollout/decode"
)

// strategy is a small format with every kind of field: it reads
// spec.strategy and returns what it decoded.
type strategy struct {
	Order  []string
	Canary bool
	Max    int
	Bake   string
	Labels map[string]string
}

func decodeStrategy(src string) (strategy, error) {
	var s strategy
	d := decode.New("f.yaml")
	root, ok := d.Document([]byte(src), "test file")
	if !ok {
		return s, d.Err()
	}
	if root == nil {
		d.Failf(1, "", "is empty")
		return s, d.Err()
	}
	top := d.Fields(root, "", root.Line, "spec")
	spec := top.Object("spec", true, "strategy")
	st := spec.Object("strategy", true, "order", "canary", "maxConcurrency", "bake", "labels")
	if st == nil {
		return s, d.Err()
	}
	s.Order = decode.Values(st.Names("order", nil))
	s.Canary = st.Bool("canary", true)
	s.Max, _ = st.Int("maxConcurrency", 1)
	s.Bake, _ = decode.Text(st, "bake", false, func(v string) (string, error) {
		if !strings.HasSuffix(v, "m") {
			return "", errors.New("is not minutes")
		}
		return v, nil
	})
	if n := st.Optional("labels"); n != nil {
		if m := d.Entries(n, st.Field("labels"), st.LineOf("labels")); m != nil {
			s.Labels = map[string]string{}
			for _, k := range m.Keys() {
				if v, ok := d.String(m.Value(k), m.Field(k)); ok {
					s.Labels[k] = v
				}
			}
		}
	}
	return s, d.Err()
}

func TestDecode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		src  string
		want string // the error, one problem a line; "" for none
	}{
		{name: "valid", src: "spec:\n  strategy: {order: [dev], canary: false, maxConcurrency: 2, bake: 30m}\n"},
		{name: "empty", src: "# nothing\n", want: "f.yaml:1: is empty"},
		{name: "syntax error", src: "spec: [\n", want: "f.yaml:1: invalid YAML: did not find expected node content"},
		{name: "tab indent", src: "spec:\n\tstrategy: {}\n", want: "f.yaml:2: invalid YAML: found character that cannot start any token: indent with spaces, not tabs"},
		{name: "second document", src: "spec: {strategy: {}}\n---\nspec: {}\n", want: "f.yaml:3: a second YAML document starts here: a test file holds one document"},
		{name: "empty second document is fine", src: "spec: {strategy: {}}\n---\n"},
		{name: "unknown field, near name", src: "spec:\n  strategy:\n    bake_time: 30m\n", want: `f.yaml:3: spec.strategy.bake_time: unknown field (did you mean "bake"?)`},
		{name: "unknown field, typo", src: "spec:\n  stratgy: {}\n", want: "f.yaml:1: spec.strategy: is required\nf.yaml:2: spec.stratgy: unknown field (did you mean \"strategy\"?)"},
		{name: "unknown field, far name", src: "spec: {strategy: {}, owner: me}\n", want: "f.yaml:1: spec.owner: unknown field (known: strategy)"},
		{name: "repeated key", src: "spec:\n  strategy: {}\n  strategy: {}\n", want: "f.yaml:3: spec.strategy: is given twice (first on line 2)"},
		{name: "merge key", src: "base: &b {canary: true}\n", want: "f.yaml:1: base: unknown field (known: spec)\nf.yaml:1: spec: is required"},
		{name: "merge key refused", src: "spec:\n  strategy:\n    <<: {canary: true}\n", want: "f.yaml:3: spec.strategy.<<: merge keys are not supported: write the fields out"},
		{name: "key that is not a name", src: "spec:\n  strategy:\n    [a]: 1\n", want: "f.yaml:3: spec.strategy: a key must be a name, not a list"},
		{name: "not a mapping", src: "spec: [1]\n", want: "f.yaml:1: spec: must be a mapping, not a list"},
		{name: "required but empty", src: "spec:\n  strategy:\n", want: "f.yaml:2: spec.strategy: has no value"},
		{name: "wrong types", src: "spec:\n  strategy:\n    order: dev\n    canary: yes\n    maxConcurrency: many\n    bake: 30\n",
			want: "f.yaml:3: spec.strategy.order: must be a list, not \"dev\"\n" +
				"f.yaml:4: spec.strategy.canary: must be true or false, not \"yes\"\n" +
				"f.yaml:5: spec.strategy.maxConcurrency: must be a whole number, not \"many\"\n" +
				"f.yaml:6: spec.strategy.bake: must be a string, not the number 30: quote it"},
		{name: "below the least", src: "spec: {strategy: {maxConcurrency: 0}}\n", want: "f.yaml:1: spec.strategy.maxConcurrency: must be at least 1, not 0"},
		{name: "integral float is an int", src: "spec: {strategy: {maxConcurrency: 3.0}}\n"},
		{name: "empty scalar", src: "spec: {strategy: {canary: }}\n", want: "f.yaml:1: spec.strategy.canary: has no value: give one or remove the key"},
		{name: "custom scalar", src: "spec: {strategy: {bake: 2h}}\n", want: "f.yaml:1: spec.strategy.bake: is not minutes"},
		{name: "list entries", src: "spec:\n  strategy:\n    order: [dev, \"\", dev, [x]]\n",
			want: "f.yaml:3: spec.strategy.order[1]: is empty\n" +
				"f.yaml:3: spec.strategy.order[2]: \"dev\" is listed twice\n" +
				"f.yaml:3: spec.strategy.order[3]: must be a string, not a list"},
		{name: "entries take any name", src: "spec: {strategy: {labels: {team: a, tier: b}}}\n"},
		{name: "entries refuse repeats", src: "spec:\n  strategy:\n    labels:\n      team: a\n      team: b\n", want: "f.yaml:5: spec.strategy.labels.team: is given twice (first on line 4)"},
		{name: "odd key quoted", src: "spec: {strategy: {labels: {\"a\\nb\": 1}}}\n", want: `f.yaml:1: spec.strategy.labels."a\nb": must be a string, not the number 1: quote it`},
		{name: "aliases followed", src: "spec:\n  strategy: &s {order: [dev]}\nx: *s\n", want: "f.yaml:3: x: unknown field (known: spec)"},
		{name: "several problems, line order", src: "spec:\n  strategy:\n    canary: 1\n    bake: 1h\n  extra: 1\n",
			want: "f.yaml:3: spec.strategy.canary: must be true or false, not the number 1\n" +
				"f.yaml:4: spec.strategy.bake: is not minutes\n" +
				"f.yaml:5: spec.extra: unknown field (known: strategy)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeStrategy(tc.src)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			var list decode.Errors
			require.ErrorAs(t, err, &list)
			var one *decode.Error
			require.ErrorAs(t, err, &one, "errors.As finds each problem")
			assert.Equal(t, "f.yaml", one.File)
		})
	}
}

func TestDecodeValues(t *testing.T) {
	t.Parallel()
	s, err := decodeStrategy("spec:\n  strategy:\n    order: [dev, prod]\n    canary: false\n    maxConcurrency: 3.0\n    bake: 30m\n    labels: {team: a}\n")
	require.NoError(t, err)
	assert.Equal(t, strategy{Order: []string{"dev", "prod"}, Max: 3, Bake: "30m", Labels: map[string]string{"team": "a"}}, s)
	s, err = decodeStrategy("spec: {strategy: {}}\n")
	require.NoError(t, err)
	assert.True(t, s.Canary, "an absent boolean keeps its default")
}

// TestRepeated checks the lenient check of files fleetbot shares: any key
// and merge keys pass, a repeated key does not, in a small mapping and in a
// large one, and its field path is built only for the report.
func TestRepeated(t *testing.T) {
	t.Parallel()
	src := "tenant: a\nbase: &b {x: 1}\nmine:\n  <<: *b\n  [odd]: 2\ntenant: b\n"
	d := decode.New("bp.yaml")
	root, ok := d.Document([]byte(src), "blueprint")
	require.True(t, ok)
	d.Repeated(root, "", "")
	assert.Equal(t, "bp.yaml:6: tenant: is given twice (first on line 1)", d.Err().Error())
	d.Repeated(root.Content[5], "", "mine")
	assert.Len(t, d.Errors(), 1, "merge keys and odd keys are the file's business")

	var big strings.Builder
	for i := range 20 {
		fmt.Fprintf(&big, "k%d: %d\n", i, i)
	}
	big.WriteString("k3: again\n")
	d = decode.New("big.yaml")
	root, ok = d.Document([]byte("config:\n"+indent(big.String())), "blueprint")
	require.True(t, ok)
	d.Repeated(root.Content[1], "services", "config")
	assert.Equal(t, "big.yaml:22: services.config.k3: is given twice (first on line 5)", d.Err().Error())
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]string{
		"{a: 1}": "a mapping", "[1]": "a list", "~": "empty", "1.30": "the number 1.30",
		"yes": `"yes"`, "true": "the boolean true", "x": `"x"`, "!!binary aGk=": "a value tagged !!binary",
	} {
		var doc yaml.Node
		require.NoError(t, yaml.Unmarshal([]byte(src), &doc))
		assert.Equal(t, want, decode.Describe(doc.Content[0]), src)
	}
}

// FuzzDecode feeds the decoder arbitrary bytes: it must not panic, and every
// problem it reports names the file and, when it has one, a line inside it.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"spec:\n  strategy: {order: [dev], canary: false, maxConcurrency: 2, bake: 30m}\n",
		"spec:\n  strategy:\n    bake_time: 30m\n", "a: &a [*a]\n", "spec: {strategy: {labels: {<<: {x: 1}}}}\n",
		"spec:\n\tstrategy: {}\n", "---\n---\nspec: 1\n", "spec: {strategy: {order: [a, a, \"\", ~]}}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, err := decodeStrategy(src)
		if err == nil {
			return
		}
		lines := strings.Count(src, "\n") + strings.Count(src, "\r") + 2 // YAML breaks lines at \r too
		var list decode.Errors
		require.ErrorAs(t, err, &list)
		for _, e := range list {
			if e.File != "f.yaml" || e.Line < 0 || e.Line > lines || e.Reason == "" {
				t.Fatalf("problem %q does not name a place in the file", e.Error())
			}
		}
	})
}
