package wave

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fleetbot/fleetbot/rollout"
)

// branchPrefix is the namespace of the branches fleetbot owns.
const branchPrefix = "fleetbot/"

// AdminTenant stands for the fleet admins in a branch name, for pull requests
// that change files all tenants share: the machine's tenant of such a pull
// request. The leading underscore keeps it apart from tenant names.
const AdminTenant = rollout.SharedTenant

// Branch is the branch of a wave's pull request for one tenant:
// "fleetbot/<campaign>/<wave>/<tenant>".
func Branch(campaign string, wave int, tenant string) string {
	return branchPrefix + campaign + "/" + strconv.Itoa(wave) + "/" + tenant
}

// ParseBranch reads a branch made by Branch, with or without "refs/heads/";
// ok is false for any other branch.
func ParseBranch(ref string) (campaign string, wave int, tenant string, ok bool) {
	return parseBranch(ref, "")
}

// parseBranch reads "fleetbot/<campaign>/<prefix><n>/<tenant>", with or
// without "refs/heads/".
func parseBranch(ref, prefix string) (campaign string, wave int, tenant string, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimPrefix(ref, "refs/heads/"), branchPrefix)
	if !found {
		return "", 0, "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || validComponent(parts[0]) != nil || validComponent(parts[2]) != nil {
		return "", 0, "", false
	}
	num, found := strings.CutPrefix(parts[1], prefix)
	n, err := strconv.Atoi(num)
	if !found || err != nil || n < 1 || strconv.Itoa(n) != num {
		return "", 0, "", false
	}
	return parts[0], n, parts[2], true
}

// validComponent checks that s can be one component of a branch name and
// holds no slash, so that ParseBranch reads back what Branch wrote (the rules
// of git check-ref-format, plus no slash).
func validComponent(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty")
	case strings.HasPrefix(s, ".") || strings.HasPrefix(s, "-") || strings.HasSuffix(s, ".lock") || strings.HasSuffix(s, "."):
		return fmt.Errorf("%q cannot start with '.' or '-' or end with '.' or \".lock\"", s)
	case strings.Contains(s, "..") || strings.Contains(s, "@{"):
		return fmt.Errorf("%q cannot hold \"..\" or \"@{\"", s)
	}
	for _, c := range s {
		if c <= ' ' || c == 0x7f || strings.ContainsRune("/~^:?*[\\", c) {
			return fmt.Errorf("%q cannot hold %q", s, c)
		}
	}
	return nil
}

// BranchOf is the branch of a planned pull request of a wave: its tenant's
// branch, or the fleet admins' for a pull request of shared files.
func BranchOf(campaign string, wave int, pr rollout.PullRequest) string {
	return Branch(campaign, wave, tenantSegment(pr))
}
