package rollout

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestApprove(t *testing.T) {
	t.Parallel()
	owners := map[string]bool{"alice": true, "arjun": true}
	owner := func(u string) bool { return owners[u] }
	sameAs := map[string]bool{"h1": true} // h1's tenant files equal h2's
	same := func(c string) bool { return sameAs[c] }
	tests := []struct {
		name    string
		reviews []Review
		head    string
		want    Approval
	}{
		{"nobody reviewed", nil, "h2", Approval{Why: "no approval by an owner of the tenant", Reviews: []ReviewVerdict{}}},
		{"an owner approved the head", []Review{{"alice", "APPROVED", "h2"}}, "h2", Approval{Approved: true, By: "alice", Why: "approved by @alice",
			Reviews: []ReviewVerdict{{User: "alice", State: "APPROVED", Commit: "h2", Counted: true}}}},
		{"webhook case", []Review{{"alice", "approved", "h2"}}, "h2", Approval{Approved: true, By: "alice", Why: "approved by @alice",
			Reviews: []ReviewVerdict{{User: "alice", State: "APPROVED", Commit: "h2", Counted: true}}}},
		{"a stranger's approval does not count", []Review{{"eve", "APPROVED", "h2"}}, "h2", Approval{Why: "no approval by an owner of the tenant (@eve approved, not an owner)",
			Reviews: []ReviewVerdict{{User: "eve", State: "APPROVED", Commit: "h2", Note: "not an owner of the tenant"}}}},
		{"the author's does not count", []Review{{"fleetbot[bot]", "APPROVED", "h2"}}, "h2", Approval{Why: "no approval by an owner of the tenant (@fleetbot[bot] approved, not an owner)",
			Reviews: []ReviewVerdict{{User: "fleetbot[bot]", State: "APPROVED", Commit: "h2", Note: "the pull request's author"}}}},
		{"kept across a regeneration that changed no tenant file", []Review{{"alice", "APPROVED", "h1"}}, "h2", Approval{Approved: true, By: "alice", Why: "approved by @alice",
			Reviews: []ReviewVerdict{{User: "alice", State: "APPROVED", Commit: "h1", Counted: true}}}},
		{"lost across one that did", []Review{{"alice", "APPROVED", "h0"}}, "h2", Approval{Why: "the approval by @alice was of files that changed since",
			Reviews: []ReviewVerdict{{User: "alice", State: "APPROVED", Commit: "h0", Note: "of files that changed since"}}}},
		{"dismissed", []Review{{"alice", "APPROVED", "h2"}, {"alice", "DISMISSED", "h2"}}, "h2", Approval{Why: "no approval by an owner of the tenant",
			Reviews: []ReviewVerdict{{User: "alice", State: "DISMISSED", Commit: "h2", Note: "dismissed"}}}},
		{"a comment changes nothing", []Review{{"alice", "APPROVED", "h2"}, {"alice", "COMMENTED", "h2"}}, "h2", Approval{Approved: true, By: "alice", Why: "approved by @alice",
			Reviews: []ReviewVerdict{{User: "alice", State: "APPROVED", Commit: "h2", Counted: true}}}},
		{"an owner's request for changes holds it back", []Review{{"alice", "APPROVED", "h2"}, {"arjun", "CHANGES_REQUESTED", "h2"}}, "h2", Approval{Why: "changes requested by @arjun",
			Reviews: []ReviewVerdict{
				{User: "alice", State: "APPROVED", Commit: "h2", Note: "held back by the request for changes of @arjun"},
				{User: "arjun", State: "CHANGES_REQUESTED", Commit: "h2", Counted: true},
			}}},
		{"a request for changes then an approval", []Review{{"arjun", "CHANGES_REQUESTED", "h1"}, {"arjun", "APPROVED", "h2"}}, "h2", Approval{Approved: true, By: "arjun", Why: "approved by @arjun",
			Reviews: []ReviewVerdict{{User: "arjun", State: "APPROVED", Commit: "h2", Counted: true}}}},
		{"a stranger's request for changes is noted by GitHub, not by the rule", []Review{{"eve", "CHANGES_REQUESTED", "h2"}, {"alice", "APPROVED", "h2"}}, "h2", Approval{Approved: true, By: "alice", Why: "approved by @alice",
			Reviews: []ReviewVerdict{
				{User: "eve", State: "CHANGES_REQUESTED", Commit: "h2", Note: "not an owner of the tenant"},
				{User: "alice", State: "APPROVED", Commit: "h2", Counted: true},
			}}},
	}
	for _, tc := range tests {
		got := ApprovalOf(tc.reviews, "fleetbot[bot]", tc.head, owner, same)
		assert.Equal(t, tc.want, got, tc.name)
	}
}

func TestMergeReady(t *testing.T) {
	t.Parallel()
	ok := Approval{Approved: true, By: "alice", Why: "approved by @alice"}
	tests := []struct {
		name     string
		a        Approval
		required []string
		checks   map[string]string
		want     bool
		why      string
	}{
		{"not approved", Approval{Why: "no approval by an owner of the tenant"}, nil, nil, false, "no approval by an owner of the tenant"},
		{"approved, nothing required", ok, nil, nil, true, "approved by @alice; every required check passed"},
		{"the approval check passes with the approval", ok, []string{"fleetbot/approval"}, nil, true, "approved by @alice; every required check passed"},
		{"a required check pending", ok, []string{"fleetbot/approval", "ci/lint"}, map[string]string{"ci/lint": "pending"}, false, "waiting for required checks: ci/lint"},
		{"a required check missing", ok, []string{"ci/lint"}, nil, false, "waiting for required checks: ci/lint"},
		{"a required check failed", ok, []string{"ci/lint", "ci/test"}, map[string]string{"ci/lint": "failure", "ci/test": "success"}, false, "required checks failed: ci/lint"},
		{"all passed", ok, []string{"ci/lint", "ci/test"}, map[string]string{"ci/lint": "success", "ci/test": "success"}, true, "approved by @alice; every required check passed"},
	}
	for _, tc := range tests {
		got, why := MergeReady(tc.a, "fleetbot/approval", tc.required, tc.checks)
		assert.Equal(t, tc.want, got, tc.name)
		assert.Equal(t, tc.why, why, tc.name)
	}
}
