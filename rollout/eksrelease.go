package rollout

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// EKSRelease is a Kubernetes minor version on Amazon EKS and when its
// support ends: standard support 14 months after EKS released it, extended
// support (charged per cluster hour) 12 months after that.
type EKSRelease struct {
	Version              string
	EndOfStandardSupport time.Time
	EndOfExtendedSupport time.Time
}

// EKSReleases is the EKS release calendar fleetbot ships, oldest first, as
// AWS publishes it on "Understand the Kubernetes version lifecycle on EKS"
// (the Amazon EKS user guide). To update it, add a row for each version EKS
// releases, with the two end dates that page gives (docs/planner.md).
var EKSReleases = []EKSRelease{
	{"1.28", day(2024, 11, 26), day(2025, 11, 26)},
	{"1.29", day(2025, 3, 23), day(2026, 3, 23)},
	{"1.30", day(2025, 7, 23), day(2026, 7, 23)},
	{"1.31", day(2025, 11, 26), day(2026, 11, 26)},
	{"1.32", day(2026, 3, 23), day(2027, 3, 23)},
	{"1.33", day(2026, 7, 29), day(2027, 7, 29)},
	{"1.34", day(2026, 12, 2), day(2027, 12, 2)},
	{"1.35", day(2027, 3, 27), day(2028, 3, 27)},
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// SupportWarning is a version some clusters of a plan run that is past
// its standard support at the plan's time.
type SupportWarning struct {
	Version  string
	Release  EKSRelease // zero when the calendar does not know the version
	Clusters []string   // in the plan's order
	// ExtendedOver says extended support ended too: EKS upgrades such a
	// cluster itself.
	ExtendedOver bool
}

// String says which clusters run the version and since when it is past
// standard support, naming a few of them.
func (w SupportWarning) String() string {
	names := w.Clusters
	more := ""
	if len(names) > 5 {
		names, more = names[:5], fmt.Sprintf(" and %d more", len(w.Clusters)-5)
	}
	which := fmt.Sprintf("%d cluster(s) run EKS %s (%s%s)", len(w.Clusters), w.Version, strings.Join(names, ", "), more)
	if w.Release.Version == "" {
		return which + ", a version older than fleetbot's EKS release calendar knows: past standard and extended support"
	}
	if w.ExtendedOver {
		return fmt.Sprintf("%s, whose standard support ended on %s and extended support on %s: EKS upgrades such clusters itself",
			which, w.Release.EndOfStandardSupport.Format(time.DateOnly), w.Release.EndOfExtendedSupport.Format(time.DateOnly))
	}
	return fmt.Sprintf("%s, whose standard support ended on %s; extended support (charged per cluster hour) ends on %s",
		which, w.Release.EndOfStandardSupport.Format(time.DateOnly), w.Release.EndOfExtendedSupport.Format(time.DateOnly))
}

// SupportWarnings returns, for an EKS version campaign, the versions the
// plan's clusters start from that are past standard support at now by
// releases, oldest first; versions newer than the calendar's are not
// judged. Other changes return none.
func SupportWarnings(p *Plan, releases []EKSRelease, now time.Time) []SupportWarning {
	if p.Change.Kind != KindEKSVersion || len(releases) == 0 {
		return nil
	}
	oldest, _ := parseMinor(releases[0].Version)
	byVersion := map[string]*SupportWarning{}
	seen := map[string]bool{}
	for _, w := range p.Waves {
		for _, c := range w.Clusters {
			if seen[c.Name] { // a later hop of the same cluster
				continue
			}
			seen[c.Name] = true
			i := slices.IndexFunc(releases, func(r EKSRelease) bool { return r.Version == c.From })
			var r EKSRelease
			switch {
			case i >= 0 && !now.Before(releases[i].EndOfStandardSupport):
				r = releases[i]
			case i >= 0:
				continue
			default:
				if m, ok := parseMinor(c.From); !ok || m >= oldest {
					continue // unknown to the calendar, or newer than it
				}
			}
			sw, ok := byVersion[c.From]
			if !ok {
				sw = &SupportWarning{Version: c.From, Release: r, ExtendedOver: r.Version != "" && !now.Before(r.EndOfExtendedSupport)}
				byVersion[c.From] = sw
			}
			sw.Clusters = append(sw.Clusters, c.Name)
		}
	}
	out := make([]SupportWarning, 0, len(byVersion))
	for _, sw := range byVersion {
		out = append(out, *sw)
	}
	slices.SortFunc(out, func(a, b SupportWarning) int {
		ma, _ := parseMinor(a.Version)
		mb, _ := parseMinor(b.Version)
		return ma - mb
	})
	return out
}
