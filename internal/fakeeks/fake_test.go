package fakeeks_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
	base := aws.Config{Region: region, Credentials: fakeeks.BaseCredentials(), RetryMaxAttempts: 1}
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
		c := eks.NewFromConfig(aws.Config{Region: region, Credentials: fakeeks.BaseCredentials(), RetryMaxAttempts: 1},
			func(o *eks.Options) { o.BaseEndpoint = aws.String(url) })
		_, err := c.DescribeCluster(ctx, in)
		assert.Equal(t, "AccessDeniedException", apiCode(t, err))
	})
	t.Run("wrong secret for STS", func(t *testing.T) {
		st := sts.NewFromConfig(aws.Config{Region: region, RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(fakeeks.BaseAccessKeyID, "guessed", "")},
			func(o *sts.Options) { o.BaseEndpoint = aws.String(url) })
		_, err := st.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("x")})
		assert.Equal(t, "SignatureDoesNotMatch", apiCode(t, err))
	})
	t.Run("made-up access key", func(t *testing.T) {
		c := eks.NewFromConfig(aws.Config{Region: region, RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider("ASIAFAKE000000000042", "s", "t")},
			func(o *eks.Options) { o.BaseEndpoint = aws.String(url) })
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
