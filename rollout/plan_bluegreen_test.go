package rollout

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// blueGreenFleet is newTestFleet with every prod cluster replaceable
// blue-green: a traffic_weight of 100 in its entry, its green named
// NAME-g1; a-prod-cpu-1 has a label file of its own, a-prod-gpu-1 an
// add-on values file of its own.
func blueGreenFleet() Fleet {
	b := newTestFleet()
	b.setLabel(clusterFile("tenant-a", "prod", "a-prod-cpu-1"), "team", "payments")
	f := b.build()
	for i := range f.Clusters {
		c := &f.Clusters[i]
		if c.Env != "prod" {
			continue
		}
		entry := c.VersionAt
		entry.Path = entry.Path[:len(entry.Path)-1]
		entry.Line = c.VersionAt.Line - 1
		traffic := c.VersionAt
		traffic.Path = append(slices.Clone(entry.Path), "traffic_weight")
		traffic.Line = c.VersionAt.Line + 1
		c.BlueGreen = &Replacement{
			Green: c.Name + "-g1", Entry: entry, Traffic: "100", TrafficAt: traffic,
			GreenLabels: clusterFile(c.Tenant, c.Env, c.Name+"-g1"),
		}
		if own := c.LabelChain[len(c.LabelChain)-1]; own.Exists {
			c.BlueGreen.BlueLabels = own.File
		}
		if c.Name == "a-prod-gpu-1" {
			c.BlueGreen.Values = []OwnFile{{Hierarchy: "addons", Blue: valuesFile(c.Name), Green: valuesFile(c.Name + "-g1")}}
		}
	}
	return f
}

// valuesFile is a cluster's own add-on values file in blueGreenFleet.
func valuesFile(cluster string) string { return "addons/tenant-a/clusters/" + cluster + "/values.yaml" }

func blueGreenCampaign(traffic ...int) *Campaign {
	c := testCampaign(eksTo("1.30"))
	c.Spec.Strategy.Method = map[string]string{"prod": MethodBlueGreen}
	c.Spec.Strategy.Traffic = traffic
	return c
}

