package gate_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/fakeeks"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

// startPreflight serves fake as both EKS and STS and returns a preflight
// gate that reaches it with the fake's base credentials and no retries.
func startPreflight(t *testing.T, fake *fakeeks.Server) *gate.Preflight {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	g, err := gate.NewPreflight(rollout.EKSGate{RoleARN: mustTemplate(t, roleTmpl), ExternalID: "fleetbot-ext", Preflight: true},
		gate.WithEKSEndpoint(srv.URL), gate.WithSTSEndpoint(srv.URL),
		gate.WithAWSConfig(fakeeks.BaseConfig()))
	require.NoError(t, err)
	return g
}

// catalogue is EKS's add-on versions as the tests know them.
func catalogue(fake *fakeeks.Server) {
	fake.SetAddonVersions("vpc-cni", []fakeeks.AddonVersion{
		{Version: "v1.18.3-eksbuild.2", Compatible: []string{"1.30", "1.29"}, DefaultFor: []string{"1.30"}},
		{Version: "v1.18.1-eksbuild.1", Compatible: []string{"1.30", "1.29"}},
		{Version: "v1.16.0-eksbuild.1", Compatible: []string{"1.29", "1.28"}, DefaultFor: []string{"1.29"}},
	})
	fake.SetAddonVersions("coredns", []fakeeks.AddonVersion{
		{Version: "v1.11.1-eksbuild.9", Compatible: []string{"1.30", "1.29"}},
		{Version: "v1.11.3-eksbuild.1", Compatible: []string{"1.30"}},
		{Version: "v1.10.1-eksbuild.7", Compatible: []string{"1.29", "1.28"}},
	})
	fake.SetAddonVersions("kube-proxy", []fakeeks.AddonVersion{
		{Version: "v1.29.3-eksbuild.2", Compatible: []string{"1.29"}, DefaultFor: []string{"1.29"}},
	})
}

// ready is a cluster at 1.29 that is ready for 1.30.
func ready() fakeeks.Cluster {
	return fakeeks.Cluster{Version: "1.29", Status: fakeeks.Active, PlatformVersion: "eks.12",
		Nodegroups: []fakeeks.Nodegroup{ng("workers", "1.29", fakeeks.Active)},
		Addons:     []fakeeks.Addon{{Name: "vpc-cni", Version: "v1.18.3-eksbuild.2"}, {Name: "coredns", Version: "v1.11.1-eksbuild.9"}},
		Insights: []fakeeks.Insight{
			{ID: "i-kubelet", Name: "Kubelet version skew", KubernetesVersion: "1.30", Status: fakeeks.InsightPassing},
			{ID: "i-apis", Name: "Deprecated APIs removed in Kubernetes v1.30", KubernetesVersion: "1.30", Status: fakeeks.InsightPassing},
		},
	}
}

// with returns c changed by change.
func with(c fakeeks.Cluster, change func(*fakeeks.Cluster)) *fakeeks.Cluster {
	change(&c)
	return &c
}

var lastCall = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// deprecatedAPIs is the insight EKS raises for flow control's v1beta2 API,
// still called by two clients.
var deprecatedAPIs = fakeeks.Insight{
	ID: "i-apis", Name: "Deprecated APIs removed in Kubernetes v1.30", KubernetesVersion: "1.30",
	Status: fakeeks.InsightError, Reason: "Deprecated API usage detected within last 30 days",
	Recommendation: "Update manifests and API clients to use newer Kubernetes APIs if applicable before upgrading to Kubernetes v1.30. Then wait for the insight to refresh.",
	Deprecations: []fakeeks.Deprecation{{
		Usage: "/apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas", ReplacedWith: "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas",
		StopServingVersion: "1.29", Clients: []fakeeks.ClientStat{
			{UserAgent: "prometheus-operator/v0.68", Requests: 1440, LastRequest: lastCall},
			{UserAgent: "kubectl/v1.27.4", Requests: 3, LastRequest: lastCall},
		},
	}},
}

