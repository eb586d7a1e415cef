package fakeeks_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/fakeeks"
)

const (
	account = "123456789012"
	region  = "eu-west-1"
	role    = "arn:aws:iam::123456789012:role/verify"
)

func start(t *testing.T, s *fakeeks.Server) string {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL
}

// eksAs returns an EKS client that assumes role through the fake's STS.
func eksAs(url, role string) (*eks.Client, *sts.Client) {
	base := fakeeks.BaseConfig()
	base.Region = region
	st := sts.NewFromConfig(base, func(o *sts.Options) { o.BaseEndpoint = aws.String(url) })
	creds := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(st, role))
	return eks.NewFromConfig(base, func(o *eks.Options) {
		o.BaseEndpoint = aws.String(url)
		o.Credentials = creds
	}), st
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var api smithy.APIError
	require.ErrorAs(t, err, &api)
	return api.ErrorCode()
}

func TestDescribeThroughTheSDK(t *testing.T) {
	t.Parallel()
	s := fakeeks.New()
	s.SetCluster(account, region, fakeeks.Cluster{Name: "dev-1", Version: "1.29", PlatformVersion: "eks.9"})
	for _, name := range []string{"c", "a", "b"} {
		require.True(t, s.SetNodegroup(account, region, "dev-1", fakeeks.Nodegroup{Name: name, Version: "1.29"}))
	}
	require.True(t, s.SetNodegroup(account, region, "dev-1", fakeeks.Nodegroup{Name: "b", Version: "1.28", Status: fakeeks.Degraded,
		Issues: []string{"NodeCreationFailure: Instances failed to join the kubernetes cluster"}}))
	assert.False(t, s.SetNodegroup(account, region, "dev-9", fakeeks.Nodegroup{Name: "a"}))
	c, _ := eksAs(start(t, s), role)
	ctx := t.Context()

	out, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("dev-1")})
	require.NoError(t, err)
	assert.Equal(t, "1.29", aws.ToString(out.Cluster.Version))
	assert.Equal(t, ekstypes.ClusterStatusActive, out.Cluster.Status)
	assert.Equal(t, "eks.9", aws.ToString(out.Cluster.PlatformVersion))
	assert.Equal(t, "arn:aws:eks:eu-west-1:123456789012:cluster/dev-1", aws.ToString(out.Cluster.Arn))
	require.NotNil(t, out.Cluster.CreatedAt)

	var names []string
	p := eks.NewListNodegroupsPaginator(c, &eks.ListNodegroupsInput{ClusterName: aws.String("dev-1"), MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		names = append(names, page.Nodegroups...)
		pages++
	}
	assert.Equal(t, []string{"a", "b", "c"}, names)
	assert.Equal(t, 2, pages)

	ng, err := c.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String("dev-1"), NodegroupName: aws.String("b")})
	require.NoError(t, err)
	assert.Equal(t, ekstypes.NodegroupStatusDegraded, ng.Nodegroup.Status)
	assert.Equal(t, "1.28", aws.ToString(ng.Nodegroup.Version))
	require.Len(t, ng.Nodegroup.Health.Issues, 1)
	assert.Equal(t, ekstypes.NodegroupIssueCode("NodeCreationFailure"), ng.Nodegroup.Health.Issues[0].Code)

	_, err = c.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String("dev-1"), NodegroupName: aws.String("z")})
	var nf *ekstypes.ResourceNotFoundException
	assert.ErrorAs(t, err, &nf)
	_, err = c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("dev-2")})
	assert.ErrorAs(t, err, &nf)

	require.True(t, s.Upgrade(account, region, "dev-1", "1.30"))
	out, err = c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("dev-1")})
	require.NoError(t, err)
	assert.Equal(t, "1.30", aws.ToString(out.Cluster.Version))
	ng, err = c.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String("dev-1"), NodegroupName: aws.String("b")})
	require.NoError(t, err)
	assert.Equal(t, ekstypes.NodegroupStatusActive, ng.Nodegroup.Status)
	assert.Equal(t, "1.30", aws.ToString(ng.Nodegroup.Version))
	assert.False(t, s.Upgrade(account, region, "dev-9", "1.30"))

	s.FailCluster(account, region, "dev-1", "ServiceUnavailableException")
	_, err = c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("dev-1")})
	assert.Equal(t, "ServiceUnavailableException", apiCode(t, err))
	s.FailCluster(account, region, "dev-1", "")
	_, err = c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("dev-1")})
	assert.NoError(t, err)

	reqs := s.Requests()
	require.NotEmpty(t, reqs)
	assert.Equal(t, "AssumeRole", reqs[0].Action)
	assert.Equal(t, role, reqs[0].Role)
	for _, r := range reqs[1:] {
		assert.Equal(t, role, r.Role, r.Action)
		assert.Equal(t, account, r.Account, r.Action)
		assert.NotEqual(t, fakeeks.BaseAccessKeyID, r.AccessKey, r.Action)
	}
}

