package rollout_test

import (
	"encoding/json"
	"math"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
)

// gatesCampaign puts gates, written at the indentation of spec.gates'
// fields, under "  gates:" at line 7; the first line of gates is line 8.
func gatesCampaign(gates string) string {
	var b strings.Builder
	b.WriteString(campaignHead + campaignBody + "  gates:\n")
	for line := range strings.SplitSeq(strings.TrimSuffix(gates, "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
	return b.String()
}

// promGate is a valid Prometheus gate whose query fields come from q, at
// line 12 (the query's name at line 11).
func promGate(q string) string {
	return "prometheus:\n  address: http://prometheus:9090\n  queries:\n    - name: errors\n      " + q
}

var gateErrorCases = []campaignErrorCase{
	{name: "unknown gate", src: gatesCampaign("prometeus: {}"),
		want: "c.yaml:8: spec.gates.prometeus: unknown field (did you mean \"prometheus\"?)"},
	{name: "unknown gate far from any", src: gatesCampaign("datadog: {}"),
		want: "c.yaml:8: spec.gates.datadog: unknown field (known: argocd, eks, prometheus, terraform)"},
	{name: "gate without settings", src: gatesCampaign("terraform:"),
		want: "c.yaml:8: spec.gates.terraform: has no value"},
	{name: "gate a list", src: gatesCampaign("terraform: [terraform-apply]"),
		want: "c.yaml:8: spec.gates.terraform: must be a mapping, not a list"},
	{name: "terraform checks missing", src: gatesCampaign("terraform: {}"),
		want: "c.yaml:8: spec.gates.terraform.checks: is required"},
	{name: "terraform checks empty", src: gatesCampaign("terraform: {checks: []}"),
		want: "c.yaml:8: spec.gates.terraform.checks: is empty: name the check runs or commit statuses Terraform CI reports, like [terraform-apply]"},
	{name: "terraform check repeated", src: gatesCampaign("terraform: {checks: [plan, plan]}"),
		want: `c.yaml:8: spec.gates.terraform.checks[1]: "plan" is listed twice`},
	{name: "terraform check bad pattern", src: gatesCampaign(`terraform: {checks: ["tf/[a-"]}`),
		want: `c.yaml:8: spec.gates.terraform.checks[0]: "tf/[a-" is not a valid pattern: syntax error in pattern`, schema: schemaAccepts},
	{name: "terraform check bad template", src: gatesCampaign(`terraform: {checks: ["apply ({{ .Clustr }})"]}`),
		want: `c.yaml:8: spec.gates.terraform.checks[0]: "apply ({{ .Clustr }})": .Clustr is not a field: use .Cluster, .Tenant, .Env, .Region, .Account, .Fleet or .Traffic`, schema: schemaAccepts},
	{name: "terraform check template syntax", src: gatesCampaign(`terraform: {checks: [plan, "apply ({{ .Cluster )"]}`),
		want: `c.yaml:8: spec.gates.terraform.checks[1]: "apply ({{ .Cluster )" is not a template: unexpected right paren`, schema: schemaAccepts},
	{name: "terraform check renders a bad pattern", src: gatesCampaign(`terraform: {checks: ["apply [{{ .Cluster }}"]}`),
		want: `c.yaml:8: spec.gates.terraform.checks[0]: "apply [{{ .Cluster }}" renders to "apply [dev-cpu-1" for cluster dev-cpu-1, which is not a valid pattern: syntax error in pattern`, schema: schemaAccepts},
	{name: "terraform check renders empty", src: gatesCampaign(`terraform: {checks: ["{{ if eq .Env \"prod\" }}apply{{ end }}"]}`),
		want: `c.yaml:8: spec.gates.terraform.checks[0]: "{{ if eq .Env \"prod\" }}apply{{ end }}" renders to an empty name for cluster dev-cpu-1`, schema: schemaAccepts},
	{name: "terraform check a number", src: gatesCampaign("terraform: {checks: [42]}"),
		want: `c.yaml:8: spec.gates.terraform.checks[0]: must be a string, not the number 42: quote it`},
	{name: "terraform unknown key", src: gatesCampaign("terraform: {checks: [a], contexts: [b]}"),
		want: `c.yaml:8: spec.gates.terraform.contexts: unknown field (known: checks)`},
	{name: "argocd required fields", src: gatesCampaign("argocd: {project: x}"),
		want: "c.yaml:8: spec.gates.argocd.server: is required\nc.yaml:8: spec.gates.argocd.tokenEnv: is required"},
	{name: "argocd token in the file", src: gatesCampaign("argocd: {server: https://argocd, tokenEnv: T, token: abc}"),
		want: "c.yaml:8: spec.gates.argocd.token: unknown field (did you mean \"tokenEnv\"?)"},
	{name: "argocd server not a URL", src: gatesCampaign("argocd: {server: argocd.example.com, tokenEnv: T}"),
		want: `c.yaml:8: spec.gates.argocd.server: "argocd.example.com" is not an http or https URL such as https://argocd.example.com`},
	{name: "argocd server with credentials", src: gatesCampaign("argocd: {server: \"https://admin:s3cret@argocd\", tokenEnv: T}"),
		want: `c.yaml:8: spec.gates.argocd.server: holds credentials: never write them in the file; the URL is the server's address alone`},
	{name: "argocd server with a query", src: gatesCampaign("argocd: {server: \"https://argocd/?x=1\", tokenEnv: T}"),
		want: `c.yaml:8: spec.gates.argocd.server: "https://argocd/?x=1" is a base URL: leave out the query and fragment`},
	{name: "argocd server with a space", src: gatesCampaign("argocd: {server: \"https://argocd/a b\", tokenEnv: T}"),
		want: `c.yaml:8: spec.gates.argocd.server: "https://argocd/a b" is not an http or https URL such as https://argocd.example.com`},
	{name: "argocd tokenEnv", src: gatesCampaign("argocd: {server: https://argocd, tokenEnv: ARGOCD-TOKEN}"),
		want: `c.yaml:8: spec.gates.argocd.tokenEnv: "ARGOCD-TOKEN" is not an environment variable name: use letters, digits and '_', not starting with a digit (the token itself never goes in the file)`},
	{name: "argocd selector", src: gatesCampaign("argocd: {server: https://argocd, tokenEnv: T, selector: \"fleetbot.io/gate=yes please\"}"),
		want: `c.yaml:8: spec.gates.argocd.selector: "fleetbot.io/gate=yes please" is not a label selector: "yes please" is not a Kubernetes label value: use up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`, schema: schemaAccepts},
	{name: "argocd selector empty requirement", src: gatesCampaign("argocd: {server: https://argocd, tokenEnv: T, selector: \"a=b,,c\"}"),
		want: `c.yaml:8: spec.gates.argocd.selector: "a=b,,c" is not a label selector: an empty requirement between commas`, schema: schemaAccepts},
	{name: "argocd selector set", src: gatesCampaign("argocd: {server: https://argocd, tokenEnv: T, selector: \"env in (dev, pr od)\"}"),
		want: `c.yaml:8: spec.gates.argocd.selector: "env in (dev, pr od)" is not a label selector: "pr od" is not a Kubernetes label value: use up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`, schema: schemaAccepts},
	{name: "argocd selector empty", src: gatesCampaign("argocd: {server: https://argocd, tokenEnv: T, selector: \" \"}"),
		want: `c.yaml:8: spec.gates.argocd.selector: is empty: leave selector out to use all of the cluster's applications`},
	{name: "prometheus address missing", src: gatesCampaign("prometheus:\n  queries: [{name: a, query: up, success: result > 0}]"),
		want: "c.yaml:8: spec.gates.prometheus.address: is required"},
	{name: "prometheus queries missing", src: gatesCampaign("prometheus: {address: http://p:9090}"),
		want: "c.yaml:8: spec.gates.prometheus.queries: is required"},
	{name: "prometheus queries empty", src: gatesCampaign("prometheus: {address: http://p:9090, queries: []}"),
		want: "c.yaml:8: spec.gates.prometheus.queries: is empty: give at least one query with a name, a query and a success condition"},
	{name: "prometheus interval zero", src: gatesCampaign("prometheus: {address: http://p:9090, interval: 0s, queries: [{name: a, query: up, success: result > 0}]}"),
		want: "c.yaml:8: spec.gates.prometheus.interval: must be more than 0s", schema: schemaAccepts},
	{name: "prometheus interval a number", src: gatesCampaign("prometheus: {address: http://p:9090, interval: 60, queries: [{name: a, query: up, success: result > 0}]}"),
		want: "c.yaml:8: spec.gates.prometheus.interval: 60 is a number, not a duration: write it with a unit, like 30m or 2h"},
	{name: "prometheus count zero", src: gatesCampaign("prometheus: {address: http://p:9090, count: 0, queries: [{name: a, query: up, success: result > 0}]}"),
		want: "c.yaml:8: spec.gates.prometheus.count: must be at least 1, not 0"},
	{name: "prometheus failureLimit a string", src: gatesCampaign("prometheus: {address: http://p:9090, failureLimit: \"1\", queries: [{name: a, query: up, success: result > 0}]}"),
		want: `c.yaml:8: spec.gates.prometheus.failureLimit: must be a whole number, not "1"`},
	{name: "prometheus inconclusiveLimit negative", src: gatesCampaign("prometheus: {address: http://p:9090, inconclusiveLimit: -1, queries: [{name: a, query: up, success: result > 0}]}"),
		want: "c.yaml:8: spec.gates.prometheus.inconclusiveLimit: must be at least 0, not -1"},
	{name: "prometheus measurements beyond the deadline", src: gatesCampaign("prometheus: {address: http://p:9090, interval: 20m, count: 4, queries: [{name: a, query: up, success: result > 0}]}"),
		want: "c.yaml:8: spec.gates.prometheus: 4 measurements 20m apart take 1h, not less than spec.strategy.progressDeadline (1h): the gate could never pass in time", schema: schemaAccepts},
	{name: "query unknown key", src: gatesCampaign(promGate("query: up\n      success: result > 0\n      condition: result > 0")),
		want: "c.yaml:14: spec.gates.prometheus.queries[0].condition: unknown field (known: failure, name, query, success)"},
	{name: "query name repeated", src: gatesCampaign("prometheus:\n  address: http://p:9090\n  queries:\n    - {name: a, query: up, success: result > 0}\n    - {name: a, query: up, success: result > 0}"),
		want: `c.yaml:12: spec.gates.prometheus.queries[1].name: "a" names another query too (line 11)`, schema: schemaAccepts},
	{name: "query name", src: gatesCampaign("prometheus:\n  address: http://p:9090\n  queries:\n    - {name: api errors, query: up, success: result > 0}"),
		want: `c.yaml:11: spec.gates.prometheus.queries[0].name: "api errors" is not a query name: use up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`},
	{name: "query empty", src: gatesCampaign(promGate("query: \" \"\n      success: result > 0")),
		want: `c.yaml:12: spec.gates.prometheus.queries[0].query: is empty: write the PromQL query`},
	{name: "query unknown template field", src: gatesCampaign(promGate("query: 'up{cluster=\"{{ .Clustr }}\"}'\n      success: result > 0")),
		want: `c.yaml:12: spec.gates.prometheus.queries[0].query: "up{cluster=\"{{ .Clustr }}\"}": .Clustr is not a field: use .Cluster, .Tenant, .Env, .Region, .Account, .Fleet or .Traffic`, schema: schemaAccepts},
	{name: "query template field of a field", src: gatesCampaign(promGate("query: 'up{cluster=\"{{ .Cluster.Name }}\"}'\n      success: result > 0")),
		want: `c.yaml:12: spec.gates.prometheus.queries[0].query: "up{cluster=\"{{ .Cluster.Name }}\"}": .Cluster.Name: .Cluster is a string and has no fields`, schema: schemaAccepts},
	{name: "query template field in a block", src: gatesCampaign(promGate("query: '{{ if eq .Env \"prod\" }}{{ $.Acount }}{{ end }}'\n      success: result > 0")),
		want: `c.yaml:12: spec.gates.prometheus.queries[0].query: "{{ if eq .Env \"prod\" }}{{ $.Acount }}{{ end }}": .Acount is not a field: use .Cluster, .Tenant, .Env, .Region, .Account, .Fleet or .Traffic`, schema: schemaAccepts},
	{name: "query template syntax", src: gatesCampaign(promGate("query: 'up{cluster=\"{{ .Cluster }\"}'\n      success: result > 0")),
		want: `c.yaml:12: spec.gates.prometheus.queries[0].query: "up{cluster=\"{{ .Cluster }\"}" is not a template: unexpected "}" in operand`, schema: schemaAccepts},
	{name: "query template function", src: gatesCampaign(promGate("query: '{{ upper .Cluster }}'\n      success: result > 0")),
		want: `c.yaml:12: spec.gates.prometheus.queries[0].query: "{{ upper .Cluster }}" is not a template: function "upper" not defined`, schema: schemaAccepts},
	{name: "query template does not execute", src: gatesCampaign(promGate("query: '{{ index .Cluster 99 }}'\n      success: result > 0")),
		want: `c.yaml:12: spec.gates.prometheus.queries[0].query: "{{ index .Cluster 99 }}" does not execute: error calling index: index out of range: 99`, schema: schemaAccepts},
	{name: "success missing", src: gatesCampaign(promGate("query: up")),
		want: `c.yaml:11: spec.gates.prometheus.queries[0].success: is required`},
	{name: "success a number", src: gatesCampaign(promGate("query: up\n      success: 0.5")),
		want: `c.yaml:13: spec.gates.prometheus.queries[0].success: must be a string, not the number 0.5: quote it`},
	{name: "success without result", src: gatesCampaign(promGate("query: up\n      success: \"< 0.5\"")),
		want: `c.yaml:13: spec.gates.prometheus.queries[0].success: "< 0.5" is not a condition: at column 1: want result, found "<"; a condition is "result OP number", OP one of <, <=, >, >=, == or !=, joined by and / or, as in "result > 0 and result < 0.5"`},
	{name: "success empty", src: gatesCampaign(promGate("query: up\n      success: \"\"")),
		want: `c.yaml:13: spec.gates.prometheus.queries[0].success: "" is not a condition: it is empty; a condition is "result OP number", OP one of <, <=, >, >=, == or !=, joined by and / or, as in "result > 0 and result < 0.5"`},
	{name: "success single equals", src: gatesCampaign(promGate("query: up\n      success: result = 1")),
		want: `c.yaml:13: spec.gates.prometheus.queries[0].success: "result = 1" is not a condition: at column 8: want a comparison (<, <=, >, >=, == or !=), found "="; a condition is "result OP number", OP one of <, <=, >, >=, == or !=, joined by and / or, as in "result > 0 and result < 0.5"`},
	{name: "success no number", src: gatesCampaign(promGate("query: up\n      success: result <")),
		want: `c.yaml:13: spec.gates.prometheus.queries[0].success: "result <" is not a condition: at column 9: want a number, found the end; a condition is "result OP number", OP one of <, <=, >, >=, == or !=, joined by and / or, as in "result > 0 and result < 0.5"`},
	{name: "success symbol joins", src: gatesCampaign(promGate("query: up\n      success: result > 0 && result < 1")),
		want: `c.yaml:13: spec.gates.prometheus.queries[0].success: "result > 0 && result < 1" is not a condition: at column 12: want and, or or the end, found "&"; a condition is "result OP number", OP one of <, <=, >, >=, == or !=, joined by and / or, as in "result > 0 and result < 0.5"`},
	{name: "success dangling and", src: gatesCampaign(promGate("query: up\n      success: result > 0 and")),
		want: `c.yaml:13: spec.gates.prometheus.queries[0].success: "result > 0 and" is not a condition: at column 15: want result, found the end; a condition is "result OP number", OP one of <, <=, >, >=, == or !=, joined by and / or, as in "result > 0 and result < 0.5"`},
	{name: "success NaN", src: gatesCampaign(promGate("query: up\n      success: result != NaN")),
		want: `c.yaml:13: spec.gates.prometheus.queries[0].success: "result != NaN" is not a condition: at column 11: want a number, found "NaN"; a condition is "result OP number", OP one of <, <=, >, >=, == or !=, joined by and / or, as in "result > 0 and result < 0.5"`},
	{name: "success out of range", src: gatesCampaign(promGate("query: up\n      success: result < 1e999")),
		want: `c.yaml:13: spec.gates.prometheus.queries[0].success: "result < 1e999" is not a condition: at column 10: 1e999 is out of range; a condition is "result OP number", OP one of <, <=, >, >=, == or !=, joined by and / or, as in "result > 0 and result < 0.5"`, schema: schemaAccepts},
	{name: "failure bad", src: gatesCampaign(promGate("query: up\n      success: result < 1\n      failure: results > 2")),
		want: `c.yaml:14: spec.gates.prometheus.queries[0].failure: "results > 2" is not a condition: at column 1: want result, found "results"; a condition is "result OP number", OP one of <, <=, >, >=, == or !=, joined by and / or, as in "result > 0 and result < 0.5"`},
	{name: "failure empty", src: gatesCampaign(promGate("query: up\n      success: result < 1\n      failure:")),
		want: `c.yaml:14: spec.gates.prometheus.queries[0].failure: has no value: give one or remove the key`},
	{name: "eks roleARN missing", src: gatesCampaign("eks: {nodegroups: false}"),
		want: "c.yaml:8: spec.gates.eks.roleARN: is required"},
	{name: "eks roleARN not an ARN", src: gatesCampaign("eks: {roleARN: fleetbot-verify}"),
		want: `c.yaml:8: spec.gates.eks.roleARN: "fleetbot-verify" is not an IAM role ARN such as arn:aws:iam::{{ .Account }}:role/fleetbot-verify`},
	{name: "eks roleARN a user", src: gatesCampaign("eks: {roleARN: \"arn:aws:iam::{{ .Account }}:user/bot\"}"),
		want: `c.yaml:8: spec.gates.eks.roleARN: "arn:aws:iam::{{ .Account }}:user/bot" is not an IAM role ARN such as arn:aws:iam::{{ .Account }}:role/fleetbot-verify`, schema: schemaAccepts},
	{name: "eks roleARN template field", src: gatesCampaign("eks: {roleARN: \"arn:aws:iam::{{ .AccountID }}:role/x\"}"),
		want: `c.yaml:8: spec.gates.eks.roleARN: "arn:aws:iam::{{ .AccountID }}:role/x": .AccountID is not a field: use .Cluster, .Tenant, .Env, .Region, .Account, .Fleet or .Traffic`, schema: schemaAccepts},
	{name: "eks externalID", src: gatesCampaign("eks: {roleARN: \"arn:aws:iam::{{ .Account }}:role/x\", externalID: \"a b\"}"),
		want: `c.yaml:8: spec.gates.eks.externalID: is not an STS external ID: use 2 to 1224 letters, digits and any of _+=,.@:/-`},
	{name: "eks nodegroups", src: gatesCampaign("eks: {roleARN: \"arn:aws:iam::{{ .Account }}:role/x\", nodegroups: \"yes\"}"),
		want: `c.yaml:8: spec.gates.eks.nodegroups: must be true or false, not "yes"`},
	{name: "several gate problems in line order", src: gatesCampaign("terraform:\n  checks: []\neks:\n  roleARN: x\nargocd:\n  server: https://argocd\n  tokenEnv: \"1\""),
		want: "c.yaml:9: spec.gates.terraform.checks: is empty: name the check runs or commit statuses Terraform CI reports, like [terraform-apply]\n" +
			"c.yaml:11: spec.gates.eks.roleARN: \"x\" is not an IAM role ARN such as arn:aws:iam::{{ .Account }}:role/fleetbot-verify\n" +
			"c.yaml:14: spec.gates.argocd.tokenEnv: \"1\" is not an environment variable name: use letters, digits and '_', not starting with a digit (the token itself never goes in the file)"},
}

func TestParseCampaignGateErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range gateErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := rollout.ParseCampaign("c.yaml", []byte(tc.src))
			require.Error(t, err, "the loader accepted:\n%s", tc.src)
			assert.Nil(t, c)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

func TestSchemaAgreesWithLoaderOnGateErrors(t *testing.T) {
	t.Parallel()
	schema := compileCampaignSchema(t)
	for _, tc := range gateErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, err := campaignJSON([]byte(tc.src))
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

// validGates are gate sections the loader and the schema both accept.
var validGates = []struct {
	name  string
	gates string
	names []string
}{
	{name: "none", gates: "{}", names: nil},
	{name: "terraform", gates: "terraform: {checks: [terraform-apply, \"tf/*\"]}", names: []string{"terraform"}},
	{name: "terraform per cluster", gates: "terraform: {checks: [\"terraform-apply ({{ .Cluster }})\", \"tf/{{ .Tenant }}/*\", plan]}", names: []string{"terraform"}},
	{name: "argocd minimal", gates: "argocd: {server: \"http://argocd:8080/api-base\", tokenEnv: _T1}", names: []string{"argocd"}},
	{name: "argocd selectors", gates: "argocd: {server: https://argocd, tokenEnv: T, selector: \"a=b, c==d,e!=f, g, !h, i in (x, y), j notin (z), k=\"}", names: []string{"argocd"}},
	{name: "prometheus conditions", gates: promGate("query: up\n      success: result>=1 and result<=3 or result == -1.5e2\n      failure: result<.5"), names: []string{"prometheus"}},
	{name: "all four", gates: "eks: {roleARN: \"arn:aws:iam::{{ .Account }}:role/fleetbot-verify\", externalID: ab}\n" +
		"prometheus: {address: http://p:9090, interval: 30s, count: 3, queries: [{name: a, query: '{{ with .Cluster }}{{ . }}{{ end }}', success: result > 0}]}\n" +
		"argocd: {server: https://argocd, tokenEnv: T}\nterraform: {checks: [x]}",
		names: []string{"argocd", "eks", "prometheus", "terraform"}},
}

func TestParseCampaignValidGates(t *testing.T) {
	t.Parallel()
	schema := compileCampaignSchema(t)
	for _, tc := range validGates {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := gatesCampaign(tc.gates)
			c, err := rollout.ParseCampaign("c.yaml", []byte(src))
			require.NoError(t, err)
			assert.Equal(t, tc.names, c.Spec.Gates.Names())
			doc, err := campaignJSON([]byte(src))
			require.NoError(t, err)
			assert.NoError(t, schema.Validate(doc), "the loader accepts the gates, the schema refuses them")
		})
	}
}

func TestPrometheusGateDefaults(t *testing.T) {
	t.Parallel()
	c, err := rollout.ParseCampaign("c.yaml", []byte(gatesCampaign(promGate("query: up\n      success: result > 0"))))
	require.NoError(t, err)
	p := c.Spec.Gates.Prometheus
	require.NotNil(t, p)
	assert.Equal(t, rollout.DefaultPrometheusInterval, p.Interval.Duration, "interval")
	assert.Equal(t, rollout.DefaultPrometheusCount, p.Count, "count")
	assert.Equal(t, 0, p.FailureLimit, "failureLimit")
	assert.Equal(t, 0, p.InconclusiveLimit, "inconclusiveLimit")
	assert.Nil(t, p.Queries[0].Failure, "failure")

	c, err = rollout.ParseCampaign("c.yaml", []byte(gatesCampaign("eks: {roleARN: \"arn:aws:iam::{{ .Account }}:role/x\"}")))
	require.NoError(t, err)
	assert.True(t, c.Spec.Gates.EKS.Nodegroups, "nodegroups")
}

func TestCondition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cond string
		true []float64
		fals []float64
	}{
		{cond: "result < 0.5", true: []float64{0.49, -1, math.Inf(-1)}, fals: []float64{0.5, 1, math.NaN()}},
		{cond: "result <= 0.5", true: []float64{0.5}, fals: []float64{0.51}},
		{cond: "result > 2", true: []float64{2.01, math.Inf(1)}, fals: []float64{2, math.NaN()}},
		{cond: "result >= 2", true: []float64{2}, fals: []float64{1.99}},
		{cond: "result == 1", true: []float64{1}, fals: []float64{1.0000001}},
		{cond: "result != 1", true: []float64{0, math.NaN()}, fals: []float64{1}},
		{cond: "result > 0 and result < 1", true: []float64{0.5}, fals: []float64{0, 1}},
		// and binds tighter: (r < 0) or (r > 10 and r < 20)
		{cond: "result < 0 or result > 10 and result < 20", true: []float64{-1, 15}, fals: []float64{5, 25}},
		{cond: "result>=1e3 or result==-.5", true: []float64{1000, -0.5}, fals: []float64{999}},
	}
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			t.Parallel()
			c, err := rollout.ParseCondition(tc.cond)
			require.NoError(t, err)
			assert.Equal(t, tc.cond, c.String())
			for _, v := range tc.true {
				assert.True(t, c.Eval(v), "%s with result %v", tc.cond, v)
			}
			for _, v := range tc.fals {
				assert.False(t, c.Eval(v), "%s with result %v", tc.cond, v)
			}
		})
	}
	assert.False(t, rollout.Condition{}.Eval(0), "the zero condition is never true")
	assert.True(t, rollout.Condition{}.IsZero())
}

