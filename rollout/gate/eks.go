package gate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/fleetbot/fleetbot/rollout"
)

// RoleSessionName is the session name the eks gate gives AssumeRole, so
// CloudTrail shows who looked.
const RoleSessionName = "fleetbot-verify"

// EKS is the eks gate. In the cluster's account, as the role cfg.RoleARN
// renders to for the target (assumed through STS, its credentials cached
// per role), and in the target's region, it calls DescribeCluster and,
// when cfg.Nodegroups, ListNodegroups and DescribeNodegroup:
//
//   - The cluster not found fails (ResourceNotFoundException), unless the
//     change creates it (Target.New): then it waits.
//   - Status FAILED or DELETING fails; CREATING, PENDING and UPDATING wait.
//   - A control-plane version ahead of the target fails (EKS cannot have
//     gone there for this change); one behind waits (Terraform may still
//     be applying; the progress deadline times it out). A change that is
//     not an EKS version change (Target.Version empty) has no target.
//   - Once the control plane is ACTIVE at the target, every managed node
//     group must be ACTIVE at the control plane's version: DEGRADED,
//     CREATE_FAILED and DELETE_FAILED fail, as does a version ahead of the
//     control plane; CREATING, UPDATING, DELETING and a version behind wait.
//
// A change that removes the cluster (Target.Gone) turns the first two rules
// around: the cluster not found passes, and so does DELETING (it is on its
// way out); any other status waits, and node groups are not asked.
//
// Every other error (AccessDenied from STS or EKS, throttling, a network
// failure) is a provider error, never a pass or a failure.
type EKS struct {
	*roleClients
	nodegroups bool
}

// roleClients makes the EKS clients of a gate that reads each cluster as
// its tenant's role: the role cfg.RoleARN renders to for the target,
// assumed through STS with the base configuration's credentials (cached
// per role), in the target's region.
type roleClients struct {
	gate       string // the gate's name, in errors
	role       rollout.Template
	externalID string
	session    string

	eksEndpoint string
	stsEndpoint string
	base        *aws.Config

	mu      sync.Mutex
	creds   map[string]*aws.CredentialsCache // by role ARN
	clients map[clientKey]*eks.Client
}

type clientKey struct{ role, region string }

// EKSOption configures a gate that reads EKS: the eks gate or the
// preflight gate.
type EKSOption func(*roleClients)

// WithEKSEndpoint sends EKS calls to url instead of the regional endpoint.
func WithEKSEndpoint(url string) EKSOption {
	return func(g *roleClients) { g.eksEndpoint = url }
}

// WithSTSEndpoint sends AssumeRole calls to url instead of the regional
// endpoint.
func WithSTSEndpoint(url string) EKSOption {
	return func(g *roleClients) { g.stsEndpoint = url }
}

// WithAWSConfig makes cfg the base configuration: the credentials that
// assume the per-tenant roles (credentials.NewStaticCredentialsProvider
// for fixed keys), the retryer and the HTTP client. Without it the gate
// loads the default configuration (environment, Pod Identity, IRSA) at its
// first check. The region always comes from the target.
func WithAWSConfig(cfg aws.Config) EKSOption {
	return func(g *roleClients) { g.base = &cfg }
}

// newRoleClients returns the clients of the gate name for cfg. It errs
// when cfg has no role.
func newRoleClients(name string, cfg rollout.EKSGate, opts []EKSOption) (*roleClients, error) {
	if cfg.RoleARN.String() == "" {
		return nil, fmt.Errorf("%s gate: no role ARN to assume", name)
	}
	rc := &roleClients{
		gate: name, role: cfg.RoleARN, externalID: cfg.ExternalID, session: RoleSessionName,
		creds: map[string]*aws.CredentialsCache{}, clients: map[clientKey]*eks.Client{},
	}
	for _, o := range opts {
		o(rc)
	}
	return rc, nil
}

// NewEKS returns the eks gate for cfg. It errs when cfg has no role.
func NewEKS(cfg rollout.EKSGate, opts ...EKSOption) (*EKS, error) {
	rc, err := newRoleClients(rollout.GateEKS, cfg, opts)
	if err != nil {
		return nil, err
	}
	return &EKS{roleClients: rc, nodegroups: cfg.Nodegroups}, nil
}

// Name returns rollout.GateEKS.
func (*EKS) Name() string { return rollout.GateEKS }

