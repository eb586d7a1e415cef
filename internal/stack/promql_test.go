package stack_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// promqlKeywords are the words of PromQL that name no metric: aggregation
// operators (written before their "by" clause, so not always followed by a
// parenthesis), set and binary operators, modifiers and special numbers.
var promqlKeywords = map[string]bool{
	"sum": true, "avg": true, "min": true, "max": true, "count": true, "group": true, "stddev": true, "stdvar": true,
	"topk": true, "bottomk": true, "quantile": true, "count_values": true, "limitk": true, "limit_ratio": true,
	"and": true, "or": true, "unless": true, "atan2": true, "bool": true, "offset": true, "inf": true, "nan": true,
}

// promqlGrouping are the keywords followed by a list of label names in
// parentheses.
var promqlGrouping = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// metricNames returns the metric names a PromQL expression selects, in
// order: the identifiers outside strings, label matchers ({...}) and range
// brackets ([...]) that are neither keywords, nor functions (followed by a
// parenthesis), nor the labels of a grouping clause. Numbers, durations and
// Grafana's $variables are skipped. The expression is taken to be valid
// PromQL: promtool parses it first.
func metricNames(expr string) []string {
	var out []string
	depth := 0 // inside {...} or [...]
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(expr, i)
		case c == '$':
			i++
			if i < len(expr) && expr[i] == '{' {
				i += strings.IndexByte(expr[i:], '}') + 1
				continue
			}
			for i < len(expr) && isIdentChar(expr[i]) {
				i++
			}
		case c == '{' || c == '[':
			depth++
			i++
		case c == '}' || c == ']':
			depth--
			i++
		case c >= '0' && c <= '9' || c == '.':
			for i++; i < len(expr) && (isIdentChar(expr[i]) || expr[i] == '.'); i++ {
			}
		case isIdentChar(c):
			j := i
			for j < len(expr) && isIdentChar(expr[j]) {
				j++
			}
			word := expr[i:j]
			next := j
			for next < len(expr) && strings.IndexByte(" \t\r\n", expr[next]) >= 0 {
				next++
			}
			paren := next < len(expr) && expr[next] == '('
			switch lower := strings.ToLower(word); {
			case depth > 0, promqlKeywords[lower]:
			case promqlGrouping[lower]:
				if paren {
					j = next + strings.IndexByte(expr[next:], ')') + 1
				}
			case paren: // a function
			default:
				out = append(out, word)
			}
			i = j
		default:
			i++
		}
	}
	return out
}

// skipString returns the index after the string literal that starts at i;
// only double and single quoted strings have escapes.
func skipString(expr string, i int) int {
	q := expr[i]
	for i++; i < len(expr); i++ {
		switch {
		case expr[i] == '\\' && q != '`':
			i++
		case expr[i] == q:
			return i + 1
		}
	}
	return i
}

func isIdentChar(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func TestMetricNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`fleetbot_waves{campaign=~"$campaign", phase="Open"}`, []string{"fleetbot_waves"}},
		{`sum by (phase) (fleetbot_clusters{campaign=~"a|b"})`, []string{"fleetbot_clusters"}},
		{`sum(rate(x_total[5m])) by (le, gate)`, []string{"x_total"}},
		{`SUM BY (phase) (x)`, []string{"x"}},
		{`histogram_quantile(0.95, sum by (gate, le) (rate(fleetbot_gate_check_duration_seconds_bucket[$__rate_interval])))`,
			[]string{"fleetbot_gate_check_duration_seconds_bucket"}},
		{`a / on (campaign) group_left (phase) b`, []string{"a", "b"}},
		{`a > bool ignoring(x) b unless c or d and e`, []string{"a", "b", "c", "d", "e"}},
		{`sum(x) or vector(0)`, []string{"x"}},
		{`rate(x[5m] offset 1h) * 1e3 + 0x1F - .5 > Inf`, []string{"x"}},
		{`x @ start()`, []string{"x"}},
		{`label_replace(x, "dst", "$1 (by)", "src", "(.*)")`, []string{"x"}},
		{`count_values("version", x) + topk(3, y) + quantile(0.9, z)`, []string{"x", "y", "z"}},
		{`max_over_time(x[1h:5m])`, []string{"x"}},
		{`job:requests:rate5m{a='it\'s'}`, []string{"job:requests:rate5m"}},
		{"x{a=`raw`} + ${var}", []string{"x"}},
		{`increase(x[$__range]) / sum without(instance) (y)`, []string{"x", "y"}},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, metricNames(tc.expr))
		})
	}
}
