package rollout

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEKSReleasesInOrder: the calendar lists each version once, oldest
// first, each extended support ending a year after its standard support.
func TestEKSReleasesInOrder(t *testing.T) {
	t.Parallel()
	prev := 27
	for _, r := range EKSReleases {
		m, ok := parseMinor(r.Version)
		require.True(t, ok, r.Version)
		assert.Equal(t, prev+1, m, "%s follows 1.%d", r.Version, prev)
		prev = m
		assert.Equal(t, r.EndOfStandardSupport.AddDate(1, 0, 0), r.EndOfExtendedSupport, r.Version)
	}
}

func TestSupportWarnings(t *testing.T) {
	t.Parallel()
	releases := []EKSRelease{
		{"1.29", day(2025, 3, 23), day(2026, 3, 23)},
		{"1.30", day(2025, 7, 23), day(2026, 7, 23)},
		{"1.31", day(2025, 11, 26), day(2026, 11, 26)},
	}
	eks := func(clusters ...WaveCluster) *Plan {
		return &Plan{Change: PlanChange{Kind: KindEKSVersion}, Waves: []Wave{{Index: 1, Clusters: clusters}}}
	}
	c := func(name, from string) WaveCluster { return WaveCluster{Name: name, From: from} }
	tests := []struct {
		name string
		plan *Plan
		now  time.Time
		want []string
	}{
		{"before the end of standard support: nothing", eks(c("a", "1.30")), day(2025, 7, 22), nil},
		{"on the day it ends", eks(c("a", "1.30")), day(2025, 7, 23),
			[]string{"1 cluster(s) run EKS 1.30 (a), whose standard support ended on 2025-07-23; extended support (charged per cluster hour) ends on 2026-07-23"}},
		{"grouped by version, oldest first",
			eks(c("b", "1.30"), c("a", "1.29"), c("c", "1.29"), c("d", "1.31")), day(2025, 8, 1),
			[]string{
				"2 cluster(s) run EKS 1.29 (a, c), whose standard support ended on 2025-03-23; extended support (charged per cluster hour) ends on 2026-03-23",
				"1 cluster(s) run EKS 1.30 (b), whose standard support ended on 2025-07-23; extended support (charged per cluster hour) ends on 2026-07-23",
			}},
		{"older than the calendar", eks(c("a", "1.27")), day(2025, 1, 1),
			[]string{"1 cluster(s) run EKS 1.27 (a), a version older than fleetbot's EKS release calendar knows: past standard and extended support"}},
		{"newer than the calendar: not judged", eks(c("a", "1.36")), day(2030, 1, 1), nil},
		{"extended support over too", eks(c("a", "1.29")), day(2026, 3, 23),
			[]string{"1 cluster(s) run EKS 1.29 (a), whose standard support ended on 2025-03-23 and extended support on 2026-03-23: EKS upgrades such clusters itself"}},
		{"a cluster's later hop counted once", &Plan{Change: PlanChange{Kind: KindEKSVersion}, Waves: []Wave{
			{Index: 1, Clusters: []WaveCluster{c("a", "1.29")}}, {Index: 2, Clusters: []WaveCluster{c("a", "1.30")}}}}, day(2026, 1, 1),
			[]string{"1 cluster(s) run EKS 1.29 (a), whose standard support ended on 2025-03-23; extended support (charged per cluster hour) ends on 2026-03-23"}},
		{"more than five named", eks(c("a", "1.29"), c("b", "1.29"), c("c", "1.29"), c("d", "1.29"), c("e", "1.29"), c("f", "1.29"), c("g", "1.29")), day(2026, 1, 1),
			[]string{"7 cluster(s) run EKS 1.29 (a, b, c, d, e and 2 more), whose standard support ended on 2025-03-23; extended support (charged per cluster hour) ends on 2026-03-23"}},
		{"not an EKS campaign", &Plan{Change: PlanChange{Kind: KindLabel}, Waves: []Wave{{Clusters: []WaveCluster{c("a", "1.29")}}}}, day(2026, 1, 1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, w := range SupportWarnings(tt.plan, releases, tt.now) {
				got = append(got, w.String())
			}
			assert.Equal(t, tt.want, got)
		})
	}
}