func TestPlanBlueGreenWaves(t *testing.T) {
	t.Parallel()
	f := blueGreenFleet()
	p := mustPlan(t, blueGreenCampaign(50, 100), f)
	want := []string{
		"1:dev(canary) a-dev-cpu-1,a-dev-gpu-1",
		"1:dev a-dev-cpu-2,b-dev-cpu-1,c-dev-cpu-1",
		"1:dev b-dev-gpu-1,c-dev-gpu-1",
		"1:staging(canary) a-staging-cpu-1,a-staging-gpu-1",
		"1:staging a-staging-cpu-2,b-staging-cpu-1,c-staging-cpu-1",
		"1:staging b-staging-gpu-1,c-staging-gpu-1",
		"1:prod(canary) green a-prod-cpu-1,a-prod-gpu-1",
		"1:prod(canary) traffic 50% a-prod-cpu-1,a-prod-gpu-1",
		"1:prod(canary) traffic 100% a-prod-cpu-1,a-prod-gpu-1",
		"1:prod(canary) retire a-prod-cpu-1,a-prod-gpu-1",
		"1:prod green a-prod-cpu-2,b-prod-cpu-1,c-prod-cpu-1",
		"1:prod traffic 50% a-prod-cpu-2,b-prod-cpu-1,c-prod-cpu-1",
		"1:prod traffic 100% a-prod-cpu-2,b-prod-cpu-1,c-prod-cpu-1",
		"1:prod retire a-prod-cpu-2,b-prod-cpu-1,c-prod-cpu-1",
		"1:prod green b-prod-gpu-1,c-prod-gpu-1",
		"1:prod traffic 50% b-prod-gpu-1,c-prod-gpu-1",
		"1:prod traffic 100% b-prod-gpu-1,c-prod-gpu-1",
		"1:prod retire b-prod-gpu-1,c-prod-gpu-1",
	}
	if got := waveNames(p); !slices.Equal(got, want) {
		t.Fatalf("waves:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range p.Waves {
		if w.Approval != (w.Index == 7) {
			t.Errorf("wave %d (%s %s): approval %v; only prod's first step needs one", w.Index, w.Env, w.Step, w.Approval)
		}
		for _, c := range w.Clusters {
			if wantGreen := c.Name + "-g1"; (w.Step != "") != (c.Green == wantGreen) || c.From != "1.29" || c.To != "1.30" {
				t.Errorf("wave %d: %+v; want green %s in blue-green steps only, from 1.29 to 1.30", w.Index, c, wantGreen)
			}
		}
	}
	if !slices.Equal(p.Change.Hops, []string{"1.30"}) {
		t.Errorf("hops %v, want [1.30]", p.Change.Hops)
	}
}

func TestPlanBlueGreenEdits(t *testing.T) {
	t.Parallel()
	f := blueGreenFleet()
	p := mustPlan(t, blueGreenCampaign(50, 100), f)
	entry := func(name string, rest ...string) []string {
		return append([]string{"services", "eks", "config", name}, rest...)
	}
	blue := func(name string) *Cluster {
		i := slices.IndexFunc(f.Clusters, func(c Cluster) bool { return c.Name == name })
		return &f.Clusters[i]
	}
	cpu, gpu := blue("a-prod-cpu-1"), blue("a-prod-gpu-1")
	bp := blueprintFile("tenant-a", "prod")
	own := clusterFile("tenant-a", "prod", "a-prod-cpu-1")
	green := clusterFile("tenant-a", "prod", "a-prod-cpu-1-g1")
	for _, tc := range []struct {
		wave  int
		files []FileChange
	}{
		{7, []FileChange{
			{Path: valuesFile("a-prod-gpu-1-g1"), Create: true, CopyOf: valuesFile("a-prod-gpu-1"), Edits: []Edit{{Op: OpCreate}}},
			{Path: green, Create: true, CopyOf: own, Edits: []Edit{{Op: OpCreate}}},
			{Path: bp, Edits: []Edit{
				{Path: entry("a-prod-cpu-1-g1"), Op: OpCopy, From: "a-prod-cpu-1", Line: cpu.BlueGreen.Entry.Line},
				{Path: entry("a-prod-cpu-1-g1", "traffic_weight"), Op: OpSet, From: "100", To: "0"},
				{Path: entry("a-prod-cpu-1-g1", "version"), Op: OpSet, From: "1.29", To: "1.30", Quote: true},
				{Path: entry("a-prod-gpu-1-g1"), Op: OpCopy, From: "a-prod-gpu-1", Line: gpu.BlueGreen.Entry.Line},
				{Path: entry("a-prod-gpu-1-g1", "traffic_weight"), Op: OpSet, From: "100", To: "0"},
				{Path: entry("a-prod-gpu-1-g1", "version"), Op: OpSet, From: "1.29", To: "1.30", Quote: true},
			}},
		}},
		{8, []FileChange{{Path: bp, Edits: []Edit{
			{Path: entry("a-prod-cpu-1", "traffic_weight"), Op: OpSet, From: "100", To: "50", Line: cpu.BlueGreen.TrafficAt.Line},
			{Path: entry("a-prod-cpu-1-g1", "traffic_weight"), Op: OpSet, From: "0", To: "50"},
			{Path: entry("a-prod-gpu-1", "traffic_weight"), Op: OpSet, From: "100", To: "50", Line: gpu.BlueGreen.TrafficAt.Line},
			{Path: entry("a-prod-gpu-1-g1", "traffic_weight"), Op: OpSet, From: "0", To: "50"},
		}}}},
		{9, []FileChange{{Path: bp, Edits: []Edit{
			{Path: entry("a-prod-cpu-1", "traffic_weight"), Op: OpSet, From: "50", To: "0", Line: cpu.BlueGreen.TrafficAt.Line},
			{Path: entry("a-prod-cpu-1-g1", "traffic_weight"), Op: OpSet, From: "50", To: "100"},
			{Path: entry("a-prod-gpu-1", "traffic_weight"), Op: OpSet, From: "50", To: "0", Line: gpu.BlueGreen.TrafficAt.Line},
			{Path: entry("a-prod-gpu-1-g1", "traffic_weight"), Op: OpSet, From: "50", To: "100"},
		}}}},
		{10, []FileChange{
			{Path: valuesFile("a-prod-gpu-1"), Delete: true, Edits: []Edit{{Op: OpRemove}}},
			{Path: own, Delete: true, Edits: []Edit{{Op: OpRemove}}},
			{Path: bp, Edits: []Edit{
				{Path: entry("a-prod-cpu-1"), Op: OpRemove, From: "a-prod-cpu-1", Line: cpu.BlueGreen.Entry.Line},
				{Path: entry("a-prod-gpu-1"), Op: OpRemove, From: "a-prod-gpu-1", Line: gpu.BlueGreen.Entry.Line},
			}},
		}},
	} {
		prs := p.Waves[tc.wave-1].PullRequests
		if len(prs) != 1 || prs[0].Tenant != "tenant-a" {
			t.Fatalf("wave %d: want tenant-a's pull request alone: %+v", tc.wave, prs)
		}
		got := prs[0].Files
		if len(got) != len(tc.files) {
			t.Fatalf("wave %d: files %+v, want %+v", tc.wave, got, tc.files)
		}
		for i := range got {
			if !equalFile(got[i], tc.files[i]) || got[i].CopyOf != tc.files[i].CopyOf || got[i].Delete != tc.files[i].Delete {
				t.Errorf("wave %d file %d:\n got %+v\nwant %+v", tc.wave, i, got[i], tc.files[i])
			}
		}
		// Each edit moves one cluster: a held-back or skipped one stays out.
		for _, fc := range prs[0].For([]string{"a-prod-gpu-1"}).Files {
			for _, e := range fc.Edits {
				if e.Cluster != "a-prod-gpu-1" {
					t.Errorf("wave %d: %s edit %+v is in a-prod-gpu-1's pull request", tc.wave, fc.Path, e)
				}
			}
		}
	}
}

func TestPlanBlueGreenTrafficShares(t *testing.T) {
	t.Parallel()
	f := blueGreenFleet()
	for i := range f.Clusters {
		if r := f.Clusters[i].BlueGreen; r != nil {
			r.Traffic = "255" // a Route 53 weight
		}
	}
	p := mustPlan(t, blueGreenCampaign(10, 50, 100), f)
	var got []string
	for _, w := range p.Waves[7:10] { // a canary's three traffic steps
		e := w.PullRequests[0].Files[0].Edits
		got = append(got, fmt.Sprintf("blue %s->%s green %s->%s", e[0].From, e[0].To, e[1].From, e[1].To))
	}
	want := []string{"blue 255->229 green 0->26", "blue 229->127 green 26->128", "blue 127->0 green 128->255"}
	if !slices.Equal(got, want) {
		t.Errorf("traffic steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPlanBlueGreenSkipsHops(t *testing.T) {
	t.Parallel()
	f := blueGreenFleet()
	for i := range f.Clusters {
		if c := &f.Clusters[i]; c.Name == "a-prod-cpu-1" {
			c.Version = "1.28"
		}
	}
	p := mustPlan(t, blueGreenCampaign(), f)
	if !slices.Equal(p.Change.Hops, []string{"1.30"}) {
		t.Errorf("hops %v: a green cluster starts at the target, so 1.28 in prod asks for no hop", p.Change.Hops)
	}
	w := p.Waves[6]
	if w.Step != StepGreen || w.Clusters[0].Name != "a-prod-cpu-1" || w.Clusters[0].From != "1.28" || w.Clusters[0].To != "1.30" {
		t.Errorf("wave 7: %+v, want a-prod-cpu-1's green from 1.28 to 1.30", w)
	}
	edit := w.PullRequests[0].Files[2].Edits[2] // after the values and label files copied
	if edit.From != "1.28" || edit.To != "1.30" {
		t.Errorf("green version edit %+v, want 1.28 -> 1.30", edit)
	}
	if n := len(p.Waves); n != 6+3*3 {
		t.Errorf("%d waves, want 6 in place and 3 steps for each of 3 prod waves (traffic [100])", n)
	}
}

func TestPlanBlueGreenRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		breaks func(*Cluster)
		want   string
	}{
		{"no layout", func(c *Cluster) { c.BlueGreen = nil },
			"a-prod-cpu-1: the layout does not say how a green cluster is written (blueprints.blueGreen)"},
		{"green name taken", func(c *Cluster) { c.BlueGreen.Green = "b-prod-cpu-1" },
			"a-prod-cpu-1: its green cluster's name b-prod-cpu-1 is taken by a cluster of the fleet"},
		{"no traffic", func(c *Cluster) { c.BlueGreen.TrafficAt = Location{} },
			"a-prod-cpu-1: its entry at blueprints/tenant-a/prod.yaml:15 in org/fleet has no traffic scalar, through which blue-green shifts traffic"},
		{"traffic not a number", func(c *Cluster) { c.BlueGreen.Traffic = "half" },
			`a-prod-cpu-1: its traffic "half" at blueprints/tenant-a/prod.yaml:17 in org/fleet is not a whole number`},
		{"version elsewhere", func(c *Cluster) { c.VersionAt.File = "versions.yaml" },
			"a-prod-cpu-1: its version at versions.yaml:16 in org/fleet is not inside its entry at blueprints/tenant-a/prod.yaml:15 in org/fleet, which the green cluster copies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := blueGreenFleet()
			i := slices.IndexFunc(f.Clusters, func(c Cluster) bool { return c.Name == "a-prod-cpu-1" })
			tc.breaks(&f.Clusters[i])
			_, err := PlanCampaign(blueGreenCampaign(), f)
			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("err %v, want a refusal", err)
			}
			if refused.Rule != RuleBlueGreen || !slices.Equal(refused.Clusters, []string{"a-prod-cpu-1"}) || !strings.HasSuffix(refused.Message, tc.want) {
				t.Errorf("refusal %s %v %q, want rule %s for a-prod-cpu-1 ending %q", refused.Rule, refused.Clusters, refused.Message, RuleBlueGreen, tc.want)
			}
		})
	}
}