// client returns the EKS client for role in region, making the base
// configuration, the role's credentials and the client on first use.
func (g *roleClients) client(ctx context.Context, role, region string) (*eks.Client, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.clients[clientKey{role, region}]; ok {
		return c, nil
	}
	if g.base == nil {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("load the aws configuration: %w", err)
		}
		g.base = &cfg
	}
	creds, ok := g.creds[role]
	if !ok {
		st := sts.NewFromConfig(*g.base, func(o *sts.Options) {
			o.Region = region
			if g.stsEndpoint != "" {
				o.BaseEndpoint = aws.String(g.stsEndpoint)
			}
		})
		creds = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(st, role, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = g.session
			if g.externalID != "" {
				o.ExternalID = aws.String(g.externalID)
			}
		}))
		g.creds[role] = creds
	}
	c := eks.NewFromConfig(*g.base, func(o *eks.Options) {
		o.Region = region
		o.Credentials = creds
		if g.eksEndpoint != "" {
			o.BaseEndpoint = aws.String(g.eksEndpoint)
		}
	})
	g.clients[clientKey{role, region}] = c
	return c, nil
}

// connect returns the EKS client for t, as its tenant's role in its
// region, and where it looks, for details.
func (g *roleClients) connect(ctx context.Context, t Target) (*eks.Client, string, error) {
	role, err := g.role.Execute(t.Vars())
	if err != nil {
		return nil, "", fmt.Errorf("%s gate: role ARN %q for cluster %s: %w", g.gate, g.role.String(), t.Cluster, err)
	}
	if t.Region == "" {
		return nil, "", fmt.Errorf("%s gate: cluster %s has no region", g.gate, t.Cluster)
	}
	c, err := g.client(ctx, role, t.Region)
	if err != nil {
		return nil, "", fmt.Errorf("%s gate: %w", g.gate, err)
	}
	return c, fmt.Sprintf("in account %s, %s, as %s", t.Account, t.Region, role), nil
}

// describeCluster describes t's cluster and records it as evidence. When
// there is no verdict to form on it (EKS has no such cluster: failed, with
// no Err; a provider error), it returns that Result and false.
func (g *roleClients) describeCluster(ctx context.Context, c *eks.Client, t Target, where string) (*ekstypes.Cluster, Result, bool) {
	// https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeCluster.html
	out, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(t.Cluster)})
	if err != nil {
		var nf *ekstypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			// A cluster the change creates may not be there yet.
			outcome, detail, value := rollout.GateFailed, fmt.Sprintf("EKS has no cluster %s %s", t.Cluster, where), "not found: "
			if t.New {
				outcome, detail, value = rollout.GateWaiting, detail+" yet: Terraform has not created it", "not found yet: "
			}
			return nil, Result{
				Outcome: outcome,
				Detail:  detail,
				Evidence: []Evidence{{Check: "eks cluster " + t.Cluster, Value: value + aws.ToString(nf.Message),
					Source: fmt.Sprintf("arn:aws:eks:%s:%s:cluster/%s", t.Region, t.Account, t.Cluster)}},
			}, false
		}
		return nil, Result{Err: awsError(g.gate, fmt.Sprintf("describe cluster %s %s", t.Cluster, where), err)}, false
	}
	cl := out.Cluster
	if cl == nil {
		return nil, Result{Err: fmt.Errorf("%s gate: describe cluster %s %s: the answer has no cluster", g.gate, t.Cluster, where)}, false
	}
	return cl, Result{Evidence: []Evidence{{
		Check: "eks cluster " + t.Cluster, Revision: aws.ToString(cl.PlatformVersion),
		Value: fmt.Sprintf("version %s, status %s", orNone(aws.ToString(cl.Version)), orNone(string(cl.Status))), Source: aws.ToString(cl.Arn),
	}}}, true
}