func TestClustersBelongToTheRolesAccount(t *testing.T) {
	t.Parallel()
	s := fakeeks.New()
	s.SetCluster(account, region, fakeeks.Cluster{Name: "dev-1", Version: "1.29"})
	url := start(t, s)
	other, _ := eksAs(url, "arn:aws:iam::999999999999:role/verify")
	_, err := other.DescribeCluster(t.Context(), &eks.DescribeClusterInput{Name: aws.String("dev-1")})
	assert.Equal(t, "ResourceNotFoundException", apiCode(t, err), "another account's role does not see the cluster")
	same, _ := eksAs(url, role)
	_, err = same.DescribeCluster(t.Context(), &eks.DescribeClusterInput{Name: aws.String("dev-1")})
	assert.NoError(t, err)
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	s := fakeeks.New()
	s.SetCluster(account, region, fakeeks.Cluster{Name: "dev-1", Version: "1.29"})
	s.DenyRole("arn:aws:iam::123456789012:role/denied")
	url := start(t, s)
	ctx := t.Context()
	in := &eks.DescribeClusterInput{Name: aws.String("dev-1")}

	t.Run("denied role", func(t *testing.T) {
		c, st := eksAs(url, "arn:aws:iam::123456789012:role/denied")
		_, err := c.DescribeCluster(ctx, in)
		assert.Equal(t, "AccessDenied", apiCode(t, err))
		_, err = st.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("not-an-arn"), RoleSessionName: aws.String("x")})
		assert.Equal(t, "ValidationError", apiCode(t, err))
	})
	t.Run("base credentials on EKS", func(t *testing.T) {
		base := fakeeks.BaseConfig()
		base.Region = region
		c := eks.NewFromConfig(base, func(o *eks.Options) { o.BaseEndpoint = aws.String(url) })
		_, err := c.DescribeCluster(ctx, in)
		assert.Equal(t, "AccessDeniedException", apiCode(t, err))
	})
	t.Run("wrong secret for STS", func(t *testing.T) {
		cfg := fakeeks.BaseConfig()
		cfg.Region, cfg.Credentials = region, credentials.NewStaticCredentialsProvider(fakeeks.BaseAccessKeyID, "guessed", "")
		st := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(url) })
		_, err := st.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("x")})
		assert.Equal(t, "SignatureDoesNotMatch", apiCode(t, err))
	})
	t.Run("made-up access key", func(t *testing.T) {
		cfg := fakeeks.BaseConfig()
		cfg.Region, cfg.Credentials = region, credentials.NewStaticCredentialsProvider("ASIAFAKE000000000042", "s", "t")
		c := eks.NewFromConfig(cfg, func(o *eks.Options) { o.BaseEndpoint = aws.String(url) })
		_, err := c.DescribeCluster(ctx, in)
		assert.Equal(t, "InvalidSignatureException", apiCode(t, err))
	})
	t.Run("unsigned", func(t *testing.T) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/clusters/dev-1", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Equal(t, "InvalidSignatureException", resp.Header.Get("X-Amzn-ErrorType"))
		assert.Contains(t, string(body), "no AWS4-HMAC-SHA256 Authorization header")
	})
	t.Run("tampered after signing", func(t *testing.T) {
		c, _ := eksAs(url, role)
		_, err := c.DescribeCluster(ctx, in, func(o *eks.Options) {
			o.HTTPClient = tamper{}
		})
		assert.Equal(t, "InvalidSignatureException", apiCode(t, err))
	})
}

