package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// Branch protection: the sandbox keeps required status checks and
// enforce_admins; required reviews and push restrictions are accepted and
// reported as not set. A {branch} of these routes is one path segment.
func (s *Server) protectionRoutes() {
	s.handle("GET /repos/{owner}/{repo}/branches/{branch}/protection", accessUser, s.getProtection)
	s.handle("PUT /repos/{owner}/{repo}/branches/{branch}/protection", accessUser, s.putProtection)
	s.handle("DELETE /repos/{owner}/{repo}/branches/{branch}/protection", accessUser, s.deleteProtection)
	s.handle("GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks", accessUser, s.getRequiredChecks)
}

// protection is a branch's protection rule.
type protection struct {
	EnforceAdmins bool            `json:"enforce_admins"`
	Checks        *requiredChecks `json:"checks,omitempty"` // nil: no status checks required
}

// requiredChecks are the status checks a branch requires before a merge.
type requiredChecks struct {
	Strict bool            `json:"strict"`
	Checks []requiredCheck `json:"checks"`
}

// requiredCheck is one required context; AppID, when set and not -1, is the
// App whose check run must report it.
type requiredCheck struct {
	Context string `json:"context"`
	AppID   *int64 `json:"app_id,omitempty"`
}

func (rc *requiredChecks) contexts() []string {
	out := make([]string, 0, len(rc.Checks))
	for _, c := range rc.Checks {
		out = append(out, c.Context)
	}
	return out
}

func (rc *requiredChecks) checksJSON() []obj {
	out := make([]obj, 0, len(rc.Checks))
	for _, c := range rc.Checks {
		var app any
		if c.AppID != nil {
			app = *c.AppID
		}
		out = append(out, obj{"context": c.Context, "app_id": app})
	}
	return out
}

// protectionURL is the API address of branch's protection.
func (s *Server) protectionURL(rs *repoState, branch string) string {
	return s.api("/repos/%s/branches/%s/protection", rs.fullName(), branch)
}

// statusCheckPolicyJSON is a status-check-policy.
func (s *Server) statusCheckPolicyJSON(rs *repoState, branch string, rc *requiredChecks) obj {
	u := s.protectionURL(rs, branch) + "/required_status_checks"
	return obj{"url": u, "strict": rc.Strict, "contexts": rc.contexts(), "checks": rc.checksJSON(), "contexts_url": u + "/contexts"}
}

// protectedBranchJSON is a protected-branch, the answer of GET and PUT
// .../protection.
func (s *Server) protectedBranchJSON(rs *repoState, branch string, p *protection) obj {
	u := s.protectionURL(rs, branch)
	off := obj{"enabled": false}
	o := obj{
		"url":                              u,
		"enforce_admins":                   obj{"url": u + "/enforce_admins", "enabled": p.EnforceAdmins},
		"required_linear_history":          off,
		"allow_force_pushes":               off,
		"allow_deletions":                  off,
		"block_creations":                  off,
		"required_conversation_resolution": off,
		"lock_branch":                      off,
		"allow_fork_syncing":               off,
		"required_signatures":              obj{"url": u + "/required_signatures", "enabled": false},
	}
	if p.Checks != nil {
		o["required_status_checks"] = s.statusCheckPolicyJSON(rs, branch, p.Checks)
	}
	return o
}

// branchProtectionJSON is the protection field of a branch-with-protection.
func branchProtectionJSON(p *protection) obj {
	rsc := obj{"enforcement_level": "off", "contexts": []string{}, "checks": []obj{}}
	if p != nil && p.Checks != nil {
		level := "non_admins"
		if p.EnforceAdmins {
			level = "everyone"
		}
		rsc = obj{"enforcement_level": level, "contexts": p.Checks.contexts(), "checks": p.Checks.checksJSON(), "strict": p.Checks.Strict}
	}
	return obj{"enabled": p != nil, "required_status_checks": rsc}
}

// protectedBranch returns the branch the route names and its protection,
// 404 "Branch not protected" when it has none.
func (c *call) protectedBranch() (string, *protection, error) {
	branch := c.r.PathValue("branch")
	if _, err := c.repo.ResolveRef(c.ctx, "refs/heads/"+branch); err != nil {
		return "", nil, errorf(http.StatusNotFound, "Branch not found")
	}
	p := c.rs.Protections[branch]
	if p == nil {
		return "", nil, errorf(http.StatusNotFound, "Branch not protected")
	}
	return branch, p, nil
}

// getProtection: GET .../branches/{branch}/protection (docs: branches/branch-protection#get-branch-protection).
func (s *Server) getProtection(c *call) (int, any, error) {
	branch, p, err := c.protectedBranch()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.protectedBranchJSON(c.rs, branch, p), nil
}

// getRequiredChecks: GET .../branches/{branch}/protection/required_status_checks
// (docs: branches/branch-protection#get-status-checks-protection).
func (s *Server) getRequiredChecks(c *call) (int, any, error) {
	branch, p, err := c.protectedBranch()
	if err != nil {
		return 0, nil, err
	}
	if p.Checks == nil {
		return 0, nil, errorf(http.StatusNotFound, "Required status checks not enabled")
	}
	return http.StatusOK, s.statusCheckPolicyJSON(c.rs, branch, p.Checks), nil
}

