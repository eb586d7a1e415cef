package gate_test

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/fakeeks"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

const (
	accountA = "111111111111"
	accountB = "222222222222"
	region   = "eu-west-1"
	roleTmpl = "arn:aws:iam::{{ .Account }}:role/fleetbot-verify-{{ .Tenant }}"
)

// startEKS serves fake as both EKS and STS and returns an eks gate that
// reaches it with the fake's base credentials and no retries.
func startEKS(t *testing.T, fake *fakeeks.Server, nodegroups bool) *gate.EKS {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	role, err := rollout.ParseTemplate(roleTmpl)
	require.NoError(t, err)
	g, err := gate.NewEKS(rollout.EKSGate{RoleARN: role, ExternalID: "fleetbot-ext", Nodegroups: nodegroups},
		gate.WithEKSEndpoint(srv.URL), gate.WithSTSEndpoint(srv.URL),
		gate.WithAWSConfig(fakeeks.BaseConfig()))
	require.NoError(t, err)
	return g
}

func eksTarget(account, tenant, cluster, version string) gate.Target {
	return gate.Target{Campaign: "c", Cluster: cluster, Tenant: tenant, Env: "prod", Region: region,
		Account: account, Fleet: "cpu", Repo: "acme/fleet", MergeSHA: mergeSHA,
		Change: rollout.KindEKSVersion, Version: version}
}

func ng(name, version, status string, issues ...string) fakeeks.Nodegroup {
	return fakeeks.Nodegroup{Name: name, Version: version, Status: status, ReleaseVersion: version + ".0-20260101", Issues: issues}
}