func TestInverseBlueGreenSteps(t *testing.T) {
	t.Parallel()
	p := mustPlan(t, blueGreenCampaign(50, 100), blueGreenFleet())
	files := func(wave int) []FileChange { return p.Waves[wave-1].PullRequests[0].Files }
	entry := func(name string, rest ...string) []string {
		return append([]string{"services", "eks", "config", name}, rest...)
	}

	// The green step: the values and label files copied are deleted, the
	// entry removed with the values set in it.
	green := files(7)
	for _, fc := range green[:2] {
		back, err := Inverse(fc)
		if err != nil || !back.Delete || back.Content != "" || back.Path != fc.Path {
			t.Errorf("inverse of the green cluster's file %s: %+v, %v; want it deleted", fc.Path, back, err)
		}
	}
	back, err := Inverse(green[2])
	want := FileChange{Path: green[2].Path, Edits: []Edit{
		{Path: entry("a-prod-gpu-1-g1"), Op: OpRemove, From: "a-prod-gpu-1-g1"},
		{Path: entry("a-prod-cpu-1-g1"), Op: OpRemove, From: "a-prod-cpu-1-g1"},
	}}
	if err != nil || !equalFile(back, want) {
		t.Errorf("inverse of the green entries:\n got %+v, %v\nwant %+v", back, err, want)
	}

	// A traffic step: the shares go back.
	back, err = Inverse(files(8)[0])
	if err != nil || len(back.Edits) != 4 || back.Edits[0].From != "50" || back.Edits[0].To != "0" || back.Edits[3].To != "100" {
		t.Errorf("inverse of the traffic step: %+v, %v", back, err)
	}

	// The retire step cannot be written back.
	for _, fc := range files(10) {
		if _, err := Inverse(fc); err == nil || !strings.Contains(err.Error(), "cannot be written back") {
			t.Errorf("inverse of %s in the retire step: %v, want a refusal", fc.Path, err)
		}
	}
}