// Check describes the cluster and its managed node groups.
func (g *EKS) Check(ctx context.Context, t Target) Result {
	c, where, err := g.connect(ctx, t)
	if err != nil {
		return Result{Err: err}
	}
	cl, res, ok := g.describeCluster(ctx, c, t, where)
	if t.Gone {
		return gone(t, cl, res, ok, where)
	}
	if !ok {
		return res
	}
	version, status := aws.ToString(cl.Version), string(cl.Status)
	cmp := 0
	if t.Version != "" {
		if cmp, err = compareMinor(version, t.Version); err != nil {
			return Result{Err: fmt.Errorf("eks gate: cluster %s: %w", t.Cluster, err), Evidence: res.Evidence}
		}
	}
	switch {
	case status == string(ekstypes.ClusterStatusFailed) || status == string(ekstypes.ClusterStatusDeleting):
		return res.with(rollout.GateFailed, "cluster %s is %s at %s", t.Cluster, status, version)
	case cmp > 0:
		return res.with(rollout.GateFailed, "cluster %s is at %s, ahead of the target %s", t.Cluster, version, t.Version)
	case cmp < 0:
		return res.with(rollout.GateWaiting, "cluster %s is %s at %s, behind the target %s: Terraform may still be applying", t.Cluster, status, version, t.Version)
	case status != string(ekstypes.ClusterStatusActive):
		return res.with(rollout.GateWaiting, "cluster %s is %s at %s", t.Cluster, orNone(status), version)
	}
	detail := fmt.Sprintf("cluster %s is ACTIVE at %s", t.Cluster, version)
	if !g.nodegroups {
		return res.with(rollout.GatePassed, "%s", detail)
	}

	ngs, ngErr := describeNodegroups(ctx, c, t.Cluster)
	if ngErr != nil {
		return Result{Err: awsError(g.gate, fmt.Sprintf("%s of cluster %s %s", ngErr.op, t.Cluster, where), ngErr.err), Evidence: res.Evidence}
	}
	var failed, waiting []string
	for _, ng := range ngs {
		name, ngVersion, ngStatus := aws.ToString(ng.NodegroupName), aws.ToString(ng.Version), string(ng.Status)
		ev, broken := nodegroupEvidence(ng)
		res.Evidence = append(res.Evidence, ev)
		ngCmp, err := compareMinor(ngVersion, version)
		if err != nil {
			return Result{Err: fmt.Errorf("eks gate: node group %s of %s: %w", name, t.Cluster, err), Evidence: res.Evidence}
		}
		if broken != "" {
			failed = append(failed, broken)
			continue
		}
		switch {
		case ngCmp > 0:
			failed = append(failed, fmt.Sprintf("node group %s is at %s, ahead of the control plane's %s", name, ngVersion, version))
		case ngCmp < 0:
			waiting = append(waiting, fmt.Sprintf("node group %s is %s at %s, behind the control plane's %s", name, ngStatus, ngVersion, version))
		case ng.Status != ekstypes.NodegroupStatusActive:
			waiting = append(waiting, fmt.Sprintf("node group %s is %s at %s", name, orNone(ngStatus), ngVersion))
		}
	}
	switch {
	case len(failed) > 0:
		return res.with(rollout.GateFailed, "%s", summarise(failed))
	case len(waiting) > 0:
		return res.with(rollout.GateWaiting, "%s", summarise(waiting))
	case len(ngs) == 0:
		return res.with(rollout.GatePassed, "%s; it has no managed node groups", detail)
	}
	return res.with(rollout.GatePassed, "%s, and its %d managed node group%s too", detail, len(ngs), plural(len(ngs)))
}

// gone judges a cluster the change removes, from what describeCluster
// returned: not found passes, DELETING passes, any other status waits.
func gone(t Target, cl *ekstypes.Cluster, res Result, ok bool, where string) Result {
	switch {
	case !ok && res.Err == nil:
		return res.with(rollout.GatePassed, "cluster %s is gone: EKS has no cluster of that name %s", t.Cluster, where)
	case !ok:
		return res
	}
	version, status := orNone(aws.ToString(cl.Version)), string(cl.Status)
	if cl.Status == ekstypes.ClusterStatusDeleting {
		return res.with(rollout.GatePassed, "cluster %s is DELETING at %s: on its way out", t.Cluster, version)
	}
	return res.with(rollout.GateWaiting, "cluster %s is still %s at %s: Terraform has not destroyed it yet", t.Cluster, orNone(status), version)
}

// nodegroupEvidence records a managed node group, and says why it is
// broken when it is DEGRADED, CREATE_FAILED or DELETE_FAILED ("" when it is
// not).
func nodegroupEvidence(ng *ekstypes.Nodegroup) (Evidence, string) {
	name, version, status := aws.ToString(ng.NodegroupName), aws.ToString(ng.Version), string(ng.Status)
	value := fmt.Sprintf("version %s, status %s", orNone(version), orNone(status))
	var issues []string
	if ng.Health != nil {
		for _, is := range ng.Health.Issues {
			issues = append(issues, fmt.Sprintf("%s: %s", is.Code, aws.ToString(is.Message)))
		}
	}
	if len(issues) > 0 {
		value += "; " + strings.Join(issues, "; ")
	}
	ev := Evidence{Check: "node group " + name, Revision: aws.ToString(ng.ReleaseVersion), Value: value, Source: aws.ToString(ng.NodegroupArn)}
	switch ng.Status {
	case ekstypes.NodegroupStatusDegraded, ekstypes.NodegroupStatusCreateFailed, ekstypes.NodegroupStatusDeleteFailed:
		reason := fmt.Sprintf("node group %s is %s", name, status)
		if len(issues) > 0 {
			reason += " (" + strings.Join(issues, "; ") + ")"
		}
		return ev, reason
	}
	return ev, ""
}

