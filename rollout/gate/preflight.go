package gate

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/fleetbot/fleetbot/rollout"
)

// Preflight is the preflight gate: before a cluster of an EKS version wave
// is put in a pull request, it asks EKS whether the cluster is ready for
// the target minor (Target.Version). It reads EKS as the eks gate does, in
// the cluster's account as the role cfg.RoleARN renders to, in the
// target's region:
//
//   - The cluster not found fails. At the target already, it passes; ahead
//     of the target, or more than one minor behind it (EKS upgrades one
//     minor at a time), it fails. FAILED or DELETING fails; another status
//     than ACTIVE (UPDATING, CREATING) waits.
//   - The upgrade insights for the target (ListInsights, category
//     UPGRADE_READINESS, and DescribeInsight for each one not PASSING): an
//     insight in ERROR fails; WARNING and UNKNOWN pass with a warning.
//   - Each installed add-on (ListAddons, DescribeAddon) against EKS's
//     catalogue for the target (DescribeAddonVersions): an add-on with no
//     version for the target fails; one whose installed version does not
//     run on the target passes with a warning naming the version to move
//     to (the target's default version, else the newest).
//   - Each managed node group must be at the control plane's minor:
//     behind or ahead fails, as do DEGRADED, CREATE_FAILED and
//     DELETE_FAILED; CREATING, UPDATING and DELETING wait.
//
// Every other error (AccessDenied, throttling, a network failure) is a
// provider error, never a pass or a failure.
type Preflight struct {
	*roleClients
}

// NewPreflight returns the preflight gate for the eks gate's cfg, which
// names the role to assume. It errs when cfg has no role.
func NewPreflight(cfg rollout.EKSGate, opts ...EKSOption) (*Preflight, error) {
	rc, err := newRoleClients(rollout.GatePreflight, cfg, opts)
	if err != nil {
		return nil, err
	}
	return &Preflight{roleClients: rc}, nil
}

// Name returns rollout.GatePreflight.
func (*Preflight) Name() string { return rollout.GatePreflight }

// preflight is what one check found, by kind of finding.
type preflight struct {
	t                Target
	c                *eks.Client
	where            string
	res              Result
	failed, warnings []string
	waiting          []string
	counts           []string // what was checked, for a passing detail
}

// Check asks EKS whether the cluster is ready for t.Version.
func (p *Preflight) Check(ctx context.Context, t Target) Result {
	if t.Version == "" {
		return Result{Err: fmt.Errorf("preflight gate: cluster %s: the change has no target version", t.Cluster)}
	}
	target, err := parseMinor(t.Version)
	if err != nil {
		return Result{Err: fmt.Errorf("preflight gate: cluster %s: the target: %w", t.Cluster, err)}
	}
	c, where, err := p.connect(ctx, t)
	if err != nil {
		return Result{Err: err}
	}
	cl, res, ok := p.describeCluster(ctx, c, t, where)
	if !ok {
		return res
	}
	version, status := aws.ToString(cl.Version), string(cl.Status)
	current, err := parseMinor(version)
	if err != nil {
		return Result{Err: fmt.Errorf("preflight gate: cluster %s: %w", t.Cluster, err), Evidence: res.Evidence}
	}
	switch {
	case current == target:
		return res.with(rollout.GatePassed, "cluster %s is already at %s", t.Cluster, version)
	case status == string(ekstypes.ClusterStatusFailed) || status == string(ekstypes.ClusterStatusDeleting):
		return res.with(rollout.GateFailed, "cluster %s is %s at %s", t.Cluster, status, version)
	case current[0] > target[0] || current[0] == target[0] && current[1] > target[1]:
		return res.with(rollout.GateFailed, "cluster %s is at %s, ahead of the target %s", t.Cluster, version, t.Version)
	case current[0] != target[0] || current[1]+1 != target[1]:
		return res.with(rollout.GateFailed, "cluster %s is at %s, more than one minor behind %s: EKS upgrades one minor at a time", t.Cluster, version, t.Version)
	case status != string(ekstypes.ClusterStatusActive):
		return res.with(rollout.GateWaiting, "cluster %s is %s at %s", t.Cluster, orNone(status), version)
	}

	f := &preflight{t: t, c: c, where: where, res: res}
	err = p.insights(ctx, f)
	if err == nil {
		err = p.addons(ctx, f)
	}
	if err == nil {
		err = p.nodegroups(ctx, f, version)
	}
	if err != nil {
		return Result{Err: err, Evidence: f.res.Evidence}
	}
	switch {
	case len(f.failed) > 0:
		return f.res.with(rollout.GateFailed, "cluster %s is not ready for %s: %s", t.Cluster, t.Version, summarise(f.failed))
	case len(f.waiting) > 0:
		return f.res.with(rollout.GateWaiting, "cluster %s is not yet ready for %s: %s", t.Cluster, t.Version, summarise(f.waiting))
	case len(f.warnings) > 0:
		return f.res.with(rollout.GatePassed, "cluster %s passed pre-flight for %s with %d warning%s: %s",
			t.Cluster, t.Version, len(f.warnings), plural(len(f.warnings)), summarise(f.warnings))
	}
	return f.res.with(rollout.GatePassed, "cluster %s is ready for %s (%s)", t.Cluster, t.Version, strings.Join(f.counts, ", "))
}