func TestEKSGate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cluster    *fakeeks.Cluster
		fail       string // an error code the fake answers with
		deny       bool   // AssumeRole is refused
		nodegroups bool
		version    string // the target; "" for a change that is not a version change
		gone       bool   // the change removes the cluster
		isNew      bool   // the change creates the cluster
		region     string
		want       rollout.Outcome
		err        bool
		code       string // the AWSError's service and code
		detail     string
	}{
		{name: "right version ACTIVE passes", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.30", Status: fakeeks.Active, PlatformVersion: "eks.7",
				Nodegroups: []fakeeks.Nodegroup{ng("system", "1.30", fakeeks.Active), ng("workers", "1.30", fakeeks.Active)}},
			want: rollout.GatePassed, detail: "cluster prod-cpu-1 is ACTIVE at 1.30, and its 2 managed node groups too"},
		{name: "no managed node groups passes", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.30"},
			want:    rollout.GatePassed, detail: "it has no managed node groups"},
		{name: "control plane updating waits", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.29", Status: fakeeks.Updating},
			want:    rollout.GateWaiting, detail: "cluster prod-cpu-1 is UPDATING at 1.29, behind the target 1.30"},
		{name: "updating at the target waits", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.30", Status: fakeeks.Updating},
			want:    rollout.GateWaiting, detail: "cluster prod-cpu-1 is UPDATING at 1.30"},
		{name: "version behind waits", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.29", Status: fakeeks.Active},
			want:    rollout.GateWaiting, detail: "Terraform may still be applying"},
		{name: "version ahead fails", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.31", Status: fakeeks.Active},
			want:    rollout.GateFailed, detail: "cluster prod-cpu-1 is at 1.31, ahead of the target 1.30"},
		{name: "1.3 is not 1.30", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.3", Status: fakeeks.Active},
			want:    rollout.GateWaiting, detail: "behind the target 1.30"},
		{name: "FAILED fails", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.30", Status: fakeeks.Failed},
			want:    rollout.GateFailed, detail: "cluster prod-cpu-1 is FAILED at 1.30"},
		{name: "DELETING fails", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.29", Status: fakeeks.Deleting},
			want:    rollout.GateFailed, detail: "is DELETING"},
		{name: "node group behind waits", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.30", Nodegroups: []fakeeks.Nodegroup{
				ng("system", "1.30", fakeeks.Active), ng("workers", "1.29", fakeeks.Updating)}},
			want: rollout.GateWaiting, detail: "node group workers is UPDATING at 1.29, behind the control plane's 1.30"},
		{name: "node group updating at the version waits", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.30", Nodegroups: []fakeeks.Nodegroup{ng("workers", "1.30", fakeeks.Updating)}},
			want:    rollout.GateWaiting, detail: "node group workers is UPDATING at 1.30"},
		{name: "node group degraded fails", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.30", Nodegroups: []fakeeks.Nodegroup{
				ng("workers", "1.29", fakeeks.Degraded, "AsgInstanceLaunchFailures: Could not launch On-Demand Instances")}},
			want: rollout.GateFailed, detail: "node group workers is DEGRADED (AsgInstanceLaunchFailures: Could not launch On-Demand Instances)"},
		{name: "node group create failed fails", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.30", Nodegroups: []fakeeks.Nodegroup{ng("gpu", "1.30", fakeeks.CreateFailed)}},
			want:    rollout.GateFailed, detail: "node group gpu is CREATE_FAILED"},
		{name: "node group ahead fails", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.30", Nodegroups: []fakeeks.Nodegroup{ng("workers", "1.31", fakeeks.Active)}},
			want:    rollout.GateFailed, detail: "node group workers is at 1.31, ahead of the control plane's 1.30"},
		{name: "node groups not checked when the campaign says so", nodegroups: false, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.30", Nodegroups: []fakeeks.Nodegroup{ng("workers", "1.29", fakeeks.Active)}},
			want:    rollout.GatePassed, detail: "cluster prod-cpu-1 is ACTIVE at 1.30"},
		{name: "a label change has no target version", nodegroups: true, version: "",
			cluster: &fakeeks.Cluster{Version: "1.29", Nodegroups: []fakeeks.Nodegroup{ng("workers", "1.29", fakeeks.Active)}},
			want:    rollout.GatePassed},
		{name: "cluster not found fails", nodegroups: true, version: "1.30",
			want: rollout.GateFailed, detail: "EKS has no cluster prod-cpu-1 in account 111111111111, eu-west-1"},
		{name: "cluster in another region is not found", nodegroups: true, version: "1.30", region: "us-east-1",
			cluster: &fakeeks.Cluster{Version: "1.30"},
			want:    rollout.GateFailed, detail: "us-east-1"},
		{name: "AccessDenied assuming the role is a provider error", nodegroups: true, version: "1.30", deny: true,
			cluster: &fakeeks.Cluster{Version: "1.30"},
			want:    rollout.GateWaiting, err: true, code: "STS AccessDenied", detail: "assume the role: AccessDenied"},
		{name: "AccessDeniedException from EKS is a provider error", nodegroups: true, version: "1.30", fail: "AccessDeniedException",
			cluster: &fakeeks.Cluster{Version: "1.30"},
			want:    rollout.GateWaiting, err: true, code: "EKS AccessDeniedException", detail: "EKS AccessDeniedException"},
		{name: "throttling is a provider error", nodegroups: true, version: "1.30", fail: "ThrottlingException",
			cluster: &fakeeks.Cluster{Version: "1.30"},
			want:    rollout.GateWaiting, err: true, code: "EKS ThrottlingException", detail: "ThrottlingException"},
		{name: "a version that is not major.minor is a provider error", nodegroups: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "latest"},
			want:    rollout.GateWaiting, err: true, detail: `version "latest" is not major.minor`},
		{name: "new: not found yet waits", nodegroups: true, version: "1.30", isNew: true,
			want: rollout.GateWaiting, detail: "EKS has no cluster prod-cpu-1 in account 111111111111, eu-west-1, as arn:aws:iam::111111111111:role/fleetbot-verify-tenant-a yet: Terraform has not created it"},
		{name: "gone: not found passes", nodegroups: true, gone: true,
			want: rollout.GatePassed, detail: "cluster prod-cpu-1 is gone: EKS has no cluster of that name in account 111111111111, eu-west-1"},
		{name: "gone: DELETING passes", nodegroups: true, gone: true,
			cluster: &fakeeks.Cluster{Version: "1.29", Status: fakeeks.Deleting, Nodegroups: []fakeeks.Nodegroup{ng("workers", "1.29", fakeeks.Deleting)}},
			want:    rollout.GatePassed, detail: "cluster prod-cpu-1 is DELETING at 1.29: on its way out"},
		{name: "gone: ACTIVE waits", nodegroups: true, gone: true,
			cluster: &fakeeks.Cluster{Version: "1.29", Status: fakeeks.Active, Nodegroups: []fakeeks.Nodegroup{ng("workers", "1.29", fakeeks.Active)}},
			want:    rollout.GateWaiting, detail: "cluster prod-cpu-1 is still ACTIVE at 1.29: Terraform has not destroyed it yet"},
		{name: "gone: FAILED waits", nodegroups: true, gone: true,
			cluster: &fakeeks.Cluster{Version: "1.29", Status: fakeeks.Failed},
			want:    rollout.GateWaiting, detail: "cluster prod-cpu-1 is still FAILED at 1.29"},
		{name: "gone: a target version does not matter", nodegroups: true, gone: true, version: "1.30",
			cluster: &fakeeks.Cluster{Version: "1.31", Status: fakeeks.Updating},
			want:    rollout.GateWaiting, detail: "cluster prod-cpu-1 is still UPDATING at 1.31"},
		{name: "gone: throttling is a provider error", nodegroups: true, gone: true, fail: "ThrottlingException",
			cluster: &fakeeks.Cluster{Version: "1.29"},
			want:    rollout.GateWaiting, err: true, code: "EKS ThrottlingException", detail: "ThrottlingException"},
		{name: "gone: AccessDenied assuming the role is a provider error", nodegroups: true, gone: true, deny: true,
			want: rollout.GateWaiting, err: true, code: "STS AccessDenied", detail: "assume the role: AccessDenied"},
	}
	var golden strings.Builder
	for _, tc := range tests {
		fake := clusterFake(tc.cluster, tc.fail, tc.deny)
		g := startEKS(t, fake, tc.nodegroups)
		target := eksTarget(accountA, "tenant-a", "prod-cpu-1", tc.version)
		target.Gone, target.New = tc.gone, tc.isNew
		if tc.region != "" {
			target.Region = tc.region
		}
		r := runOne(t, g, target)
		t.Run(tc.name, func(t *testing.T) {
			checkAWSResult(t, r, rollout.GateEKS, tc.want, tc.err, tc.code, tc.detail)
			if tc.gone {
				for _, req := range fake.Requests() {
					assert.NotContains(t, req.Action, "Nodegroup", "the node groups of a cluster on its way out are not asked")
				}
			}
		})
		golden.WriteString("== " + tc.name + "\n" + describe(r) + "\n")
	}
	checkGolden(t, "eks.golden", golden.String())
}

