package wave

import (
	_ "embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/template"

	"github.com/fleetbot/fleetbot/rollout"
)

//go:embed body.md.tmpl
var bodySource string

// bodyTemplate parses on first use: every command links this package, few
// open pull requests.
var bodyTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("body").Funcs(template.FuncMap{
		"join": strings.Join,
		"cell": func(s string) string { return strings.ReplaceAll(s, "|", `\|`) },
	}).Parse(bodySource))
})

// bodyData is what the body template reads.
type bodyData struct {
	Campaign, Change string
	Wave, Waves      int
	Flags            []string
	// For names who the pull request is for; Tenant is its branch segment.
	For, Tenant string
	Clusters    []bodyCluster
	// More is how many clusters the table leaves out to fit GitHub's
	// limit on a body.
	More int
	// Step says what a blue-green step does; Steps lists the steps of the
	// replacement, this one marked.
	Step  string
	Steps []string
	// Reach says, for each file serving many clusters, which ones it
	// reaches.
	Reach      []string
	Gates      []string
	Preflight  []string
	Merge      string
	Mermaid    string
	Revertible bool
	Branch     string
	Attempt    int
}

// bodyCluster is one row of the body's cluster table.
type bodyCluster struct{ Name, Env, Change string }

// Body is the description of the pull request req opens: the campaign and
// its change, the wave with its flags, the clusters of this tenant with
// their step, the clusters each file serving many clusters reaches, the
// gates, the whole plan as a Mermaid diagram, the commands
// people can use, and the branch. It ends with a hidden marker that Ensure
// reads back to tell attempts apart.
func Body(req Request) (string, error) {
	name, w, err := req.wave()
	if err != nil {
		return "", err
	}
	clusters, err := req.clusters(w)
	if err != nil {
		return "", err
	}
	d := bodyData{
		Campaign:   name,
		Change:     req.Plan.Change.Describe(),
		Wave:       req.Wave,
		Waves:      len(req.Plan.Waves),
		Flags:      waveFlags(req.Plan, w),
		For:        owner(req.PR),
		Tenant:     tenantSegment(req.PR),
		Step:       w.DescribeStep(),
		Gates:      req.Gates,
		Merge:      "the tenant's owners review and merge",
		Mermaid:    rollout.RenderMermaid(req.Plan),
		Revertible: req.Plan.Change.Revertible,
		Branch:     BranchOf(name, req.Wave, req.PR),
		Attempt:    req.attempt(),
	}
	for _, c := range clusters {
		d.Clusters = append(d.Clusters, bodyCluster{Name: c.Name, Env: c.Env, Change: w.ClusterChange(c)})
	}
	for i, s := range req.Plan.Steps(req.Wave) {
		line := fmt.Sprintf("%d. wave %d: %s", i+1, s.Index, s.DescribeStep())
		if s.Index == req.Wave {
			line = fmt.Sprintf("%d. **wave %d: %s** (this pull request)", i+1, s.Index, s.DescribeStep())
		}
		d.Steps = append(d.Steps, line)
	}
	for _, c := range clusters {
		if p, ok := req.Preflight[c.Name]; ok {
			d.Preflight = append(d.Preflight, fmt.Sprintf("`%s`: %s", c.Name, p))
		}
	}
	for _, f := range req.PR.Files {
		if r := f.DescribeReach(); r != "" {
			d.Reach = append(d.Reach, r)
		}
	}
	if req.PR.Admin {
		d.Merge = "fleet admins review and merge"
	}
	if req.Campaign != nil && req.Campaign.Spec.Merge == rollout.MergeAuto {
		d.Merge = "fleetbot merges once the owners approve and the checks pass"
	}
	return d.fit(req.PR.Files)
}

// maxBody is the longest pull request body GitHub takes, in characters;
// counting bytes stays within it.
const maxBody = 65536

// reachNames is how many clusters a shared file's line names in a body too
// long for GitHub; the plan and `/fleet status` list them all.
const reachNames = 20

// fit renders the body within GitHub's limit: when it is longer, each
// shared file names its first clusters and counts the others, then the
// cluster table keeps its first rows and says how many it leaves out (a
// shared wave's pull request on a large fleet holds thousands).
func (d bodyData) fit(files []rollout.FileChange) (string, error) {
	// Each row of the table is at least 13 characters ("| a | b | c |\n"):
	// a table of more rows than maxBody/13 is not rendered whole.
	const rowsAtMost = maxBody / 13
	if len(d.Clusters) <= rowsAtMost {
		if body, err := d.render(); err != nil || len(body) <= maxBody {
			return body, err
		}
	}
	d.Reach = d.Reach[:0:0]
	for _, f := range files {
		if r := f.DescribeReachUpTo(reachNames); r != "" {
			d.Reach = append(d.Reach, r)
		}
	}
	if len(d.Clusters) <= rowsAtMost {
		if body, err := d.render(); err != nil || len(body) <= maxBody {
			return body, err
		}
	}
	all := d.Clusters
	rows := func(n int) (string, error) {
		d.Clusters, d.More = all[:n], len(all)-n
		return d.render()
	}
	// The most rows that fit: renders grow with rows.
	lo, hi := 0, min(len(all), rowsAtMost)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		b, err := rows(mid)
		if err != nil {
			return "", err
		}
		if len(b) <= maxBody {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	body, err := rows(lo)
	if err != nil {
		return "", err
	}
	if len(body) > maxBody {
		return "", fmt.Errorf("pull request body of wave %d for %s: %d characters without a cluster, over GitHub's limit of %d", d.Wave, d.For, len(body), maxBody)
	}
	return body, nil
}

// render executes the body template on d.
func (d bodyData) render() (string, error) {
	var b strings.Builder
	if err := bodyTemplate().Execute(&b, d); err != nil {
		return "", fmt.Errorf("pull request body of wave %d for %s: %w", d.Wave, d.For, err)
	}
	return b.String(), nil
}

// waveFlags are the words that set a wave apart, in the plan table's order.
func waveFlags(p *rollout.Plan, w *rollout.Wave) []string {
	var flags []string
	if w.Env != "" {
		flags = append(flags, w.Env)
	}
	if len(p.Change.Hops) > 1 && w.Hop > 0 {
		flags = append(flags, fmt.Sprintf("hop %d of %d (to %s)", w.Hop, len(p.Change.Hops), p.Change.Hops[w.Hop-1]))
	}
	if w.Canary {
		flags = append(flags, "canary")
	}
	if w.Approval {
		flags = append(flags, "after fleet-admin approval")
	}
	if w.Cleanup {
		flags = append(flags, "clean-up")
	}
	if w.Shared {
		flags = append(flags, "shared files")
	}
	return flags
}

// markerAttempt matches the attempt in the hidden marker of a body, a
// wave pull request's or a revert pull request's.
var markerAttempt = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`<!-- fleetbot (?:revert )?campaign=\S+ wave=\d+ tenant=\S+ (?:reverts=\d+ )?attempt=(\d+) -->`)
})

// bodyAttempt is the attempt a pull request was opened for, read from its
// body; 1 when the marker is missing (a person edited it away).
func bodyAttempt(body string) int {
	m := markerAttempt().FindStringSubmatch(body)
	if m == nil {
		return 1
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n < 1 {
		return 1
	}
	return n
}