// putProtection: PUT .../branches/{branch}/protection (docs:
// branches/branch-protection#update-branch-protection). The four fields
// GitHub requires must be present (null disables one); required reviews and
// restrictions are not modelled and must be null.
func (s *Server) putProtection(c *call) (int, any, error) {
	branch := c.r.PathValue("branch")
	if _, err := c.repo.ResolveRef(c.ctx, "refs/heads/"+branch); err != nil {
		return 0, nil, errorf(http.StatusNotFound, "Branch not found")
	}
	var in struct {
		RequiredStatusChecks *struct {
			Strict   *bool           `json:"strict"`
			Contexts []string        `json:"contexts"`
			Checks   []requiredCheck `json:"checks"`
		} `json:"required_status_checks"`
		EnforceAdmins *bool `json:"enforce_admins"`
		Reviews       any   `json:"required_pull_request_reviews"`
		Restrictions  any   `json:"restrictions"`
	}
	var present map[string]any
	if err := c.decodeTwice(&in, &present); err != nil {
		return 0, nil, err
	}
	for _, k := range []string{"required_status_checks", "enforce_admins", "required_pull_request_reviews", "restrictions"} {
		if _, ok := present[k]; !ok {
			return 0, nil, invalid("ProtectedBranch", k, "missing_field", fmt.Sprintf("%s is required", k))
		}
	}
	if in.Reviews != nil || in.Restrictions != nil {
		return 0, nil, invalid("ProtectedBranch", "", "custom",
			"the sandbox models required status checks only: required_pull_request_reviews and restrictions must be null")
	}
	p := &protection{EnforceAdmins: in.EnforceAdmins != nil && *in.EnforceAdmins}
	if rsc := in.RequiredStatusChecks; rsc != nil {
		if rsc.Strict == nil {
			return 0, nil, invalid("ProtectedBranch", "required_status_checks.strict", "missing_field", "")
		}
		rc := &requiredChecks{Strict: *rsc.Strict, Checks: []requiredCheck{}}
		add := func(ch requiredCheck) {
			if ch.Context != "" && !slices.ContainsFunc(rc.Checks, func(o requiredCheck) bool { return o.Context == ch.Context }) {
				rc.Checks = append(rc.Checks, ch)
			}
		}
		// checks wins over contexts, as on GitHub, when both are given.
		if rsc.Checks != nil {
			for _, ch := range rsc.Checks {
				add(ch)
			}
		} else {
			for _, ctx := range rsc.Contexts {
				add(requiredCheck{Context: ctx})
			}
		}
		p.Checks = rc
	}
	if c.rs.Protections == nil {
		c.rs.Protections = map[string]*protection{}
	}
	c.rs.Protections[branch] = p
	return http.StatusOK, s.protectedBranchJSON(c.rs, branch, p), nil
}

// deleteProtection: DELETE .../branches/{branch}/protection (docs:
// branches/branch-protection#delete-branch-protection).
func (s *Server) deleteProtection(c *call) (int, any, error) {
	branch, _, err := c.protectedBranch()
	if err != nil {
		return 0, nil, err
	}
	delete(c.rs.Protections, branch)
	return http.StatusNoContent, nil, nil
}

// passedChecks maps each context that counts as passed on sha: the latest
// commit status of that context is success, or the latest check run of that
// name concluded success, neutral or skipped (GitHub counts those as passing
// a required check). fromApp holds the contexts a check run of the App set.
func (s *Server) passedChecks(rs *repoState, sha string) (passed, fromApp map[string]bool) {
	passed, fromApp = map[string]bool{}, map[string]bool{}
	seen := map[string]bool{}
	for _, st := range statusesAt(rs, sha) {
		if !seen[st.Context] {
			seen[st.Context] = true
			passed[st.Context] = st.State == "success"
		}
	}
	seenRun := map[string]bool{}
	for i := len(rs.CheckRuns) - 1; i >= 0; i-- {
		cr := rs.CheckRuns[i]
		if cr.HeadSHA != sha || seenRun[cr.Name] {
			continue
		}
		seenRun[cr.Name] = true
		if cr.Status == "completed" && slices.Contains([]string{"success", "neutral", "skipped"}, cr.Conclusion) {
			passed[cr.Name], fromApp[cr.Name] = true, true
		}
	}
	return passed, fromApp
}

// unmetChecks returns the contexts base's protection requires that have not
// passed on head, in the order the protection lists them.
func (s *Server) unmetChecks(rs *repoState, base, head string) []string {
	p := rs.Protections[base]
	if p == nil || p.Checks == nil {
		return nil
	}
	passed, fromApp := s.passedChecks(rs, head)
	var unmet []string
	for _, ch := range p.Checks.Checks {
		ok := passed[ch.Context]
		if ch.AppID != nil && *ch.AppID != -1 {
			ok = fromApp[ch.Context] && *ch.AppID == s.cfg.AppID
		}
		if !ok {
			unmet = append(unmet, ch.Context)
		}
	}
	return unmet
}

// requiredChecksError is GitHub's 405 for a merge whose required status
// checks have not all passed.
func requiredChecksError(unmet []string, required int) *apiError {
	if len(unmet) == 1 {
		return errorf(http.StatusMethodNotAllowed, "Required status check %q is expected.", unmet[0])
	}
	return errorf(http.StatusMethodNotAllowed, "%d of %d required status checks are expected.", len(unmet), required)
}

// decodeTwice reads the JSON body into v and into fields, for a request
// whose fields must be present even when null.
func (c *call) decodeTwice(v any, fields *map[string]any) error {
	if c.r.Body == nil {
		return nil
	}
	data, err := io.ReadAll(c.r.Body)
	if err != nil {
		return errorf(http.StatusBadRequest, "Problems parsing JSON")
	}
	if json.Unmarshal(data, v) != nil || json.Unmarshal(data, fields) != nil {
		return errorf(http.StatusBadRequest, "Problems parsing JSON")
	}
	return nil
}