func TestTemplate(t *testing.T) {
	t.Parallel()
	tmpl, err := rollout.ParseTemplate(`{{ .Cluster }}/{{ .Tenant }}/{{ .Env }}/{{ .Region }}/{{ .Account }}/{{ .Fleet }}/{{ .Traffic }}`)
	require.NoError(t, err)
	got, err := tmpl.Execute(rollout.TemplateVars{Cluster: "c", Tenant: "t", Env: "e", Region: "r", Account: "a", Fleet: "f", Traffic: 50})
	require.NoError(t, err)
	assert.Equal(t, "c/t/e/r/a/f/50", got)

	var zero rollout.Template
	got, err = zero.Execute(rollout.TemplateVars{Cluster: "c"})
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestTerraformPatterns(t *testing.T) {
	t.Parallel()
	c, err := rollout.ParseCampaign("c.yaml", []byte(gatesCampaign(
		`terraform: {checks: [plan, "terraform-* ({{ .Cluster }})", "drift/{{ .Tenant }}/{{ .Region }}"]}`)))
	require.NoError(t, err)
	tf := c.Spec.Gates.Terraform
	require.NotNil(t, tf)

	got, err := tf.Patterns(rollout.TemplateVars{Cluster: "prod-cpu-1", Tenant: "tenant-b", Region: "us-east-1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"plan", "terraform-* (prod-cpu-1)", "drift/tenant-b/us-east-1"}, got)

	// A value is never a pattern: a cluster called "a*" matches itself only.
	got, err = tf.Patterns(rollout.TemplateVars{Cluster: "a*[1]?", Tenant: `t\`})
	require.NoError(t, err)
	assert.Equal(t, `terraform-* (a\*\[1]\?)`, got[1])
	for name, want := range map[string]bool{"terraform-apply (a*[1]?)": true, "terraform-apply (ab1x)": false} {
		ok, err := path.Match(got[1], name)
		require.NoError(t, err)
		assert.Equal(t, want, ok, name)
	}
	ok, err := path.Match(got[2], `drift/t\/`)
	require.NoError(t, err)
	assert.True(t, ok, "a backslash in a value is escaped too")
}

// TestGatesJSONRoundTrip decodes a campaign's gates from JSON: templates and
// conditions are parsed again and keep their text.
func TestGatesJSONRoundTrip(t *testing.T) {
	t.Parallel()
	c, err := loadCampaignFile("testdata/campaigns/valid/full.yaml")
	require.NoError(t, err)
	js, err := json.Marshal(c.Spec.Gates)
	require.NoError(t, err)
	var back rollout.Gates
	require.NoError(t, json.Unmarshal(js, &back))
	q := back.Prometheus.Queries[0]
	assert.True(t, q.Success.Eval(0.1))
	assert.False(t, q.Success.Eval(0.6))
	require.NotNil(t, q.Failure)
	assert.True(t, q.Failure.Eval(3))
	got, err := q.Query.Execute(rollout.TemplateVars{Cluster: "prod-gpu-1"})
	require.NoError(t, err)
	assert.Equal(t, `sum(rate(apiserver_request_total{cluster="prod-gpu-1",code=~"5.."}[5m]))`, got)
	checks, err := back.Terraform.Patterns(rollout.TemplateVars{Cluster: "prod-gpu-1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"terraform-apply", "tf/*"}, checks)

	bad := strings.Replace(string(js), `"result \u003c 0.5"`, `"result ~ 0.5"`, 1)
	bad = strings.Replace(bad, `"result < 0.5"`, `"result ~ 0.5"`, 1)
	require.NotEqual(t, string(js), bad, "the test must corrupt the condition")
	err = json.Unmarshal([]byte(bad), &back)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"result ~ 0.5" is not a condition`)
}

func BenchmarkConditionEval(b *testing.B) {
	c, err := rollout.ParseCondition("result < 0 or result > 10 and result < 20 and result != 15")
	if err != nil {
		b.Fatal(err)
	}
	var hits int
	for i := 0; b.Loop(); i++ {
		if c.Eval(float64(i % 30)) {
			hits++
		}
	}
	if hits == 0 {
		b.Fatal("the condition never held")
	}
}

func BenchmarkParseCondition(b *testing.B) {
	for b.Loop() {
		if _, err := rollout.ParseCondition("result >= 0.5 and result < 2 or result == -1"); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseCondition: the parser never panics, what it accepts keeps its
// text, and it agrees with the schema's pattern for conditions except on
// numbers out of float64's range, which only the parser can see.
func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{"result < 0.5", "result>=1 and result<=3 or result == -1.5e2", "result <", "x < 1",
		"result < 1 && result > 0", "result < 1e999", "result < 1and result > 0", "result < 1 andresult > 0", " result\t!= .5 "} {
		f.Add(s)
	}
	var schema struct {
		Defs map[string]struct {
			Pattern string `json:"pattern"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(rollout.CampaignSchema(), &schema); err != nil {
		f.Fatal(err)
	}
	pattern := regexp.MustCompile(schema.Defs["condition"].Pattern)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := rollout.ParseCondition(s)
		if err != nil {
			if pattern.MatchString(s) && !strings.Contains(err.Error(), "out of range") {
				t.Fatalf("the schema accepts %q, the parser refuses it: %v", s, err)
			}
			return
		}
		if c.String() != s {
			t.Fatalf("String() = %q, want %q", c.String(), s)
		}
		if !pattern.MatchString(s) {
			t.Fatalf("the parser accepts %q, the schema refuses it", s)
		}
	})
}