func TestGateSubject(t *testing.T) {
	t.Parallel()
	p := mustPlan(t, blueGreenCampaign(50, 100), blueGreenFleet())
	for _, tc := range []struct {
		wave    int
		cluster string
		revert  bool
		want    Subject
	}{
		{1, "a-dev-cpu-1", false, Subject{Cluster: "a-dev-cpu-1", Value: "1.30", Traffic: 100}},
		{7, "a-prod-cpu-1", false, Subject{Cluster: "a-prod-cpu-1-g1", Value: "1.30", New: true}},
		{7, "a-prod-cpu-1", true, Subject{Cluster: "a-prod-cpu-1-g1", Value: "1.29", Gone: true}},
		{8, "a-prod-cpu-1", false, Subject{Cluster: "a-prod-cpu-1-g1", Value: "1.30", Traffic: 50}},
		{8, "a-prod-cpu-1", true, Subject{Cluster: "a-prod-cpu-1", Value: "1.29", Traffic: 100}},
		{9, "a-prod-cpu-1", false, Subject{Cluster: "a-prod-cpu-1-g1", Value: "1.30", Traffic: 100}},
		{9, "a-prod-gpu-1", true, Subject{Cluster: "a-prod-gpu-1", Value: "1.29", Traffic: 50}},
		{17, "c-prod-gpu-1", true, Subject{Cluster: "c-prod-gpu-1", Value: "1.29", Traffic: 50}},
		{10, "a-prod-cpu-1", false, Subject{Cluster: "a-prod-cpu-1", Value: "1.30", Gone: true}},
	} {
		_, got, ok := p.GateSubject(tc.wave, tc.cluster, tc.revert)
		if !ok || got != tc.want {
			t.Errorf("wave %d %s revert %v: %+v %v, want %+v", tc.wave, tc.cluster, tc.revert, got, ok, tc.want)
		}
	}
	if _, _, ok := p.GateSubject(7, "a-dev-cpu-1", false); ok {
		t.Error("a cluster outside the wave has no subject")
	}
}