// insights reads the cluster's upgrade insights for the target.
func (p *Preflight) insights(ctx context.Context, f *preflight) error {
	var found []ekstypes.InsightSummary
	// https://docs.aws.amazon.com/eks/latest/APIReference/API_ListInsights.html
	pages := eks.NewListInsightsPaginator(f.c, &eks.ListInsightsInput{
		ClusterName: aws.String(f.t.Cluster),
		Filter: &ekstypes.InsightsFilter{
			Categories:         []ekstypes.Category{ekstypes.CategoryUpgradeReadiness},
			KubernetesVersions: []string{f.t.Version},
		},
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return awsError(p.gate, fmt.Sprintf("list the insights of cluster %s %s", f.t.Cluster, f.where), err)
		}
		found = append(found, page.Insights...)
	}
	f.counts = append(f.counts, fmt.Sprintf("%d insight%s", len(found), plural(len(found))))
	for _, sum := range found {
		id, name := aws.ToString(sum.Id), aws.ToString(sum.Name)
		ev := Evidence{Check: fmt.Sprintf("insight %q", name), Revision: aws.ToString(sum.KubernetesVersion), Source: "insight " + id}
		if sum.InsightStatus == nil || sum.InsightStatus.Status == ekstypes.InsightStatusValuePassing {
			ev.Value = string(ekstypes.InsightStatusValuePassing)
			if sum.InsightStatus == nil {
				ev.Value = "(no status)"
			}
			f.res.Evidence = append(f.res.Evidence, ev)
			continue
		}
		// https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeInsight.html
		d, err := f.c.DescribeInsight(ctx, &eks.DescribeInsightInput{ClusterName: aws.String(f.t.Cluster), Id: aws.String(id)})
		if err != nil {
			return awsError(p.gate, fmt.Sprintf("describe insight %s of cluster %s %s", id, f.t.Cluster, f.where), err)
		}
		in := d.Insight
		if in == nil || in.InsightStatus == nil {
			return fmt.Errorf("preflight gate: describe insight %s of cluster %s %s: the answer has no insight status", id, f.t.Cluster, f.where)
		}
		status := in.InsightStatus.Status
		ev.Value = insightEvidence(in)
		f.res.Evidence = append(f.res.Evidence, ev)
		reason := fmt.Sprintf("insight %q is %s", name, status)
		if why := insightWhy(in); why != "" {
			reason += " (" + why + ")"
		}
		if status == ekstypes.InsightStatusValueError {
			f.failed = append(f.failed, reason)
		} else {
			f.warnings = append(f.warnings, reason)
		}
	}
	return nil
}