// TestEKSGateAssumesARolePerTenant: two tenants' clusters, of one name in
// two accounts, are each read as their tenant's role, with the role's own
// credentials, and each role is assumed once.
func TestEKSGateAssumesARolePerTenant(t *testing.T) {
	t.Parallel()
	fake := fakeeks.New()
	fake.SetCluster(accountA, region, fakeeks.Cluster{Name: "prod-cpu-1", Version: "1.30",
		Nodegroups: []fakeeks.Nodegroup{ng("workers", "1.30", fakeeks.Active)}})
	fake.SetCluster(accountB, region, fakeeks.Cluster{Name: "prod-cpu-1", Version: "1.29"})
	g := startEKS(t, fake, true)

	a := eksTarget(accountA, "tenant-a", "prod-cpu-1", "1.30")
	b := eksTarget(accountB, "tenant-b", "prod-cpu-1", "1.30")
	results := gate.NewRunner([]gate.Gate{g}, fixedClock).Run(t.Context(), []gate.Target{a, b, a, b})
	require.Len(t, results, 4)
	for i, want := range []rollout.Outcome{rollout.GatePassed, rollout.GateWaiting, rollout.GatePassed, rollout.GateWaiting} {
		assert.Equal(t, want, results[i].Outcome, "check %d: %s %v", i, results[i].Detail, results[i].Err)
	}

	roleA := "arn:aws:iam::111111111111:role/fleetbot-verify-tenant-a"
	roleB := "arn:aws:iam::222222222222:role/fleetbot-verify-tenant-b"
	reqs := fake.Requests()
	var assumed []string
	keys := map[string]string{} // role -> access key
	for _, r := range reqs {
		require.Equal(t, 200, r.Status, "%+v", r)
		if r.Action == "AssumeRole" {
			assumed = append(assumed, r.Role)
			assert.Equal(t, fakeeks.BaseAccessKeyID, r.AccessKey, "roles are assumed with the base credentials")
			assert.Equal(t, "fleetbot-ext", r.ExternalID)
			assert.Equal(t, gate.RoleSessionName, r.SessionName)
			continue
		}
		assert.Equal(t, region, r.Region)
		switch r.Account {
		case accountA:
			assert.Equal(t, roleA, r.Role)
		case accountB:
			assert.Equal(t, roleB, r.Role)
		default:
			t.Errorf("%s read account %q", r.Action, r.Account)
		}
		if k, ok := keys[r.Role]; ok {
			assert.Equal(t, k, r.AccessKey, "one role, one set of cached credentials")
		}
		keys[r.Role] = r.AccessKey
	}
	slices.Sort(assumed)
	assert.Equal(t, []string{roleA, roleB}, assumed, "each role is assumed once and its credentials cached")
	assert.NotEqual(t, keys[roleA], keys[roleB])
	assert.NotEqual(t, fakeeks.BaseAccessKeyID, keys[roleA])
}