func TestPreflightGate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cluster *fakeeks.Cluster
		fail    [2]string // an action and the error code the fake answers it with
		failAll string    // an error code the fake answers every call about the cluster with
		deny    bool      // AssumeRole is refused
		version string    // the target; default 1.30
		want    rollout.Outcome
		err     bool
		code    string // the AWSError's service and code
		detail  string
	}{
		{name: "ready passes", cluster: with(ready(), func(*fakeeks.Cluster) {}),
			want: rollout.GatePassed, detail: "cluster prod-cpu-1 is ready for 1.30 (2 insights, 2 add-ons, 1 node group)"},
		{name: "already at the target passes", cluster: with(ready(), func(c *fakeeks.Cluster) { c.Version = "1.30" }),
			want: rollout.GatePassed, detail: "cluster prod-cpu-1 is already at 1.30"},
		{name: "two minors behind fails", cluster: with(ready(), func(c *fakeeks.Cluster) { c.Version = "1.28" }),
			want: rollout.GateFailed, detail: "cluster prod-cpu-1 is at 1.28, more than one minor behind 1.30: EKS upgrades one minor at a time"},
		{name: "another major fails", cluster: with(ready(), func(c *fakeeks.Cluster) { c.Version = "0.29" }),
			want: rollout.GateFailed, detail: "more than one minor behind 1.30"},
		{name: "ahead fails", cluster: with(ready(), func(c *fakeeks.Cluster) { c.Version = "1.31" }),
			want: rollout.GateFailed, detail: "cluster prod-cpu-1 is at 1.31, ahead of the target 1.30"},
		{name: "updating waits", cluster: with(ready(), func(c *fakeeks.Cluster) { c.Status = fakeeks.Updating }),
			want: rollout.GateWaiting, detail: "cluster prod-cpu-1 is UPDATING at 1.29"},
		{name: "failed cluster fails", cluster: with(ready(), func(c *fakeeks.Cluster) { c.Status = fakeeks.Failed }),
			want: rollout.GateFailed, detail: "cluster prod-cpu-1 is FAILED at 1.29"},
		{name: "cluster not found fails",
			want: rollout.GateFailed, detail: "EKS has no cluster prod-cpu-1 in account 111111111111, eu-west-1"},
		{name: "an insight in ERROR fails", cluster: with(ready(), func(c *fakeeks.Cluster) { c.Insights[1] = deprecatedAPIs }),
			want: rollout.GateFailed,
			detail: `cluster prod-cpu-1 is not ready for 1.30: insight "Deprecated APIs removed in Kubernetes v1.30" is ERROR ` +
				`(2 clients still call flowcontrol.apiserver.k8s.io/v1beta2)`},
		{name: "an insight in ERROR with only a reason", cluster: with(ready(), func(c *fakeeks.Cluster) {
			c.Insights[0] = fakeeks.Insight{ID: "i-kubelet", Name: "Kubelet version skew", KubernetesVersion: "1.30",
				Status: fakeeks.InsightError, Reason: "Node kubelet versions do not match the control plane"}
		}), want: rollout.GateFailed, detail: `insight "Kubelet version skew" is ERROR (Node kubelet versions do not match the control plane)`},
		{name: "an insight in ERROR with only a recommendation", cluster: with(ready(), func(c *fakeeks.Cluster) {
			c.Insights[1] = deprecatedAPIs
			c.Insights[1].Reason, c.Insights[1].Deprecations = "", nil
		}), want: rollout.GateFailed, detail: `is ERROR (Update manifests and API clients to use newer Kubernetes APIs if applicable before upgrading to Kubernetes v1.30.)`},
		{name: "an ERROR for another version or category is not the target's", cluster: with(ready(), func(c *fakeeks.Cluster) {
			other := deprecatedAPIs
			other.ID, other.Name, other.KubernetesVersion = "i-apis-131", "Deprecated APIs removed in Kubernetes v1.31", "1.31"
			hybrid := fakeeks.Insight{ID: "i-hybrid", Name: "Hybrid nodes", Category: fakeeks.Misconfiguration, KubernetesVersion: "1.30", Status: fakeeks.InsightError}
			c.Insights = append(c.Insights, other, hybrid)
		}), want: rollout.GatePassed, detail: "cluster prod-cpu-1 is ready for 1.30 (2 insights, 2 add-ons, 1 node group)"},
		{name: "warnings pass and are named", cluster: with(ready(), func(c *fakeeks.Cluster) {
			c.Insights[0].Status, c.Insights[0].Reason = fakeeks.InsightWarning, "Kubelet 1.27 found on 2 nodes"
			c.Insights = append(c.Insights, fakeeks.Insight{ID: "i-pdb", Name: "Pod disruption budgets", KubernetesVersion: "1.30",
				Status: fakeeks.InsightUnknown, Reason: "The check did not run"})
		}), want: rollout.GatePassed,
			detail: `cluster prod-cpu-1 passed pre-flight for 1.30 with 2 warnings: insight "Kubelet version skew" is WARNING (Kubelet 1.27 found on 2 nodes); ` +
				`insight "Pod disruption budgets" is UNKNOWN (The check did not run)`},
		{name: "an add-on with no version for the target fails", cluster: with(ready(), func(c *fakeeks.Cluster) {
			c.Addons = append(c.Addons, fakeeks.Addon{Name: "kube-proxy", Version: "v1.29.3-eksbuild.2"})
		}), want: rollout.GateFailed, detail: "cluster prod-cpu-1 is not ready for 1.30: add-on kube-proxy v1.29.3-eksbuild.2 has no version for 1.30"},
		{name: "an add-on EKS does not publish fails", cluster: with(ready(), func(c *fakeeks.Cluster) {
			c.Addons = append(c.Addons, fakeeks.Addon{Name: "snapshot-controller", Version: "v6.3.2-eksbuild.1"})
		}), want: rollout.GateFailed, detail: "add-on snapshot-controller v6.3.2-eksbuild.1 has no version for 1.30"},
		{name: "an add-on to move passes with the target's default", cluster: with(ready(), func(c *fakeeks.Cluster) {
			c.Addons[0].Version = "v1.16.0-eksbuild.1"
		}), want: rollout.GatePassed,
			detail: "cluster prod-cpu-1 passed pre-flight for 1.30 with 1 warning: add-on vpc-cni v1.16.0-eksbuild.1 must move to v1.18.3-eksbuild.2 for 1.30"},
		{name: "an add-on to move with no default names the newest", cluster: with(ready(), func(c *fakeeks.Cluster) {
			c.Addons[1].Version = "v1.10.1-eksbuild.7"
		}), want: rollout.GatePassed, detail: "add-on coredns v1.10.1-eksbuild.7 must move to v1.11.3-eksbuild.1 for 1.30"},
		{name: "a node group behind the control plane fails", cluster: with(ready(), func(c *fakeeks.Cluster) {
			c.Nodegroups = append(c.Nodegroups, ng("batch", "1.28", fakeeks.Active))
		}), want: rollout.GateFailed,
			detail: "cluster prod-cpu-1 is not ready for 1.30: node group batch is at 1.28, behind the control plane's 1.29: upgrade it first"},
		{name: "a degraded node group fails", cluster: with(ready(), func(c *fakeeks.Cluster) {
			c.Nodegroups[0] = ng("workers", "1.29", fakeeks.Degraded, "AsgInstanceLaunchFailures: Could not launch On-Demand Instances")
		}), want: rollout.GateFailed, detail: "node group workers is DEGRADED (AsgInstanceLaunchFailures: Could not launch On-Demand Instances)"},
		{name: "a create-failed node group fails", cluster: with(ready(), func(c *fakeeks.Cluster) {
			c.Nodegroups[0] = ng("workers", "1.29", fakeeks.CreateFailed)
		}), want: rollout.GateFailed, detail: "node group workers is CREATE_FAILED"},
		{name: "an updating node group waits", cluster: with(ready(), func(c *fakeeks.Cluster) {
			c.Nodegroups[0] = ng("workers", "1.29", fakeeks.Updating)
		}), want: rollout.GateWaiting, detail: "cluster prod-cpu-1 is not yet ready for 1.30: node group workers is UPDATING at 1.29"},
		{name: "every failure is named", cluster: with(ready(), func(c *fakeeks.Cluster) {
			c.Insights[1] = deprecatedAPIs
			c.Addons[0].Version = "v1.12.0-eksbuild.1"
			c.Addons = append(c.Addons, fakeeks.Addon{Name: "kube-proxy", Version: "v1.29.3-eksbuild.2"})
			c.Nodegroups = append(c.Nodegroups, ng("batch", "1.28", fakeeks.Active))
		}), want: rollout.GateFailed,
			detail: `cluster prod-cpu-1 is not ready for 1.30: insight "Deprecated APIs removed in Kubernetes v1.30" is ERROR ` +
				`(2 clients still call flowcontrol.apiserver.k8s.io/v1beta2); add-on kube-proxy v1.29.3-eksbuild.2 has no version for 1.30; ` +
				`node group batch is at 1.28, behind the control plane's 1.29: upgrade it first`},
		{name: "AccessDenied assuming the role is a provider error", cluster: with(ready(), func(*fakeeks.Cluster) {}), deny: true,
			want: rollout.GateWaiting, err: true, code: "STS AccessDenied", detail: "preflight gate: describe cluster prod-cpu-1"},
		{name: "AccessDeniedException on the insights is a provider error", cluster: with(ready(), func(*fakeeks.Cluster) {}),
			fail: [2]string{"ListInsights", "AccessDeniedException"},
			want: rollout.GateWaiting, err: true, code: "EKS AccessDeniedException", detail: "list the insights of cluster prod-cpu-1"},
		{name: "throttling describing an insight is a provider error", cluster: with(ready(), func(c *fakeeks.Cluster) { c.Insights[1] = deprecatedAPIs }),
			fail: [2]string{"DescribeInsight", "ThrottlingException"},
			want: rollout.GateWaiting, err: true, code: "EKS ThrottlingException", detail: "describe insight i-apis of cluster prod-cpu-1"},
		{name: "throttling on the add-on catalogue is a provider error", cluster: with(ready(), func(*fakeeks.Cluster) {}),
			fail: [2]string{"DescribeAddonVersions", "ThrottlingException"},
			want: rollout.GateWaiting, err: true, code: "EKS ThrottlingException", detail: "describe the versions of add-on coredns for 1.30"},
		{name: "a server error on the node groups is a provider error", cluster: with(ready(), func(*fakeeks.Cluster) {}),
			fail: [2]string{"ListNodegroups", "ServiceUnavailableException"},
			want: rollout.GateWaiting, err: true, code: "EKS ServiceUnavailableException", detail: "list node groups of cluster prod-cpu-1"},
		{name: "throttling on the cluster is a provider error", cluster: with(ready(), func(*fakeeks.Cluster) {}), failAll: "ThrottlingException",
			want: rollout.GateWaiting, err: true, code: "EKS ThrottlingException", detail: "describe cluster prod-cpu-1"},
		{name: "no target version is a provider error", cluster: with(ready(), func(*fakeeks.Cluster) {}), version: "-",
			want: rollout.GateWaiting, err: true, detail: "the change has no target version"},
	}
	var golden strings.Builder
	for _, tc := range tests {
		fake := clusterFake(tc.cluster, tc.failAll, tc.deny)
		catalogue(fake)
		if tc.fail[0] != "" {
			fake.FailAction(tc.fail[0], tc.fail[1])
		}
		version := "1.30"
		switch tc.version {
		case "-":
			version = ""
		case "":
		default:
			version = tc.version
		}
		r := runOne(t, startPreflight(t, fake), eksTarget(accountA, "tenant-a", "prod-cpu-1", version))
		t.Run(tc.name, func(t *testing.T) {
			checkAWSResult(t, r, rollout.GatePreflight, tc.want, tc.err, tc.code, tc.detail)
		})
		golden.WriteString("== " + tc.name + "\n" + describe(r) + "\n")
	}
	checkGolden(t, "preflight.golden", golden.String())
}