// insightEvidence is all an insight says: its status and reason, the
// recommendation, and the deprecated APIs still called, by whom.
func insightEvidence(in *ekstypes.Insight) string {
	parts := []string{string(in.InsightStatus.Status)}
	if r := aws.ToString(in.InsightStatus.Reason); r != "" {
		parts = append(parts, r)
	}
	if r := aws.ToString(in.Recommendation); r != "" {
		parts = append(parts, r)
	}
	if in.CategorySpecificSummary != nil {
		for _, d := range in.CategorySpecificSummary.DeprecationDetails {
			s := fmt.Sprintf("%s, gone in %s, replaced by %s", aws.ToString(d.Usage), orNone(aws.ToString(d.StopServingVersion)), orNone(aws.ToString(d.ReplacedWith)))
			for _, c := range d.ClientStats {
				s += fmt.Sprintf("; called by %s (%d requests in 30 days)", aws.ToString(c.UserAgent), c.NumberOfRequestsLast30Days)
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

// insightWhy says in a few words why an insight is not passing: the
// clients still calling deprecated APIs when it counts them, else its
// reason, else its recommendation's first sentence.
func insightWhy(in *ekstypes.Insight) string {
	clients := 0
	var apis []string
	if in.CategorySpecificSummary != nil {
		for _, d := range in.CategorySpecificSummary.DeprecationDetails {
			if len(d.ClientStats) == 0 {
				continue
			}
			clients += len(d.ClientStats)
			if api := apiGroupVersion(aws.ToString(d.Usage)); !slices.Contains(apis, api) {
				apis = append(apis, api)
			}
		}
	}
	switch {
	case clients == 1:
		return "1 client still calls " + strings.Join(apis, ", ")
	case clients > 1:
		return fmt.Sprintf("%d clients still call %s", clients, strings.Join(apis, ", "))
	case aws.ToString(in.InsightStatus.Reason) != "":
		return aws.ToString(in.InsightStatus.Reason)
	}
	rec := aws.ToString(in.Recommendation)
	if i := strings.Index(rec, ". "); i >= 0 {
		rec = rec[:i+1]
	}
	return rec
}

// apiGroupVersion is the group and version of a Kubernetes API path:
// "/apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas" is
// "flowcontrol.apiserver.k8s.io/v1beta2", "/api/v1/..." is "v1".
func apiGroupVersion(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "apis":
		return parts[1] + "/" + parts[2]
	case len(parts) >= 2 && parts[0] == "api":
		return parts[1]
	}
	return path
}

// addons checks each installed add-on against the catalogue's versions
// for the target.
func (p *Preflight) addons(ctx context.Context, f *preflight) error {
	var names []string
	// https://docs.aws.amazon.com/eks/latest/APIReference/API_ListAddons.html
	pages := eks.NewListAddonsPaginator(f.c, &eks.ListAddonsInput{ClusterName: aws.String(f.t.Cluster)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return awsError(p.gate, fmt.Sprintf("list the add-ons of cluster %s %s", f.t.Cluster, f.where), err)
		}
		names = append(names, page.Addons...)
	}
	f.counts = append(f.counts, fmt.Sprintf("%d add-on%s", len(names), plural(len(names))))
	for _, name := range names {
		// https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeAddon.html
		d, err := f.c.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String(f.t.Cluster), AddonName: aws.String(name)})
		if err != nil {
			return awsError(p.gate, fmt.Sprintf("describe add-on %s of cluster %s %s", name, f.t.Cluster, f.where), err)
		}
		if d.Addon == nil {
			return fmt.Errorf("preflight gate: describe add-on %s of cluster %s %s: the answer has no add-on", name, f.t.Cluster, f.where)
		}
		installed := aws.ToString(d.Addon.AddonVersion)
		// The catalogue is the same for every cluster a role sees in a
		// region: one Run reads it once per add-on.
		key := fmt.Sprintf("preflight addon versions %s %s %s", f.where, name, f.t.Version)
		versions, err := shared(ctx, key, func() ([]addonVersion, error) {
			return addonVersions(ctx, f.c, name, f.t.Version)
		})
		if err != nil {
			return awsError(p.gate, fmt.Sprintf("describe the versions of add-on %s for %s %s", name, f.t.Version, f.where), err)
		}
		ev := Evidence{Check: "add-on " + name, Revision: installed, Source: aws.ToString(d.Addon.AddonArn)}
		ev.Value = fmt.Sprintf("version %s, status %s", orNone(installed), orNone(string(d.Addon.Status)))
		switch to, ok := moveTo(installed, versions); {
		case len(versions) == 0:
			ev.Value += "; no version for " + f.t.Version
			f.failed = append(f.failed, fmt.Sprintf("add-on %s %s has no version for %s", name, installed, f.t.Version))
		case ok:
			ev.Value += "; runs on " + f.t.Version
		default:
			ev.Value += fmt.Sprintf("; not on %s: move to %s", f.t.Version, to)
			f.warnings = append(f.warnings, fmt.Sprintf("add-on %s %s must move to %s for %s", name, installed, to, f.t.Version))
		}
		f.res.Evidence = append(f.res.Evidence, ev)
	}
	return nil
}

// addonVersion is a version of an add-on that runs on the target, and
// whether it is the target's default.
type addonVersion struct {
	version string
	def     bool
}

// addonVersions reads the catalogue's versions of the add-on name that run
// on the Kubernetes version kube.
func addonVersions(ctx context.Context, c *eks.Client, name, kube string) ([]addonVersion, error) {
	var out []addonVersion
	// https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeAddonVersions.html
	pages := eks.NewDescribeAddonVersionsPaginator(c, &eks.DescribeAddonVersionsInput{AddonName: aws.String(name), KubernetesVersion: aws.String(kube)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, info := range page.Addons {
			if aws.ToString(info.AddonName) != name {
				continue
			}
			for _, v := range info.AddonVersions {
				// Only a compatibility with the target counts, whether or
				// not EKS filtered them.
				i := slices.IndexFunc(v.Compatibilities, func(c ekstypes.Compatibility) bool { return aws.ToString(c.ClusterVersion) == kube })
				if i >= 0 {
					out = append(out, addonVersion{aws.ToString(v.AddonVersion), v.Compatibilities[i].DefaultVersion})
				}
			}
		}
	}
	return out, nil
}

// moveTo says whether the installed version runs on the target, and if
// not, the version to move to: the target's default, else the newest.
func moveTo(installed string, versions []addonVersion) (string, bool) {
	if len(versions) == 0 {
		return "", false
	}
	if slices.ContainsFunc(versions, func(v addonVersion) bool { return v.version == installed }) {
		return installed, true
	}
	if i := slices.IndexFunc(versions, func(v addonVersion) bool { return v.def }); i >= 0 {
		return versions[i].version, false
	}
	newest := slices.MaxFunc(versions, func(a, b addonVersion) int { return compareAddonVersions(a.version, b.version) })
	return newest.version, false
}

// compareAddonVersions orders add-on versions such as "v1.18.3-eksbuild.2"
// by their numbers, left to right.
func compareAddonVersions(a, b string) int {
	na, nb := versionNumbers(a), versionNumbers(b)
	if c := slices.Compare(na, nb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func versionNumbers(v string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return !unicode.IsDigit(r) }) {
		n, err := strconv.Atoi(f)
		if err != nil {
			n = 0 // more digits than an int holds: equal to any other such
		}
		out = append(out, n)
	}
	return out
}

// nodegroups checks that each managed node group is healthy at the
// control plane's version.
func (p *Preflight) nodegroups(ctx context.Context, f *preflight, version string) error {
	ngs, ngErr := describeNodegroups(ctx, f.c, f.t.Cluster)
	if ngErr != nil {
		return awsError(p.gate, fmt.Sprintf("%s of cluster %s %s", ngErr.op, f.t.Cluster, f.where), ngErr.err)
	}
	f.counts = append(f.counts, fmt.Sprintf("%d node group%s", len(ngs), plural(len(ngs))))
	for _, ng := range ngs {
		name, ngVersion, ngStatus := aws.ToString(ng.NodegroupName), aws.ToString(ng.Version), string(ng.Status)
		ev, broken := nodegroupEvidence(ng)
		f.res.Evidence = append(f.res.Evidence, ev)
		if broken != "" {
			f.failed = append(f.failed, broken)
			continue
		}
		cmp, err := compareMinor(ngVersion, version)
		if err != nil {
			return fmt.Errorf("preflight gate: node group %s of %s: %w", name, f.t.Cluster, err)
		}
		switch {
		case cmp < 0:
			f.failed = append(f.failed, fmt.Sprintf("node group %s is at %s, behind the control plane's %s: upgrade it first", name, ngVersion, version))
		case cmp > 0:
			f.failed = append(f.failed, fmt.Sprintf("node group %s is at %s, ahead of the control plane's %s", name, ngVersion, version))
		case ng.Status != ekstypes.NodegroupStatusActive:
			f.waiting = append(f.waiting, fmt.Sprintf("node group %s is %s at %s", name, orNone(ngStatus), ngVersion))
		}
	}
	return nil
}
