package rollout_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/rollout"
)

func updateCampaignGolden() bool {
	return *rollout.UpdateGolden
}

// schemaVerdict says what the JSON Schema must say of a file the loader
// refuses.
type schemaVerdict int

const (
	schemaRejects schemaVerdict = iota // the schema refuses it too
	schemaAccepts                      // a rule the schema cannot express: it accepts the file
	schemaNoJSON                       // a YAML-level problem: the file has no JSON form
)

// Lines 1-4 of every case; the case's own lines start at 5.
const campaignHead = `apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata: {name: c}
spec:
`

// campaignBody is a valid change and strategy at lines 5 and 6.
const campaignBody = `  change: {eksVersion: {to: "1.30"}}
  strategy: {order: [dev, prod]}
`

type campaignErrorCase struct {
	name   string
	src    string
	want   string
	schema schemaVerdict
}

var campaignErrorCases = []campaignErrorCase{
	{name: "empty file", src: "", want: "c.yaml:1: holds no campaign: the file is empty", schema: schemaNoJSON},
	{name: "comments only", src: "# nothing yet\n", want: "c.yaml:1: holds no campaign: the file is empty", schema: schemaNoJSON},
	{name: "yaml syntax", src: "apiVersion: [fleetbot.io/v1alpha1\n", want: "c.yaml:1: invalid YAML: did not find expected ',' or ']'", schema: schemaNoJSON},
	{name: "tab indentation", src: campaignHead + "\tchange: {}\n",
		want: "c.yaml:5: invalid YAML: found character that cannot start any token: indent with spaces, not tabs", schema: schemaNoJSON},
	{name: "unknown anchor", src: campaignHead + campaignBody + "  gates: {a: *x}\n",
		want: "c.yaml: invalid YAML: unknown anchor 'x' referenced", schema: schemaNoJSON},
	{name: "root is a list", src: "- apiVersion: fleetbot.io/v1alpha1\n",
		want: "c.yaml:1: a campaign file is a mapping with apiVersion, kind, metadata and spec, not a list"},
	{name: "two documents", src: campaignHead + campaignBody + "---\napiVersion: fleetbot.io/v1alpha1\n",
		want: "c.yaml:8: a second YAML document starts here: a campaign file holds one document", schema: schemaNoJSON},
	{name: "apiVersion", src: strings.Replace(campaignHead, "v1alpha1", "v1", 1) + campaignBody,
		want: `c.yaml:1: apiVersion: "fleetbot.io/v1" is not supported: use fleetbot.io/v1alpha1`},
	{name: "kind", src: strings.Replace(campaignHead, "Campaign", "Rollout", 1) + campaignBody,
		want: `c.yaml:2: kind: "Rollout" is not a campaign: use Campaign`},
	{name: "metadata missing", src: "apiVersion: fleetbot.io/v1alpha1\nkind: Campaign\nspec:\n" + campaignBody,
		want: "c.yaml:1: metadata: is required"},
	{name: "name too long for its label", src: strings.Replace(campaignHead, "name: c", "name: eks-1-30-for-every-cluster-of-the-fleet-a1", 1) + campaignBody,
		want: `c.yaml:3: metadata.name: "eks-1-30-for-every-cluster-of-the-fleet-a1" is 42 characters: use at most 41, so that the label campaign:NAME on its pull requests fits GitHub's limit of 50 on a label`},
	{name: "name not a DNS label", src: strings.Replace(campaignHead, "name: c", "name: EKS_1.30", 1) + campaignBody,
		want: `c.yaml:3: metadata.name: "EKS_1.30" is not a DNS label (it names branches): use up to 41 lower-case letters, digits and '-', starting and ending with a letter or digit`},
	{name: "name a number", src: strings.Replace(campaignHead, "name: c", "name: 130", 1) + campaignBody,
		want: "c.yaml:3: metadata.name: must be a string, not the number 130: quote it"},
	{name: "unknown field with a near name", src: campaignHead + campaignBody + "  stratgy: {}\n",
		want: "c.yaml:7: spec.stratgy: unknown field (did you mean \"strategy\"?)"},
	{name: "unknown field", src: strings.Replace(campaignHead, "{name: c}", "{name: c, owner: me}", 1) + campaignBody,
		want: "c.yaml:3: metadata.owner: unknown field (known: name)"},
	{name: "duplicate key", src: campaignHead + campaignBody + "  merge: owners\n  merge: auto\n",
		want: "c.yaml:8: spec.merge: is given twice (first on line 7)", schema: schemaNoJSON},
	{name: "merge key", src: campaignHead + campaignBody + "  schedule:\n    <<: {maxOpenPRs: 3}\n",
		want: "c.yaml:8: spec.schedule.<<: merge keys are not supported: write the fields out", schema: schemaNoJSON},
	{name: "no change", src: campaignHead + "  change: {}\n  strategy: {order: [dev]}\n",
		want: "c.yaml:5: spec.change: names no change: write one of eksVersion, label or field"},
	{name: "two changes", src: campaignHead + "  change:\n    eksVersion: {to: \"1.30\"}\n    label: {key: a, to: b}\n  strategy: {order: [dev]}\n",
		want: "c.yaml:7: spec.change: holds eksVersion and label: a campaign makes exactly one change"},
	{name: "change missing", src: campaignHead + "  strategy: {order: [dev]}\n",
		want: "c.yaml:4: spec.change: is required"},
	{name: "eksVersion empty", src: campaignHead + "  change: {eksVersion: }\n  strategy: {order: [dev]}\n",
		want: "c.yaml:5: spec.change.eksVersion: has no value"},
	{name: "unquoted 1.30", src: campaignHead + "  change: {eksVersion: {to: 1.30}}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:5: spec.change.eksVersion.to: unquoted 1.30 is the number 1.3 to YAML: quote it, "1.30"`},
	{name: "unquoted 1.29", src: campaignHead + "  change: {eksVersion: {to: 1.29}}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:5: spec.change.eksVersion.to: unquoted 1.29 is a number to YAML: quote it, "1.29"`},
	{name: "version form", src: campaignHead + "  change: {eksVersion: {to: \"1.3\"}}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:5: spec.change.eksVersion.to: "1.3" is not an EKS version of the form "1.NN", like "1.30"`},
	{name: "hops", src: campaignHead + "  change: {eksVersion: {to: \"1.31\", hops: skip}}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:5: spec.change.eksVersion.hops: "skip" is not a hops mode: use sequential or refuse`},
	{name: "label key", src: campaignHead + "  change: {label: {key: addons release, to: release2}}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:5: spec.change.label.key: "addons release" is not a Kubernetes label name: use up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit, after an optional DNS prefix and '/'`},
	{name: "label key prefix", src: campaignHead + "  change: {label: {key: Fleet_IO/release, to: release2}}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:5: spec.change.label.key: "Fleet_IO/release" is not a Kubernetes label name: the prefix "Fleet_IO" is not a DNS subdomain`},
	{name: "label key empty", src: campaignHead + "  change: {label: {key: \"\", to: release2}}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:5: spec.change.label.key: "" is not a Kubernetes label name: use up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit, after an optional DNS prefix and '/'`},
	{name: "label value a boolean", src: campaignHead + "  change: {label: {key: enable_metrics_server, to: true}}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:5: spec.change.label.to: unquoted true is a boolean to YAML; labels are strings: write "true"`},
	{name: "label value a number", src: campaignHead + "  change: {label: {key: fleetRelease, to: 2}}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:5: spec.change.label.to: unquoted 2 is a number to YAML; labels are strings: write "2"`},
	{name: "label value", src: campaignHead + "  change: {label: {key: addonsRelease, to: release 2}}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:5: spec.change.label.to: "release 2" is not a Kubernetes label value: use up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`},
	{name: "label to missing", src: campaignHead + "  change:\n    label: {key: addonsRelease}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.label.to: is required`},
	{name: "label to empty", src: campaignHead + "  change:\n    label:\n      key: addonsRelease\n      to:\n  strategy: {order: [dev]}\n",
		want: `c.yaml:8: spec.change.label.to: has no value`},
	{name: "label does nothing", src: campaignHead + "  change: {label: {key: addonsRelease, from: release2, to: release2}}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:5: spec.change.label.to: equals from (release2): the change would do nothing`, schema: schemaAccepts},
	{name: "field revertible missing", src: campaignHead + "  change:\n    field: {files: \"tenants/**/*.yaml\", path: a.b, to: x}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.revertible: is required: say true if rollback may write the old value back, false if the change is forward-only`},
	{name: "field revertible yes", src: campaignHead + "  change:\n    field: {files: \"tenants/**/*.yaml\", path: a.b, to: x, revertible: yes}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.revertible: must be true or false, not "yes"`},
	{name: "glob absolute", src: campaignHead + "  change:\n    field: {files: /tenants/*.yaml, path: a.b, to: x, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.files: "/tenants/*.yaml" is absolute: write it relative to the repository root`},
	{name: "glob dot segment", src: campaignHead + "  change:\n    field: {files: ./tenants/*.yaml, path: a.b, to: x, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.files: "./tenants/*.yaml" is not a clean relative path: no empty, "." or ".." segments`},
	{name: "glob double star in a segment", src: campaignHead + "  change:\n    field: {files: tenants/**.yaml, path: a.b, to: x, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.files: "tenants/**.yaml": ** stands alone between slashes, as in tenants/**/blueprint.yaml`},
	{name: "glob syntax", src: campaignHead + "  change:\n    field: {files: \"tenants/[a-/x.yaml\", path: a.b, to: x, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.files: "tenants/[a-/x.yaml" is not a valid glob: syntax error in pattern`, schema: schemaAccepts},
	{name: "key path", src: campaignHead + "  change:\n    field: {files: x.yaml, path: services..eks, to: x, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.path: "services..eks" is not a key path like services.eks.config.*.version: keys are separated by single dots, and * stands alone for any key`},
	{name: "key path star in a key", src: campaignHead + "  change:\n    field: {files: x.yaml, path: \"services.eks*\", to: x, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.path: "services.eks*" is not a key path like services.eks.config.*.version: keys are separated by single dots, and * stands alone for any key`},
	{name: "field files and hierarchy", src: campaignHead + "  change:\n    field: {files: x.yaml, hierarchy: addons, path: a, to: x, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.hierarchy: and files exclude each other: a field change edits the files a glob matches or a hierarchy of the layout, not both`},
	{name: "field neither files nor hierarchy", src: campaignHead + "  change:\n    field: {path: a, to: x, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field: names no files: write files (a glob) or hierarchy (a hierarchy of the layout)`},
	{name: "field level without hierarchy", src: campaignHead + "  change:\n    field: {files: x.yaml, level: env, path: a, to: x, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.level: needs hierarchy: a level is a level of a hierarchy of the layout`},
	{name: "field unknown level", src: campaignHead + "  change:\n    field: {hierarchy: addons, level: region, path: a, to: x, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.level: "region" is not a level: use cluster, env, tenant or global`},
	{name: "label unknown level", src: campaignHead + "  change:\n    label: {key: a, to: b, level: fleet}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.label.level: "fleet" is not a level: use cluster, env, tenant or global`},
	{name: "hierarchy name", src: campaignHead + "  change:\n    field: {hierarchy: \"-x\", path: a, to: x, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.hierarchy: "-x" is not a hierarchy name: letters, digits, '.', '_' and '-', starting with a letter or digit`},
	{name: "hierarchy key path star", src: campaignHead + "  change:\n    field: {hierarchy: addons, path: a.*.version, to: x, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.path: "a.*.version": * matches no key here: a field of a hierarchy is one key path`, schema: schemaAccepts},
	{name: "hierarchy key path escape", src: campaignHead + "  change:\n    field: {hierarchy: addons, path: 'a\\b', to: x, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.path: key path "a\\b": backslash at byte 2 must be followed by '.' or '\': write keys separated by dots, with \. for a dot inside a key`, schema: schemaAccepts},
	{name: "field to a list", src: campaignHead + "  change:\n    field: {files: x.yaml, path: a, to: [x], revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.to: must be a single value, not a list`},
	{name: "field does nothing", src: campaignHead + "  change:\n    field: {files: x.yaml, path: a, from: 3, to: 3, revertible: true}\n  strategy: {order: [dev]}\n",
		want: `c.yaml:6: spec.change.field.to: equals from (3): the change would do nothing`, schema: schemaAccepts},
	{name: "selector not a mapping", src: campaignHead + campaignBody + "  selector: all\n",
		want: `c.yaml:7: spec.selector: must be a mapping, not "all"`},
	{name: "selector list repeats", src: campaignHead + campaignBody + "  selector: {tenants: [a, b, a]}\n",
		want: `c.yaml:7: spec.selector.tenants[2]: "a" is listed twice`},
	{name: "selector list entry empty", src: campaignHead + campaignBody + "  selector: {clusters: [\"\"]}\n",
		want: `c.yaml:7: spec.selector.clusters[0]: is empty`},
	{name: "selector list not a list", src: campaignHead + campaignBody + "  selector: {exclude: dev-cpu-1}\n",
		want: `c.yaml:7: spec.selector.exclude: must be a list, not "dev-cpu-1"`},
	{name: "selector env not in order", src: campaignHead + campaignBody + "  selector: {envs: [dev, qa]}\n",
		want: `c.yaml:7: spec.selector.envs[1]: "qa" is not in spec.strategy.order`, schema: schemaAccepts},
	{name: "selector label name", src: campaignHead + campaignBody + "  selector:\n    labels: {\"gpu type\": a100}\n",
		want: `c.yaml:8: spec.selector.labels.gpu type: "gpu type" is not a Kubernetes label name: use up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit, after an optional DNS prefix and '/'`},
	{name: "selector label value", src: campaignHead + campaignBody + "  selector:\n    labels: {enable_gpu: true}\n",
		want: `c.yaml:8: spec.selector.labels.enable_gpu: unquoted true is a boolean to YAML; labels are strings: write "true"`},
	{name: "strategy missing", src: campaignHead + "  change: {eksVersion: {to: \"1.30\"}}\n",
		want: "c.yaml:4: spec.strategy: is required"},
	{name: "order missing", src: campaignHead + "  change: {eksVersion: {to: \"1.30\"}}\n  strategy:\n    canary: false\n",
		want: "c.yaml:6: spec.strategy.order: is required"},
	{name: "order empty", src: campaignHead + "  change: {eksVersion: {to: \"1.30\"}}\n  strategy: {order: []}\n",
		want: "c.yaml:6: spec.strategy.order: is empty: list the environments in rollout order, like [dev, staging, prod]"},
	{name: "order repeats", src: campaignHead + "  change: {eksVersion: {to: \"1.30\"}}\n  strategy:\n    order:\n      - dev\n      - prod\n      - dev\n",
		want: `c.yaml:10: spec.strategy.order[2]: "dev" is listed twice`},
	{name: "maxConcurrency with a space", src: campaignHead + strategyBlock("maxConcurrency: 25 %"),
		want: `c.yaml:8: spec.strategy.maxConcurrency: "25 %" is neither a count nor a percentage`},
	{name: "maxConcurrency zero", src: campaignHead + strategyBlock("maxConcurrency: 0"),
		want: `c.yaml:8: spec.strategy.maxConcurrency: must be at least 1, not 0`},
	{name: "maxConcurrency zero string", src: campaignHead + strategyBlock(`maxConcurrency: "0"`),
		want: `c.yaml:8: spec.strategy.maxConcurrency: must be at least 1, not 0`},
	{name: "maxConcurrency over 100%", src: campaignHead + strategyBlock("maxConcurrency: 150%"),
		want: `c.yaml:8: spec.strategy.maxConcurrency: 150% is more than 100%`},
	{name: "maxConcurrency 0%", src: campaignHead + strategyBlock("maxConcurrency: 0%"),
		want: `c.yaml:8: spec.strategy.maxConcurrency: 0% is less than 1%`},
	{name: "maxFailures negative", src: campaignHead + strategyBlock("maxFailures: -1"),
		want: `c.yaml:8: spec.strategy.maxFailures: must be at least 0, not -1`},
	{name: "maxFailures fraction", src: campaignHead + strategyBlock("maxFailures: 2.5"),
		want: `c.yaml:8: spec.strategy.maxFailures: the number 2.5 is neither a count nor a percentage`},
	{name: "maxFailures a list", src: campaignHead + strategyBlock("maxFailures: [1]"),
		want: `c.yaml:8: spec.strategy.maxFailures: a list is neither a count nor a percentage`},
	{name: "maxPerTenant negative", src: campaignHead + strategyBlock("maxPerTenant: -2"),
		want: `c.yaml:8: spec.strategy.maxPerTenant: must be at least 0, not -2`},
	{name: "maxPerTenant fraction", src: campaignHead + strategyBlock("maxPerTenant: 1.5"),
		want: `c.yaml:8: spec.strategy.maxPerTenant: must be a whole number, not the number 1.5`},
	{name: "bake without a unit", src: campaignHead + strategyBlock("bake: 30"),
		want: `c.yaml:8: spec.strategy.bake: 30 is a number, not a duration: write it with a unit, like 30m or 2h`},
	{name: "bake in days", src: campaignHead + strategyBlock("bake: 1d"),
		want: `c.yaml:8: spec.strategy.bake: "1d" is not a duration like 30m, 2h or 1h30m (units h, m, s, ms, us, ns)`},
	{name: "bake negative", src: campaignHead + strategyBlock("bake: -5m"),
		want: `c.yaml:8: spec.strategy.bake: "-5m" is not a duration like 30m, 2h or 1h30m (units h, m, s, ms, us, ns)`},
	{name: "bake empty", src: campaignHead + strategyBlock("bake:"),
		want: `c.yaml:8: spec.strategy.bake: has no value: give one or remove the key`},
	{name: "progressDeadline zero", src: campaignHead + strategyBlock("progressDeadline: 0s"),
		want: `c.yaml:8: spec.strategy.progressDeadline: must be more than 0s`, schema: schemaAccepts},
	{name: "approvals not in order", src: campaignHead + strategyBlock("approvals: [prod, qa]"),
		want: `c.yaml:8: spec.strategy.approvals[1]: "qa" is not in spec.strategy.order`, schema: schemaAccepts},
	{name: "canary not a boolean", src: campaignHead + strategyBlock("canary: yes"),
		want: `c.yaml:8: spec.strategy.canary: must be true or false, not "yes"`},
	{name: "timezone unknown", src: campaignHead + campaignBody + "  schedule: {timezone: Europe/Berln}\n",
		want: `c.yaml:7: spec.schedule.timezone: "Europe/Berln" is not an IANA time zone such as Europe/Berlin`, schema: schemaAccepts},
	{name: "timezone Local", src: campaignHead + campaignBody + "  schedule: {timezone: Local}\n",
		want: `c.yaml:7: spec.schedule.timezone: "Local" depends on the machine fleetbot runs on: name an IANA time zone such as Europe/Berlin`, schema: schemaAccepts},
	{name: "timezone empty string", src: campaignHead + campaignBody + "  schedule: {timezone: \"\"}\n",
		want: `c.yaml:7: spec.schedule.timezone: is empty: name an IANA time zone such as Europe/Berlin, or leave timezone out for UTC`},
	{name: "timezone a path", src: campaignHead + campaignBody + "  schedule: {timezone: /etc/localtime}\n",
		want: `c.yaml:7: spec.schedule.timezone: "/etc/localtime" is not an IANA time zone such as Europe/Berlin`},
	{name: "notBefore a date", src: campaignHead + campaignBody + "  schedule: {notBefore: 2026-12-01}\n",
		want: `c.yaml:7: spec.schedule.notBefore: "2026-12-01" is not a time with a zone offset, like 2026-12-01T02:00:00+01:00 or 2026-12-01T01:00:00Z`},
	{name: "notBefore without a zone", src: campaignHead + campaignBody + "  schedule: {notBefore: \"2026-12-01T02:00:00\"}\n",
		want: `c.yaml:7: spec.schedule.notBefore: "2026-12-01T02:00:00" is not a time with a zone offset, like 2026-12-01T02:00:00+01:00 or 2026-12-01T01:00:00Z`},
	{name: "notBefore month 13", src: campaignHead + campaignBody + "  schedule: {notBefore: \"2026-13-01T02:00:00Z\"}\n",
		want: `c.yaml:7: spec.schedule.notBefore: "2026-13-01T02:00:00Z" is not a time with a zone offset, like 2026-12-01T02:00:00+01:00 or 2026-12-01T01:00:00Z`},
	{name: "notBefore empty", src: campaignHead + campaignBody + "  schedule:\n    notBefore:\n",
		want: `c.yaml:8: spec.schedule.notBefore: has no value: give one or remove the key`},
	{name: "windows not a list", src: campaignHead + campaignBody + "  schedule: {windows: {days: [Mon]}}\n",
		want: `c.yaml:7: spec.schedule.windows: must be a list, not a mapping`},
	{name: "window day name", src: campaignHead + campaignBody + windowBlock(`{days: [Tuesday], start: "02:00", end: "05:00"}`),
		want: `c.yaml:9: spec.schedule.windows[0].days[0]: "Tuesday" is not a day: use Mon, Tue, Wed, Thu, Fri, Sat or Sun`},
	{name: "window day lower case", src: campaignHead + campaignBody + windowBlock(`{days: [Mon, tue], start: "02:00", end: "05:00"}`),
		want: `c.yaml:9: spec.schedule.windows[0].days[1]: "tue" is not a day: use Mon, Tue, Wed, Thu, Fri, Sat or Sun`},
	{name: "window days empty", src: campaignHead + campaignBody + windowBlock(`{days: [], start: "02:00", end: "05:00"}`),
		want: `c.yaml:9: spec.schedule.windows[0].days: is empty: name the days the window starts on, like [Tue, Wed]`},
	{name: "window day repeats", src: campaignHead + campaignBody + windowBlock(`{days: [Mon, Mon], start: "02:00", end: "05:00"}`),
		want: `c.yaml:9: spec.schedule.windows[0].days[1]: "Mon" is listed twice`},
	{name: "window start", src: campaignHead + campaignBody + windowBlock(`{days: [Mon], start: "25:00", end: "05:00"}`),
		want: `c.yaml:9: spec.schedule.windows[0].start: "25:00" is not a time of day like "02:00"`},
	{name: "window end missing", src: campaignHead + campaignBody + windowBlock(`{days: [Mon], start: "02:00"}`),
		want: `c.yaml:9: spec.schedule.windows[0].end: is required`},
	{name: "window without length", src: campaignHead + campaignBody + windowBlock(`{days: [Mon], start: "2:00", end: "02:00"}`),
		want: `c.yaml:9: spec.schedule.windows[0].end: equals start (2:00): a window needs a length`, schema: schemaAccepts},
	{name: "window unknown field", src: campaignHead + campaignBody + windowBlock(`{day: [Mon], start: "02:00", end: "03:00"}`),
		want: "c.yaml:9: spec.schedule.windows[0].day: unknown field (did you mean \"days\"?)\nc.yaml:9: spec.schedule.windows[0].days: is required"},
	{name: "blackout reversed", src: campaignHead + campaignBody + "  schedule:\n    blackouts:\n      - from: 2027-01-05\n        to: 2026-12-20\n",
		want: `c.yaml:10: spec.schedule.blackouts[0].to: 2026-12-20 is before from (2027-01-05)`, schema: schemaAccepts},
	{name: "blackout date", src: campaignHead + campaignBody + "  schedule:\n    blackouts:\n      - {from: 2026-02-30, to: 2026-03-02}\n",
		want: `c.yaml:9: spec.schedule.blackouts[0].from: "2026-02-30" is not a date like 2026-12-20`},
	{name: "blackout a time", src: campaignHead + campaignBody + "  schedule:\n    blackouts:\n      - {from: 2026-12-20T00:00:00Z, to: 2026-12-21}\n",
		want: `c.yaml:9: spec.schedule.blackouts[0].from: "2026-12-20T00:00:00Z" is not a date like 2026-12-20`},
	{name: "maxOpenPRs negative", src: campaignHead + campaignBody + "  schedule: {maxOpenPRs: -1}\n",
		want: `c.yaml:7: spec.schedule.maxOpenPRs: must be at least 0, not -1`},
	{name: "maxWavesPerDay a string", src: campaignHead + campaignBody + "  schedule: {maxWavesPerDay: \"4\"}\n",
		want: `c.yaml:7: spec.schedule.maxWavesPerDay: must be a whole number, not "4"`},
	{name: "merge", src: campaignHead + campaignBody + "  merge: bot\n",
		want: `c.yaml:7: spec.merge: "bot" is not a merge mode: use owners or auto`},
	{name: "preflight of a label change", src: campaignHead + "  change: {label: {key: a, to: b}}\n  strategy: {order: [dev]}\n  gates:\n    eks:\n      roleARN: \"arn:aws:iam::{{ .Account }}:role/r\"\n      preflight: true\n",
		want: `c.yaml:10: spec.gates.eks.preflight: asks EKS whether a cluster is ready for the next minor version: only an eksVersion change has one`, schema: schemaAccepts},
	{name: "blue-green of a label change", src: campaignHead + "  change: {label: {key: a, to: b}}\n  strategy:\n    order: [dev, prod]\n    method: {prod: blueGreen}\n",
		want: `c.yaml:8: spec.strategy.method.prod: blueGreen replaces a cluster by a new one at the new version: only an eksVersion change may ask for it`, schema: schemaAccepts},
	{name: "method unknown", src: campaignHead + strategyBlock("method: {prod: rolling}"),
		want: `c.yaml:8: spec.strategy.method.prod: "rolling" is not a change method: use inPlace or blueGreen`},
	{name: "method of an environment not in order", src: campaignHead + strategyBlock("method: {qa: blueGreen}"),
		want: `c.yaml:8: spec.strategy.method.qa: "qa" is not in spec.strategy.order`, schema: schemaAccepts},
	{name: "traffic without blue-green", src: campaignHead + strategyBlock("traffic: [50, 100]"),
		want: `c.yaml:8: spec.strategy.traffic: gives the traffic steps of blue-green environments, and spec.strategy.method names none`, schema: schemaAccepts},
	{name: "traffic falling", src: campaignHead + strategyBlock("method: {prod: blueGreen}\n    traffic: [50, 10, 100]"),
		want: `c.yaml:9: spec.strategy.traffic[1]: 10: the steps must rise, each from 1 to 100`, schema: schemaAccepts},
	{name: "traffic short of 100", src: campaignHead + strategyBlock("method: {prod: blueGreen}\n    traffic: [10, 50]"),
		want: `c.yaml:9: spec.strategy.traffic: ends at 50: the last step gives the green cluster all of the traffic (100), before the blue one is removed`, schema: schemaAccepts},
	{name: "gates a list", src: campaignHead + campaignBody + "  gates: [argocd]\n",
		want: `c.yaml:7: spec.gates: must be a mapping, not a list`},
	{name: "several problems in line order",
		src: "apiVersion: fleetbot.io/v1alpha1\nkind: Campaign\nmetadata:\n  name: Big_Campaign\nspec:\n" +
			"  change:\n    eksVersion: {to: 1.30}\n  strategy:\n    order: [dev, prod]\n    maxConcurrency: \"25 %\"\n" +
			"    approvals: [staging]\n  merge: sometimes\n",
		want: `c.yaml:4: metadata.name: "Big_Campaign" is not a DNS label (it names branches): use up to 41 lower-case letters, digits and '-', starting and ending with a letter or digit
c.yaml:7: spec.change.eksVersion.to: unquoted 1.30 is the number 1.3 to YAML: quote it, "1.30"
c.yaml:10: spec.strategy.maxConcurrency: "25 %" is neither a count nor a percentage
c.yaml:11: spec.strategy.approvals[0]: "staging" is not in spec.strategy.order
c.yaml:12: spec.merge: "sometimes" is not a merge mode: use owners or auto`},
}

// strategyBlock is a block strategy at line 6: change at 5, order at 7,
// the given line at 8.
func strategyBlock(line string) string {
	return "  change: {eksVersion: {to: \"1.30\"}}\n  strategy:\n    order: [dev, prod]\n    " + line + "\n"
}

// windowBlock puts one window at line 9.
func windowBlock(w string) string {
	return "  schedule:\n    windows:\n      - " + w + "\n"
}

func TestParseCampaignErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range campaignErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := rollout.ParseCampaign("c.yaml", []byte(tc.src))
			require.Error(t, err, "the loader accepted:\n%s", tc.src)
			assert.Nil(t, c)
			assert.Equal(t, tc.want, err.Error())
			var list rollout.ErrorList
			require.ErrorAs(t, err, &list)
			var fe *rollout.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "c.yaml", fe.File)
		})
	}
}

func TestSchemaAgreesWithLoaderOnErrorCases(t *testing.T) {
	t.Parallel()
	schema := compileCampaignSchema(t)
	for _, tc := range campaignErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, err := campaignJSON([]byte(tc.src))
			if tc.schema == schemaNoJSON {
				require.Error(t, err, "the case is marked as having no JSON form, but it converts")
				return
			}
			require.NoError(t, err)
			verr := schema.Validate(doc)
			if tc.schema == schemaAccepts {
				assert.NoError(t, verr, "the schema now refuses this file: drop the schemaAccepts mark")
				return
			}
			assert.Error(t, verr, "the loader refuses this file but the schema accepts it:\n%s", tc.src)
		})
	}
}

// compileCampaignSchema compiles the embedded schema with format assertions
// on, so "date" and "date-time" are checked.
func compileCampaignSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(rollout.CampaignSchema()))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	require.NoError(t, c.AddResource("campaign.schema.json", doc))
	sch, err := c.Compile("campaign.schema.json")
	require.NoError(t, err)
	return sch
}

// campaignJSON converts a YAML campaign file to the JSON value an editor's
// schema check sees: timestamps are strings, numbers keep their value. It
// refuses what has no JSON form (several documents, repeated keys, merge
// keys, syntax errors).
func campaignJSON(src []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return nil, errors.New("more than one document")
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("no document")
	}
	return yamlToJSON(doc.Content[0])
}

func yamlToJSON(n *yaml.Node) (any, error) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.ShortTag() == "!!merge" {
				return nil, errors.New("merge key")
			}
			if _, dup := out[k.Value]; dup {
				return nil, fmt.Errorf("key %q repeated", k.Value)
			}
			v, err := yamlToJSON(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	case yaml.SequenceNode:
		out := []any{}
		for _, it := range n.Content {
			v, err := yamlToJSON(it)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!timestamp":
			return n.Value, nil
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			err := n.Decode(&b)
			return b, err
		case "!!int":
			var i int64
			if err := n.Decode(&i); err != nil {
				return nil, err
			}
			return json.Number(strconv.FormatInt(i, 10)), nil
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, err
			}
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("%s has no JSON form", n.Value)
			}
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
		}
	}
	return nil, fmt.Errorf("line %d: no JSON form for tag %s", n.Line, n.Tag)
}

func TestParseCampaignDefaults(t *testing.T) {
	t.Parallel()
	c, err := rollout.ParseCampaign("c.yaml", []byte(campaignHead+campaignBody))
	require.NoError(t, err)
	st := c.Spec.Strategy
	assert.True(t, st.Canary, "canary")
	assert.Equal(t, rollout.Quantity{Count: 1}, st.MaxConcurrency, "maxConcurrency")
	assert.Equal(t, rollout.Quantity{}, st.MaxFailures, "maxFailures")
	assert.Equal(t, time.Duration(0), st.Bake.Duration, "bake")
	assert.Equal(t, time.Hour, st.ProgressDeadline.Duration, "progressDeadline")
	assert.Equal(t, 0, st.MaxPerTenant, "maxPerTenant")
	assert.Equal(t, rollout.MergeOwners, c.Spec.Merge, "merge")
	assert.Equal(t, "sequential", c.Spec.Change.EKSVersion.Hops, "hops")
	assert.Equal(t, rollout.Schedule{}, c.Spec.Schedule, "schedule")
	assert.Equal(t, rollout.Selector{}, c.Spec.Selector, "selector")
	assert.Zero(t, c.Spec.Gates, "gates")
}

// TestParseCampaignBOMAndCRLF reads a file saved by an editor that writes a
// byte-order mark and CRLF line ends: lines still count right.
func TestParseCampaignHierarchyField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, change string
		want         rollout.Change
	}{
		{name: "default level", change: `{field: {hierarchy: addons, path: 'metricsServer.chart\.version', to: "3.13.0", revertible: true}}`,
			want: rollout.Change{Field: &rollout.FieldChange{Hierarchy: "addons", Level: rollout.LevelCluster, Path: `metricsServer.chart\.version`, To: "3.13.0", Revertible: true}}},
		{name: "env level", change: `{field: {hierarchy: labels, level: env, path: team, from: a, to: b, revertible: false}}`,
			want: rollout.Change{Field: &rollout.FieldChange{Hierarchy: "labels", Level: rollout.LevelEnv, Path: "team", From: "a", To: "b"}}},
		{name: "label level", change: `{label: {key: addonsRelease, to: release2, level: tenant}}`,
			want: rollout.Change{Label: &rollout.LabelChange{Key: "addonsRelease", To: "release2", Level: rollout.LevelTenant}}},
		{name: "label without level", change: `{label: {key: addonsRelease, to: release2}}`,
			want: rollout.Change{Label: &rollout.LabelChange{Key: "addonsRelease", To: "release2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := campaignHead + "  change: " + tc.change + "\n  strategy: {order: [dev]}\n"
			c, err := rollout.ParseCampaign("c.yaml", []byte(src))
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.Spec.Change)
			doc, err := campaignJSON([]byte(src))
			require.NoError(t, err)
			assert.NoError(t, compileCampaignSchema(t).Validate(doc))
		})
	}
}

func TestParseCampaignBOMAndCRLF(t *testing.T) {
	t.Parallel()
	src := "\ufeff" + strings.ReplaceAll(campaignHead+campaignBody, "\n", "\r\n")
	c, err := rollout.ParseCampaign("c.yaml", []byte(src))
	require.NoError(t, err)
	assert.Equal(t, "1.30", c.Spec.Change.EKSVersion.To)
	_, err = rollout.ParseCampaign("c.yaml", []byte(strings.Replace(src, `"1.30"`, "1.30", 1)))
	require.Error(t, err)
	assert.Equal(t, `c.yaml:5: spec.change.eksVersion.to: unquoted 1.30 is the number 1.3 to YAML: quote it, "1.30"`, err.Error())
}

// TestCampaignTestdata loads every file under testdata/campaigns: valid
// ones must match their decoded golden .json, invalid ones their .err
// golden; the schema must agree, unless an invalid file says
// "# schema-accepts:" and why.
func TestCampaignTestdata(t *testing.T) {
	t.Parallel()
	schema := compileCampaignSchema(t)
	files, err := filepath.Glob(filepath.Join("testdata", "campaigns", "*", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.ToSlash(file), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			require.NoError(t, err)
			valid := filepath.Base(filepath.Dir(file)) == "valid"
			c, loadErr := loadCampaignFile(file)
			var got []byte
			golden := strings.TrimSuffix(file, ".yaml")
			if valid {
				require.NoError(t, loadErr)
				var buf bytes.Buffer
				enc := json.NewEncoder(&buf)
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				require.NoError(t, enc.Encode(c))
				got = buf.Bytes()
				golden += ".json"
			} else {
				require.Error(t, loadErr)
				got = []byte(loadErr.Error() + "\n")
				golden += ".err"
			}
			checkCampaignGolden(t, golden, got)

			doc, err := campaignJSON(src)
			require.NoError(t, err)
			verr := schema.Validate(doc)
			switch {
			case valid:
				assert.NoError(t, verr, "the loader accepts the file, the schema refuses it")
			case bytes.Contains(src, []byte("# schema-accepts:")):
				assert.NoError(t, verr, "the schema now refuses the file: drop its schema-accepts note")
			default:
				assert.Error(t, verr, "the loader refuses the file, the schema accepts it")
			}
		})
	}
}

func checkCampaignGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if updateCampaignGolden() {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -update to write the golden file")
	assert.Equal(t, string(want), string(got), "golden %s differs; run go test -update if the change is intended", golden)
}

// TestExampleCampaigns checks that every sample campaign loads and that the
// schema accepts it.
func TestExampleCampaigns(t *testing.T) {
	t.Parallel()
	schema := compileCampaignSchema(t)
	files, err := filepath.Glob(filepath.Join("..", "examples", "campaigns", "*.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 3, "examples/campaigns holds the samples")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			_, err := loadCampaignFile(file)
			require.NoError(t, err)
			src, err := os.ReadFile(file)
			require.NoError(t, err)
			doc, err := campaignJSON(src)
			require.NoError(t, err)
			assert.NoError(t, schema.Validate(doc))
		})
	}
}

// TestPublishedSchemaIsTheEmbeddedOne keeps docs/campaign.schema.json equal
// to the schema the binary embeds; -update copies it.
func TestPublishedSchemaIsTheEmbeddedOne(t *testing.T) {
	t.Parallel()
	checkCampaignGolden(t, filepath.Join("..", "docs", "campaign.schema.json"), rollout.CampaignSchema())
}

func TestLoadCampaignMissingFile(t *testing.T) {
	t.Parallel()
	_, err := loadCampaignFile(filepath.Join(t.TempDir(), "none.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "read campaign: ")
}

// TestCampaignRoundTrip writes each valid campaign back as YAML and JSON and
// reads it again: nothing is lost.
func TestCampaignRoundTrip(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "campaigns", "valid", "*.yaml"))
	require.NoError(t, err)
	examples, err := filepath.Glob(filepath.Join("..", "examples", "campaigns", "*.yaml"))
	require.NoError(t, err)
	for _, file := range append(files, examples...) {
		t.Run(filepath.ToSlash(file), func(t *testing.T) {
			t.Parallel()
			c, err := loadCampaignFile(file)
			require.NoError(t, err)
			out, err := yaml.Marshal(c)
			require.NoError(t, err)
			again, err := rollout.ParseCampaign("again.yaml", out)
			require.NoError(t, err, "the written YAML does not load:\n%s", out)
			assertSameCampaign(t, c, again)

			js, err := json.Marshal(c)
			require.NoError(t, err)
			var fromJSON rollout.Campaign
			require.NoError(t, json.Unmarshal(js, &fromJSON))
			assertSameCampaign(t, c, &fromJSON)
		})
	}
}

// assertSameCampaign compares campaigns through JSON, where IsSet and the
// location of times do not show.
func assertSameCampaign(t *testing.T, want, got *rollout.Campaign) {
	t.Helper()
	a, err := json.Marshal(want)
	require.NoError(t, err)
	b, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, string(a), string(b))
}

func TestQuantity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, yamlIn string
		want       rollout.Quantity
		err        string
	}{
		{in: `3`, yamlIn: `3`, want: rollout.Quantity{Count: 3, IsSet: true}},
		{in: `"3"`, yamlIn: `"3"`, want: rollout.Quantity{Count: 3, IsSet: true}},
		{in: `0`, yamlIn: `0`, want: rollout.Quantity{IsSet: true}},
		{in: `"25%"`, yamlIn: `25%`, want: rollout.Quantity{Percent: 25, IsSet: true}},
		{in: `"100%"`, yamlIn: `100%`, want: rollout.Quantity{Percent: 100, IsSet: true}},
		{in: `"25 %"`, yamlIn: `25 %`, err: `"25 %" is neither a count nor a percentage`},
		{in: `"101%"`, yamlIn: `101%`, err: `101% is more than 100%`},
		{in: `"0%"`, yamlIn: `0%`, err: `0% is less than 1%`},
		{in: `"007"`, yamlIn: `"007"`, err: `"007" is neither a count nor a percentage`},
		{in: `2.5`, yamlIn: `2.5`, err: `neither a count nor a percentage`},
		{in: `-1`, yamlIn: `-1`, err: `-1`},
		{in: `true`, yamlIn: `true`, err: `neither a count nor a percentage`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			var fromJSON, fromYAML rollout.Quantity
			jerr := json.Unmarshal([]byte(tc.in), &fromJSON)
			yerr := yaml.Unmarshal([]byte(tc.yamlIn), &fromYAML)
			if tc.err != "" {
				require.Error(t, jerr)
				require.Error(t, yerr)
				assert.Contains(t, jerr.Error(), tc.err)
				assert.Contains(t, yerr.Error(), tc.err)
				return
			}
			require.NoError(t, jerr)
			require.NoError(t, yerr)
			assert.Equal(t, tc.want, fromJSON)
			assert.Equal(t, tc.want, fromYAML)

			js, err := json.Marshal(tc.want)
			require.NoError(t, err)
			var back rollout.Quantity
			require.NoError(t, json.Unmarshal(js, &back))
			assert.Equal(t, tc.want, back, "JSON round trip through %s", js)
			ys, err := yaml.Marshal(tc.want)
			require.NoError(t, err)
			back = rollout.Quantity{}
			require.NoError(t, yaml.Unmarshal(ys, &back))
			assert.Equal(t, tc.want, back, "YAML round trip through %s", ys)
		})
	}
}

func TestQuantityOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		q     rollout.Quantity
		total int
		want  int
	}{
		{rollout.Quantity{Count: 3}, 10, 3},
		{rollout.Quantity{Percent: 25}, 10, 2},
		{rollout.Quantity{Percent: 25}, 3, 1},
		{rollout.Quantity{Percent: 25}, 0, 0},
		{rollout.Quantity{Percent: 100}, 7, 7},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s of %d", tc.q, tc.total), func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.q.Of(tc.total))
		})
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		want  time.Duration
		write string
		err   string
	}{
		{in: "30m", want: 30 * time.Minute, write: "30m"},
		{in: "2h", want: 2 * time.Hour, write: "2h"},
		{in: "1h30m", want: 90 * time.Minute, write: "1h30m"},
		{in: "90s", want: 90 * time.Second, write: "1m30s"},
		{in: "0s", want: 0, write: "0s"},
		{in: "1.5h", want: 90 * time.Minute, write: "1h30m"},
		{in: "1d", err: `"1d" is not a duration like 30m, 2h or 1h30m (units h, m, s, ms, us, ns)`},
		{in: "0", err: `"0" is not a duration`},
		{in: "-1m", err: `"-1m" is not a duration`},
		{in: "99999999999h", err: `"99999999999h" is too long`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			d, err := rollout.ParseDuration(tc.in)
			var fromJSON, fromYAML rollout.Duration
			jerr := json.Unmarshal([]byte(strconv.Quote(tc.in)), &fromJSON)
			yerr := yaml.Unmarshal([]byte(strconv.Quote(tc.in)), &fromYAML)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				assert.Error(t, jerr)
				assert.Error(t, yerr)
				return
			}
			require.NoError(t, err)
			require.NoError(t, jerr)
			require.NoError(t, yerr)
			assert.Equal(t, tc.want, d.Duration)
			assert.Equal(t, tc.want, fromJSON.Duration)
			assert.Equal(t, tc.want, fromYAML.Duration)
			assert.Equal(t, tc.write, d.String())
			js, err := json.Marshal(d)
			require.NoError(t, err)
			assert.Equal(t, strconv.Quote(tc.write), string(js))
		})
	}
}