// TestPreflightPaginates: an insight in ERROR on the second page of
// ListInsights, and an add-on with no version on the second page of
// ListAddons, are found.
func TestPreflightPaginates(t *testing.T) {
	t.Parallel()
	fake := fakeeks.New()
	catalogue(fake)
	c := ready()
	c.Name = "prod-cpu-1"
	for i := range 120 {
		c.Insights = append(c.Insights, fakeeks.Insight{ID: fmt.Sprintf("i-%03d", i), Name: fmt.Sprintf("Check %03d", i),
			KubernetesVersion: "1.30", Status: fakeeks.InsightPassing})
		fake.SetAddonVersions(fmt.Sprintf("addon-%03d", i), []fakeeks.AddonVersion{{Version: "v1.0.0", Compatible: []string{"1.29", "1.30"}}})
		c.Addons = append(c.Addons, fakeeks.Addon{Name: fmt.Sprintf("addon-%03d", i), Version: "v1.0.0"})
	}
	c.Insights = append(c.Insights[:1], append(c.Insights[2:], deprecatedAPIs)...) // last, on the second page
	c.Addons = append(c.Addons, fakeeks.Addon{Name: "zz-kube-proxy", Version: "v1.29.3-eksbuild.2"})
	fake.SetAddonVersions("zz-kube-proxy", []fakeeks.AddonVersion{{Version: "v1.29.3-eksbuild.2", Compatible: []string{"1.29"}}})
	fake.SetCluster(accountA, region, c)

	r := startPreflight(t, fake).Check(t.Context(), eksTarget(accountA, "tenant-a", "prod-cpu-1", "1.30"))
	require.NoError(t, r.Err)
	assert.Equal(t, rollout.GateFailed, r.Outcome)
	assert.Equal(t, `cluster prod-cpu-1 is not ready for 1.30: insight "Deprecated APIs removed in Kubernetes v1.30" is ERROR `+
		`(2 clients still call flowcontrol.apiserver.k8s.io/v1beta2); add-on zz-kube-proxy v1.29.3-eksbuild.2 has no version for 1.30`, r.Detail)
	count := map[string]int{}
	for _, req := range fake.Requests() {
		count[req.Action]++
	}
	assert.Equal(t, 2, count["ListInsights"], "122 insights, 100 a page")
	assert.Equal(t, 2, count["ListAddons"], "123 add-ons, 100 a page")
	assert.Equal(t, 1, count["DescribeInsight"], "only the insight not passing is described")
	assert.Equal(t, 123, count["DescribeAddon"])
	assert.Len(t, r.Evidence, 1+122+123+1, "the cluster, each insight, each add-on, each node group")
}