// tamper changes a signed request's path, as a proxy rewriting it would.
type tamper struct{}

func (tamper) Do(r *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(r.URL.Path, "/clusters/") {
		return http.DefaultClient.Do(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = strings.Replace(r.URL.Path, "dev-1", "dev-2", 1)
	r2.URL.RawPath = ""
	if r2.URL.Path == r.URL.Path {
		return nil, errors.New("nothing to tamper with")
	}
	return http.DefaultClient.Do(r2)
}

func TestInsightsThroughTheSDK(t *testing.T) {
	t.Parallel()
	s := fakeeks.New(fakeeks.WithClock(func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }))
	s.SetCluster(account, region, fakeeks.Cluster{Name: "dev-1", Version: "1.29"})
	last := time.Date(2026, 2, 27, 8, 0, 0, 0, time.UTC)
	deprecated := fakeeks.Insight{
		ID: "ins-apis", Name: "Deprecated APIs removed in Kubernetes v1.30", KubernetesVersion: "1.30",
		Status: fakeeks.InsightError, Reason: "Deprecated API usage detected within last 30 days",
		Description:    "Checks for usage of deprecated APIs that are scheduled for removal in Kubernetes v1.30.",
		Recommendation: "Update manifests and API clients to use newer Kubernetes APIs if applicable before upgrading to Kubernetes v1.30.",
		AdditionalInfo: map[string]string{"EKS update cluster documentation": "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html"},
		Resources:      []string{"/apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas"},
		Deprecations: []fakeeks.Deprecation{{
			Usage: "/apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas", ReplacedWith: "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas",
			StopServingVersion: "1.29", StartServingReplacementVersion: "1.26",
			Clients: []fakeeks.ClientStat{{UserAgent: "kube-controller-manager/v1.28", Requests: 42, LastRequest: last}},
		}},
	}
	for _, in := range []fakeeks.Insight{
		deprecated,
		{ID: "ins-kubelet", Name: "Kubelet version skew", KubernetesVersion: "1.30", Status: fakeeks.InsightPassing},
		{ID: "ins-addons", Name: "EKS add-on version compatibility", KubernetesVersion: "1.30", Status: fakeeks.InsightWarning, Reason: "vpc-cni needs an update"},
		{ID: "ins-old", Name: "Deprecated APIs removed in Kubernetes v1.29", KubernetesVersion: "1.29", Status: fakeeks.InsightError},
		{ID: "ins-hybrid", Name: "Hybrid nodes", Category: fakeeks.Misconfiguration, KubernetesVersion: "1.30", Status: fakeeks.InsightError},
	} {
		require.True(t, s.SetInsight(account, region, "dev-1", in))
	}
	assert.False(t, s.SetInsight(account, region, "dev-9", deprecated))
	c, _ := eksAs(start(t, s), role)
	ctx := t.Context()

	list := func(filter *ekstypes.InsightsFilter, size int32) (ids []string, pages int) {
		t.Helper()
		p := eks.NewListInsightsPaginator(c, &eks.ListInsightsInput{ClusterName: aws.String("dev-1"), Filter: filter, MaxResults: aws.Int32(size)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			require.NoError(t, err)
			for _, in := range page.Insights {
				ids = append(ids, aws.ToString(in.Id))
			}
			pages++
		}
		return ids, pages
	}
	ids, pages := list(nil, 2)
	assert.Equal(t, []string{"ins-apis", "ins-kubelet", "ins-addons", "ins-old", "ins-hybrid"}, ids, "no filter: every insight")
	assert.Equal(t, 3, pages)
	ids, _ = list(&ekstypes.InsightsFilter{Categories: []ekstypes.Category{ekstypes.CategoryUpgradeReadiness}, KubernetesVersions: []string{"1.30"}}, 100)
	assert.Equal(t, []string{"ins-apis", "ins-kubelet", "ins-addons"}, ids, "upgrade insights for 1.30")
	ids, _ = list(&ekstypes.InsightsFilter{KubernetesVersions: []string{"1.30"},
		Statuses: []ekstypes.InsightStatusValue{ekstypes.InsightStatusValueError, ekstypes.InsightStatusValueWarning}}, 1)
	assert.Equal(t, []string{"ins-apis", "ins-addons", "ins-hybrid"}, ids, "not passing, for 1.30")

	page, err := c.ListInsights(ctx, &eks.ListInsightsInput{ClusterName: aws.String("dev-1"), MaxResults: aws.Int32(1)})
	require.NoError(t, err)
	sum := page.Insights[0]
	assert.Equal(t, ekstypes.CategoryUpgradeReadiness, sum.Category)
	assert.Equal(t, "1.30", aws.ToString(sum.KubernetesVersion))
	assert.Equal(t, ekstypes.InsightStatusValueError, sum.InsightStatus.Status)
	assert.Equal(t, "Deprecated API usage detected within last 30 days", aws.ToString(sum.InsightStatus.Reason))
	assert.Equal(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), aws.ToTime(sum.LastRefreshTime).UTC())
	require.NotNil(t, sum.LastTransitionTime)

	d, err := c.DescribeInsight(ctx, &eks.DescribeInsightInput{ClusterName: aws.String("dev-1"), Id: aws.String("ins-apis")})
	require.NoError(t, err)
	in := d.Insight
	assert.Equal(t, deprecated.Name, aws.ToString(in.Name))
	assert.Equal(t, deprecated.Recommendation, aws.ToString(in.Recommendation))
	assert.Equal(t, deprecated.AdditionalInfo, in.AdditionalInfo)
	require.Len(t, in.Resources, 1)
	assert.Equal(t, "/apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas", aws.ToString(in.Resources[0].KubernetesResourceUri))
	assert.Equal(t, ekstypes.InsightStatusValueError, in.Resources[0].InsightStatus.Status)
	require.NotNil(t, in.CategorySpecificSummary)
	require.Len(t, in.CategorySpecificSummary.DeprecationDetails, 1)
	dep := in.CategorySpecificSummary.DeprecationDetails[0]
	assert.Equal(t, "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas", aws.ToString(dep.ReplacedWith))
	assert.Equal(t, "1.29", aws.ToString(dep.StopServingVersion))
	require.Len(t, dep.ClientStats, 1)
	assert.Equal(t, "kube-controller-manager/v1.28", aws.ToString(dep.ClientStats[0].UserAgent))
	assert.Equal(t, int32(42), dep.ClientStats[0].NumberOfRequestsLast30Days)
	assert.Equal(t, last, aws.ToTime(dep.ClientStats[0].LastRequestTime).UTC())

	_, err = c.DescribeInsight(ctx, &eks.DescribeInsightInput{ClusterName: aws.String("dev-1"), Id: aws.String("nope")})
	assert.Equal(t, "ResourceNotFoundException", apiCode(t, err))
	_, err = c.ListInsights(ctx, &eks.ListInsightsInput{ClusterName: aws.String("dev-1"),
		Filter: &ekstypes.InsightsFilter{Statuses: []ekstypes.InsightStatusValue{"BROKEN"}}})
	assert.Equal(t, "InvalidParameterException", apiCode(t, err))
	_, err = c.ListInsights(ctx, &eks.ListInsightsInput{ClusterName: aws.String("dev-2")})
	assert.Equal(t, "ResourceNotFoundException", apiCode(t, err))

	s.FailAction("DescribeInsight", "ThrottlingException")
	_, err = c.DescribeInsight(ctx, &eks.DescribeInsightInput{ClusterName: aws.String("dev-1"), Id: aws.String("ins-apis")})
	assert.Equal(t, "ThrottlingException", apiCode(t, err))
	_, err = c.ListInsights(ctx, &eks.ListInsightsInput{ClusterName: aws.String("dev-1")})
	assert.NoError(t, err, "only the action told to fail fails")
	s.FailAction("DescribeInsight", "")
	_, err = c.DescribeInsight(ctx, &eks.DescribeInsightInput{ClusterName: aws.String("dev-1"), Id: aws.String("ins-apis")})
	assert.NoError(t, err)

	var actions []string
	for _, r := range s.Requests() {
		if r.Action == "AssumeRole" {
			continue // the fixed clock makes the credentials expire at once
		}
		assert.Equal(t, role, r.Role, r.Action)
		assert.NotEqual(t, fakeeks.BaseAccessKeyID, r.AccessKey, r.Action)
		if !slices.Contains(actions, r.Action) {
			actions = append(actions, r.Action)
		}
		if r.Action == "DescribeInsight" && r.Status == http.StatusOK {
			assert.Equal(t, "ins-apis", r.Insight)
		}
	}
	assert.Equal(t, []string{"ListInsights", "DescribeInsight"}, actions)
}

func TestAddonsThroughTheSDK(t *testing.T) {
	t.Parallel()
	s := fakeeks.New()
	s.SetCluster(account, region, fakeeks.Cluster{Name: "dev-1", Version: "1.29",
		Addons: []fakeeks.Addon{{Name: "vpc-cni", Version: "v1.16.0-eksbuild.1"}, {Name: "coredns", Version: "v1.11.1-eksbuild.4"}}})
	require.True(t, s.SetAddon(account, region, "dev-1", fakeeks.Addon{Name: "kube-proxy", Version: "v1.29.0-eksbuild.1",
		Status: "DEGRADED", Issues: []string{"InsufficientNumberOfReplicas: The add-on is unhealthy because it doesn't have the desired number of replicas."}}))
	assert.False(t, s.SetAddon(account, region, "dev-9", fakeeks.Addon{Name: "vpc-cni"}))
	s.SetAddonVersions("vpc-cni", []fakeeks.AddonVersion{
		{Version: "v1.18.3-eksbuild.2", Compatible: []string{"1.30", "1.29"}, DefaultFor: []string{"1.30"}},
		{Version: "v1.16.0-eksbuild.1", Compatible: []string{"1.29", "1.28"}, DefaultFor: []string{"1.29"}},
	})
	s.SetAddonVersions("coredns", []fakeeks.AddonVersion{{Version: "v1.11.1-eksbuild.4", Compatible: []string{"1.29"}}})
	s.SetAddonVersions("gone", []fakeeks.AddonVersion{{Version: "v1", Compatible: []string{"1.29"}}})
	s.SetAddonVersions("gone", nil)
	c, _ := eksAs(start(t, s), role)
	ctx := t.Context()

	var names []string
	p := eks.NewListAddonsPaginator(c, &eks.ListAddonsInput{ClusterName: aws.String("dev-1"), MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		names = append(names, page.Addons...)
		pages++
	}
	assert.Equal(t, []string{"coredns", "kube-proxy", "vpc-cni"}, names)
	assert.Equal(t, 2, pages)

	a, err := c.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String("dev-1"), AddonName: aws.String("kube-proxy")})
	require.NoError(t, err)
	assert.Equal(t, "v1.29.0-eksbuild.1", aws.ToString(a.Addon.AddonVersion))
	assert.Equal(t, ekstypes.AddonStatusDegraded, a.Addon.Status)
	assert.Equal(t, "dev-1", aws.ToString(a.Addon.ClusterName))
	assert.True(t, strings.HasPrefix(aws.ToString(a.Addon.AddonArn), "arn:aws:eks:eu-west-1:123456789012:addon/dev-1/kube-proxy/"), aws.ToString(a.Addon.AddonArn))
	require.Len(t, a.Addon.Health.Issues, 1)
	assert.Equal(t, ekstypes.AddonIssueCodeInsufficientNumberOfReplicas, a.Addon.Health.Issues[0].Code)
	a, err = c.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String("dev-1"), AddonName: aws.String("vpc-cni")})
	require.NoError(t, err)
	assert.Equal(t, ekstypes.AddonStatusActive, a.Addon.Status)
	_, err = c.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String("dev-1"), AddonName: aws.String("aws-ebs-csi-driver")})
	assert.Equal(t, "ResourceNotFoundException", apiCode(t, err))

	versions := func(in *eks.DescribeAddonVersionsInput) map[string][]string {
		t.Helper()
		out := map[string][]string{}
		p := eks.NewDescribeAddonVersionsPaginator(c, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			require.NoError(t, err)
			for _, info := range page.Addons {
				var vs []string
				for _, v := range info.AddonVersions {
					for _, cp := range v.Compatibilities {
						vs = append(vs, fmt.Sprintf("%s@%s default=%t", aws.ToString(v.AddonVersion), aws.ToString(cp.ClusterVersion), cp.DefaultVersion))
					}
				}
				out[aws.ToString(info.AddonName)] = vs
			}
		}
		return out
	}
	assert.Equal(t, map[string][]string{"vpc-cni": {"v1.18.3-eksbuild.2@1.30 default=true"}},
		versions(&eks.DescribeAddonVersionsInput{KubernetesVersion: aws.String("1.30")}), "for 1.30, only what runs on 1.30")
	assert.Equal(t, map[string][]string{"vpc-cni": {
		"v1.18.3-eksbuild.2@1.30 default=true", "v1.18.3-eksbuild.2@1.29 default=false",
		"v1.16.0-eksbuild.1@1.29 default=true", "v1.16.0-eksbuild.1@1.28 default=false",
	}}, versions(&eks.DescribeAddonVersionsInput{AddonName: aws.String("vpc-cni")}))
	assert.Equal(t, map[string][]string{
		"coredns": {"v1.11.1-eksbuild.4@1.29 default=false"},
		"vpc-cni": {"v1.18.3-eksbuild.2@1.29 default=false", "v1.16.0-eksbuild.1@1.29 default=true"},
	}, versions(&eks.DescribeAddonVersionsInput{KubernetesVersion: aws.String("1.29"), MaxResults: aws.Int32(1)}), "paginated over add-ons")
	assert.Empty(t, versions(&eks.DescribeAddonVersionsInput{AddonName: aws.String("coredns"), KubernetesVersion: aws.String("1.30")}))

	info, err := c.DescribeAddonVersions(ctx, &eks.DescribeAddonVersionsInput{AddonName: aws.String("vpc-cni")})
	require.NoError(t, err)
	require.Len(t, info.Addons, 1)
	assert.Equal(t, "networking", aws.ToString(info.Addons[0].Type))
	assert.Equal(t, []string{"amd64", "arm64"}, info.Addons[0].AddonVersions[0].Architecture)
	_, err = c.DescribeAddonVersions(ctx, &eks.DescribeAddonVersionsInput{Types: []string{"networking"}})
	assert.Equal(t, "InvalidParameterException", apiCode(t, err), "a filter the fake does not apply is refused, not ignored")

	other, _ := eksAs(start(t, s), "arn:aws:iam::999999999999:role/verify")
	info, err = other.DescribeAddonVersions(ctx, &eks.DescribeAddonVersionsInput{AddonName: aws.String("vpc-cni")})
	require.NoError(t, err, "the catalogue is the same in every account")
	assert.Len(t, info.Addons, 1)
	_, err = other.ListAddons(ctx, &eks.ListAddonsInput{ClusterName: aws.String("dev-1")})
	assert.Equal(t, "ResourceNotFoundException", apiCode(t, err), "another account does not see the cluster's add-ons")

	s.FailCluster(account, region, "dev-1", "AccessDeniedException")
	_, err = c.ListAddons(ctx, &eks.ListAddonsInput{ClusterName: aws.String("dev-1")})
	assert.Equal(t, "AccessDeniedException", apiCode(t, err))
	_, err = c.DescribeAddonVersions(ctx, &eks.DescribeAddonVersionsInput{AddonName: aws.String("vpc-cni")})
	assert.NoError(t, err, "a cluster's errors are not the catalogue's")

	for _, r := range s.Requests() {
		if r.Action == "AssumeRole" {
			continue
		}
		assert.NotEqual(t, fakeeks.BaseAccessKeyID, r.AccessKey, r.Action)
		assert.NotEmpty(t, r.Role, r.Action)
		if r.Action == "DescribeAddonVersions" {
			assert.Empty(t, r.Cluster)
		}
	}
}

