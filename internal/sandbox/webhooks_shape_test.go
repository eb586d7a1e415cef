package sandbox

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

// webhookExample is one entry of @octokit/webhooks-examples.
type webhookExample struct {
	Name     string           `json:"name"`
	Examples []map[string]any `json:"examples"`
}

// objectKeys are the payload fields whose own fields are compared too.
var objectKeys = []string{"pull_request", "issue", "comment", "review", "check_run", "check_suite", "label",
	"repository", "sender", "installation", "head_commit", "organization"}

// checkWebhookShapes requires every field that all of GitHub's examples of
// an event and action carry (at the top and one level into the event's
// objects) to be in the sandbox's payload of that event and action.
func checkWebhookShapes(t *testing.T, events []hookEvent) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.NodeModule(t, "@octokit/webhooks-examples"), "api.github.com", "index.json"))
	require.NoError(t, err)
	var all []webhookExample
	require.NoError(t, json.Unmarshal(data, &all))
	byName := map[string][]map[string]any{}
	for _, w := range all {
		byName[w.Name] = w.Examples
	}
	for _, ev := range events {
		var same []map[string]any
		for _, ex := range byName[ev.Event] {
			if a, _ := ex["action"].(string); a == ev.Action {
				same = append(same, ex)
			}
		}
		if len(same) == 0 {
			continue // GitHub publishes no example of it (pull_request.edited)
		}
		for _, key := range missing(commonKeys(same, ""), ev.Payload) {
			_, team := ev.Payload["requested_team"]
			if key != "enterprise" && !(team && key == "requested_reviewer") {
				t.Errorf("%s.%s payload lacks %s", ev.Event, ev.Action, key)
			}
		}
		for _, obj := range objectKeys {
			mine, ok := ev.Payload[obj].(map[string]any)
			if !ok {
				continue
			}
			for _, key := range missing(commonKeys(same, obj), mine) {
				t.Errorf("%s.%s payload lacks %s.%s", ev.Event, ev.Action, obj, key)
			}
		}
	}
}

// commonKeys returns the keys every example has, at the top or in the
// object under field.
func commonKeys(examples []map[string]any, field string) []string {
	count := map[string]int{}
	n := 0
	for _, ex := range examples {
		m := ex
		if field != "" {
			sub, ok := ex[field].(map[string]any)
			if !ok {
				continue
			}
			m = sub
		}
		n++
		for k := range m {
			count[k]++
		}
	}
	var out []string
	for k, c := range count {
		if c == n {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func missing(keys []string, m map[string]any) []string {
	var out []string
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}