// FuzzParseCampaign feeds the loader arbitrary bytes: it must not panic,
// must name the file in every error line, and what it accepts must survive
// a round trip through YAML.
func FuzzParseCampaign(f *testing.F) {
	for _, tc := range campaignErrorCases {
		f.Add([]byte(tc.src))
	}
	for _, dir := range []string{filepath.Join("testdata", "campaigns", "*"), filepath.Join("..", "examples", "campaigns")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			if src, err := os.ReadFile(file); err == nil {
				f.Add(src)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := rollout.ParseCampaign("fuzz.yaml", src)
		if err != nil {
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Fatalf("error line without the file name: %q", line)
				}
			}
			return
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := rollout.ParseCampaign("again.yaml", out)
		if err != nil {
			t.Fatalf("written campaign does not load: %v\n%s", err, out)
		}
		a, _ := json.Marshal(c)
		b, _ := json.Marshal(again)
		if !reflect.DeepEqual(jsonValue(t, a), jsonValue(t, b)) {
			t.Fatalf("round trip changed the campaign:\n%s\n%s", a, b)
		}
	})
}

func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// loadCampaignFile reads and parses a campaign file, as the commands do.
func loadCampaignFile(path string) (*rollout.Campaign, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read campaign: %w", err)
	}
	return rollout.ParseCampaign(path, src)
}