func TestNewEKSNeedsARole(t *testing.T) {
	t.Parallel()
	_, err := gate.NewEKS(rollout.EKSGate{})
	assert.ErrorContains(t, err, "no role ARN")
	g, err := gate.NewEKS(rollout.EKSGate{RoleARN: mustTemplate(t, roleTmpl)},
		gate.WithAWSConfig(aws.Config{Credentials: fakeeks.BaseCredentials()}))
	require.NoError(t, err)
	target := eksTarget(accountA, "tenant-a", "prod-cpu-1", "1.30")
	target.Region = ""
	r := g.Check(t.Context(), target)
	assert.ErrorContains(t, r.Err, "cluster prod-cpu-1 has no region")
}

// clusterFake returns a fake that holds cluster, when not nil, as
// prod-cpu-1 in tenant-a's account, answers every call about it with the
// error code failCode, when set, and refuses tenant-a's role when deny.
func clusterFake(cluster *fakeeks.Cluster, failCode string, deny bool) *fakeeks.Server {
	fake := fakeeks.New()
	if cluster != nil {
		c := *cluster
		c.Name = "prod-cpu-1"
		fake.SetCluster(accountA, region, c)
	}
	if failCode != "" {
		fake.FailCluster(accountA, region, "prod-cpu-1", failCode)
	}
	if deny {
		fake.DenyRole("arn:aws:iam::111111111111:role/fleetbot-verify-tenant-a")
	}
	return fake
}

// runOne checks target with g as a Runner does and returns the result.
func runOne(t *testing.T, g gate.Gate, target gate.Target) gate.Result {
	t.Helper()
	got := gate.NewRunner([]gate.Gate{g}, fixedClock).Run(t.Context(), []gate.Target{target})
	require.Len(t, got, 1)
	return got[0]
}

// checkAWSResult checks a result of a gate that reads AWS: its outcome,
// whether it is a provider error, and if so the AWSError's gate, service
// and code ("EKS ThrottlingException"), and that its detail holds detail.
func checkAWSResult(t *testing.T, r gate.Result, name string, want rollout.Outcome, err bool, code, detail string) {
	t.Helper()
	assert.Equal(t, want, r.Outcome, "detail: %s", r.Detail)
	assert.Equal(t, err, r.Err != nil, "provider error: %v", r.Err)
	assert.Contains(t, r.Detail, detail)
	assert.Equal(t, name, r.Gate)
	if code != "" {
		var awsErr *gate.AWSError
		require.ErrorAs(t, r.Err, &awsErr)
		assert.Equal(t, code, awsErr.Service+" "+awsErr.Code)
		assert.Equal(t, name, awsErr.Gate)
	}
}

func mustTemplate(t *testing.T, s string) rollout.Template {
	t.Helper()
	tmpl, err := rollout.ParseTemplate(s)
	require.NoError(t, err)
	return tmpl
}