// TestPreflightReadsAsTheTenant: every call is made as the tenant's role,
// and one Run reads the add-on catalogue once per role and add-on, however
// many of the role's clusters it checks.
func TestPreflightReadsAsTheTenant(t *testing.T) {
	t.Parallel()
	fake := fakeeks.New()
	catalogue(fake)
	for _, name := range []string{"prod-cpu-1", "prod-cpu-2", "prod-cpu-3"} {
		c := ready()
		c.Name = name
		fake.SetCluster(accountA, region, c)
	}
	c := ready()
	c.Name = "prod-cpu-1"
	fake.SetCluster(accountB, region, c)
	g := startPreflight(t, fake)
	var targets []gate.Target
	for _, name := range []string{"prod-cpu-1", "prod-cpu-2", "prod-cpu-3"} {
		targets = append(targets, eksTarget(accountA, "tenant-a", name, "1.30"))
	}
	targets = append(targets, eksTarget(accountB, "tenant-b", "prod-cpu-1", "1.30"))
	for _, r := range gate.NewRunner([]gate.Gate{g}, fixedClock).Run(t.Context(), targets) {
		assert.Equal(t, rollout.GatePassed, r.Outcome, "%s: %s %v", r.Cluster, r.Detail, r.Err)
	}
	versions := map[string]int{} // by role and add-on
	for _, req := range fake.Requests() {
		require.Equal(t, 200, req.Status, "%+v", req)
		if req.Action == "AssumeRole" {
			assert.Equal(t, gate.RoleSessionName, req.SessionName)
			assert.Equal(t, "fleetbot-ext", req.ExternalID)
			continue
		}
		assert.Equal(t, fmt.Sprintf("arn:aws:iam::%s:role/fleetbot-verify-tenant-%s", req.Account, map[string]string{accountA: "a", accountB: "b"}[req.Account]), req.Role)
		if req.Action == "DescribeAddonVersions" {
			versions[req.Role+" "+req.Addon]++
		}
	}
	assert.Equal(t, map[string]int{
		"arn:aws:iam::111111111111:role/fleetbot-verify-tenant-a coredns": 1,
		"arn:aws:iam::111111111111:role/fleetbot-verify-tenant-a vpc-cni": 1,
		"arn:aws:iam::222222222222:role/fleetbot-verify-tenant-b coredns": 1,
		"arn:aws:iam::222222222222:role/fleetbot-verify-tenant-b vpc-cni": 1,
	}, versions)
}

func TestNewPreflightNeedsARole(t *testing.T) {
	t.Parallel()
	_, err := gate.NewPreflight(rollout.EKSGate{})
	assert.ErrorContains(t, err, "preflight gate: no role ARN")
	g, err := gate.NewPreflight(rollout.EKSGate{RoleARN: mustTemplate(t, roleTmpl)},
		gate.WithAWSConfig(aws.Config{Credentials: fakeeks.BaseCredentials()}))
	require.NoError(t, err)
	assert.Equal(t, rollout.GatePreflight, g.Name())
	target := eksTarget(accountA, "tenant-a", "prod-cpu-1", "1.30")
	target.Region = ""
	assert.ErrorContains(t, g.Check(t.Context(), target).Err, "preflight gate: cluster prod-cpu-1 has no region")
	target = eksTarget(accountA, "tenant-a", "prod-cpu-1", "latest")
	assert.ErrorContains(t, g.Check(t.Context(), target).Err, `version "latest" is not major.minor`)
}