// describeNodegroups lists the cluster's managed node groups and describes
// each.
func describeNodegroups(ctx context.Context, c *eks.Client, cluster string) ([]*ekstypes.Nodegroup, *opError) {
	var names []string
	// https://docs.aws.amazon.com/eks/latest/APIReference/API_ListNodegroups.html
	p := eks.NewListNodegroupsPaginator(c, &eks.ListNodegroupsInput{ClusterName: aws.String(cluster)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, &opError{"list node groups", err}
		}
		names = append(names, page.Nodegroups...)
	}
	out := make([]*ekstypes.Nodegroup, 0, len(names))
	for _, n := range names {
		// https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeNodegroup.html
		d, err := c.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(n)})
		if err != nil {
			return nil, &opError{"describe node group " + n, err}
		}
		if d.Nodegroup == nil {
			return nil, &opError{"describe node group " + n, errors.New("the answer has no node group")}
		}
		out = append(out, d.Nodegroup)
	}
	return out, nil
}

// opError is an AWS call's error with the call it came from.
type opError struct {
	op  string
	err error
}

// AWSError is an error of an AWS API, translated: which call, which
// service answered (STS when assuming the role failed), its error code and
// message. Unwrap gives the SDK's error.
type AWSError struct {
	// Gate is the gate that called (rollout.GateEKS, GatePreflight).
	Gate    string
	Op      string
	Service string
	Code    string
	Message string
	Err     error
}

// Error names the call, the service's error code and its message.
func (e *AWSError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s gate: %s: %v", e.Gate, e.Op, e.Err)
	}
	if e.Service == "STS" {
		return fmt.Sprintf("%s gate: %s: assume the role: %s: %s", e.Gate, e.Op, e.Code, e.Message)
	}
	return fmt.Sprintf("%s gate: %s: %s %s: %s", e.Gate, e.Op, e.Service, e.Code, e.Message)
}

// Unwrap returns the SDK's error.
func (e *AWSError) Unwrap() error { return e.Err }

// awsError translates an SDK error: the innermost operation names the
// service that refused (STS inside an EKS call means AssumeRole failed).
func awsError(gate, op string, err error) error {
	e := &AWSError{Gate: gate, Op: op, Err: err}
	var api smithy.APIError
	if !errors.As(err, &api) {
		return e
	}
	e.Code, e.Message = api.ErrorCode(), api.ErrorMessage()
	// The innermost operation names the service that answered: a failed
	// AssumeRole inside an EKS call's credential fetch is STS's.
	for cur := err; cur != nil; cur = errors.Unwrap(cur) {
		if o, ok := cur.(*smithy.OperationError); ok { //nolint:errorlint // walks the chain itself
			e.Service = o.Service()
		}
	}
	return e
}

// with sets the outcome and detail.
func (r Result) with(o rollout.Outcome, format string, args ...any) Result {
	r.Outcome, r.Detail = o, fmt.Sprintf(format, args...)
	return r
}

// compareMinor compares two Kubernetes versions "major.minor" as numbers:
// -1 when a is older, 0 when equal, 1 when newer.
func compareMinor(a, b string) (int, error) {
	pa, err := parseMinor(a)
	if err != nil {
		return 0, err
	}
	pb, err := parseMinor(b)
	if err != nil {
		return 0, err
	}
	for i := range pa {
		if pa[i] != pb[i] {
			if pa[i] < pb[i] {
				return -1, nil
			}
			return 1, nil
		}
	}
	return 0, nil
}

func parseMinor(v string) ([2]int, error) {
	major, minor, ok := strings.Cut(v, ".")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if !ok || err1 != nil || err2 != nil || ma < 0 || mi < 0 {
		return [2]int{}, fmt.Errorf("version %q is not major.minor", v)
	}
	return [2]int{ma, mi}, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