// TestDeleteClusterThroughTheSDK: a deleted cluster is DELETING, with its
// node groups and add-ons, until the next call removes it; then EKS has no
// such cluster, as the SDK decodes it.
func TestDeleteClusterThroughTheSDK(t *testing.T) {
	t.Parallel()
	s := fakeeks.New()
	s.SetCluster(account, region, fakeeks.Cluster{Name: "blue", Version: "1.29",
		Nodegroups: []fakeeks.Nodegroup{{Name: "workers", Version: "1.29"}},
		Addons:     []fakeeks.Addon{{Name: "vpc-cni", Version: "v1.18.3-eksbuild.2"}}})
	s.SetCluster(account, region, fakeeks.Cluster{Name: "green", Version: "1.30"})
	c, _ := eksAs(start(t, s), role)
	ctx := t.Context()

	gone, ok := s.DeleteCluster(account, region, "blue")
	assert.Equal(t, []bool{false, true}, []bool{gone, ok}, "the first call starts the deletion")
	out, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("blue")})
	require.NoError(t, err)
	assert.Equal(t, ekstypes.ClusterStatusDeleting, out.Cluster.Status)
	assert.Equal(t, "1.29", aws.ToString(out.Cluster.Version))
	ng, err := c.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String("blue"), NodegroupName: aws.String("workers")})
	require.NoError(t, err)
	assert.Equal(t, ekstypes.NodegroupStatusDeleting, ng.Nodegroup.Status)
	a, err := c.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String("blue"), AddonName: aws.String("vpc-cni")})
	require.NoError(t, err)
	assert.Equal(t, ekstypes.AddonStatusDeleting, a.Addon.Status)

	gone, ok = s.DeleteCluster(account, region, "blue")
	assert.Equal(t, []bool{true, true}, []bool{gone, ok}, "the next call removes it")
	_, err = c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("blue")})
	var nf *ekstypes.ResourceNotFoundException
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, "No cluster found for name: blue.", aws.ToString(nf.Message))
	_, err = c.ListNodegroups(ctx, &eks.ListNodegroupsInput{ClusterName: aws.String("blue")})
	require.ErrorAs(t, err, &nf, "its node groups went with it")
	_, err = c.ListAddons(ctx, &eks.ListAddonsInput{ClusterName: aws.String("blue")})
	require.ErrorAs(t, err, &nf, "its add-ons went with it")
	_, found := s.Cluster(account, region, "blue")
	assert.False(t, found)

	gone, ok = s.DeleteCluster(account, region, "blue")
	assert.Equal(t, []bool{false, false}, []bool{gone, ok}, "nothing is left to delete")
	out, err = c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("green")})
	require.NoError(t, err, "the other cluster stays")
	assert.Equal(t, ekstypes.ClusterStatusActive, out.Cluster.Status)
}
