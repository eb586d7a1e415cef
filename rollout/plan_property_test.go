package rollout

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomFleet builds a fleet of up to five tenants with clusters in random
// environments and fleets, random versions, canary flags, locks and label
// files.
func randomFleet(rng *rand.Rand) (*fleetBuilder, []string) {
	b := &fleetBuilder{files: map[string]map[string]string{}, locks: map[string]string{}}
	envs := []string{"dev", "staging", "prod", "perf"}[:2+rng.IntN(3)]
	fleets := []string{"cpu", "gpu", "arm"}[:1+rng.IntN(3)]
	values := []string{"r1", "r2", "r3"}
	maybeFile := func(file string, p float64) {
		if rng.Float64() >= p {
			return
		}
		b.files[file] = map[string]string{"other": "x"}
		if rng.IntN(3) > 0 {
			b.files[file]["addonsRelease"] = values[rng.IntN(len(values))]
		}
	}
	maybeFile(globalFile, 0.9)
	if rng.IntN(2) == 0 {
		b.fleetLevel = true
		for _, fl := range fleets {
			maybeFile(fleetClassFile(fl), 0.6)
		}
	}
	for ti := range 1 + rng.IntN(5) {
		tenant := fmt.Sprintf("t%d", ti)
		maybeFile(tenantFile(tenant), 0.5)
		for _, env := range envs {
			maybeFile(envFile(tenant, env), 0.3)
		}
		for ci := range rng.IntN(9) {
			env, fleet := envs[rng.IntN(len(envs))], fleets[rng.IntN(len(fleets))]
			name := fmt.Sprintf("%s-%s-%s-%d", tenant, env, fleet, ci)
			b.addCluster(tenant, env, fleet, name, fmt.Sprintf("1.%d", 26+rng.IntN(6)), rng.IntN(6) == 0)
			maybeFile(clusterFile(tenant, env, name), 0.4)
			if rng.IntN(20) == 0 {
				b.locks[name] = "other"
			}
		}
	}
	return b, envs
}

func randomCampaign(rng *rand.Rand, envs []string, b *fleetBuilder) *Campaign {
	change := eksTo("1.30")
	if rng.IntN(2) == 0 {
		change = labelTo("addonsRelease", "r2")
	}
	c := testCampaign(change)
	order := slices.Clone(envs)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	st := &c.Spec.Strategy
	st.Order = order
	st.Canary = rng.IntN(3) > 0
	switch rng.IntN(3) {
	case 0:
		st.MaxConcurrency = Quantity{Count: 1 + rng.IntN(5), IsSet: true}
	case 1:
		st.MaxConcurrency = Quantity{Percent: 10 + rng.IntN(91), IsSet: true}
	default:
		st.MaxConcurrency = Quantity{}
	}
	st.MaxPerTenant = rng.IntN(4)
	st.Approvals = nil
	for _, env := range envs {
		if rng.IntN(3) == 0 {
			st.Approvals = append(st.Approvals, env)
		}
	}
	sel := &c.Spec.Selector
	pick := func(all []string) []string {
		var out []string
		if rng.IntN(2) == 0 {
			return nil
		}
		for _, v := range all {
			if rng.IntN(2) == 0 {
				out = append(out, v)
			}
		}
		return out
	}
	var tenants, names []string
	for _, cl := range b.clusters {
		names = append(names, cl.Name)
		if !slices.Contains(tenants, cl.Tenant) {
			tenants = append(tenants, cl.Tenant)
		}
	}
	sel.Tenants = pick(tenants)
	sel.Envs = pick(envs)
	sel.Fleets = pick([]string{"cpu", "gpu", "arm"})
	for _, n := range names {
		if rng.IntN(12) == 0 {
			sel.Exclude = append(sel.Exclude, n)
		}
	}
	return c
}

// selectedByHand restates the selector rules for the property test.
func selectedByHand(c *Campaign, cl Cluster) bool {
	s := c.Spec.Selector
	ok := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return ok(s.Tenants, cl.Tenant) && ok(s.Envs, cl.Env) && ok(s.Fleets, cl.Fleet) && ok(s.Clusters, cl.Name)
}

func TestPlanProperties(t *testing.T) {
	t.Parallel()
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 7))
			b, envs := randomFleet(rng)
			c := randomCampaign(rng, envs, b)
			f := b.build()
			p, err := PlanCampaign(c, f)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			checkOwnership(t, p, f)
			checkDeterminism(t, c, f, p, rng)
			checkCoverage(t, c, f, p)
			checkWaves(t, c, p)
			if c.Spec.Change.Label != nil {
				checkLabelPlan(t, p, f, "addonsRelease", "r2", DefaultLabelsKey)
			}
		})
	}
}

func checkDeterminism(t *testing.T, c *Campaign, f Fleet, p *Plan, rng *rand.Rand) {
	t.Helper()
	want, err := RenderJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := f
	shuffled.Clusters = slices.Clone(f.Clusters)
	rng.Shuffle(len(shuffled.Clusters), func(i, j int) {
		shuffled.Clusters[i], shuffled.Clusters[j] = shuffled.Clusters[j], shuffled.Clusters[i]
	})
	for i, in := range []Fleet{f, shuffled} {
		again, err := PlanCampaign(c, in)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := RenderJSON(again)
		if !bytes.Equal(got, want) {
			t.Fatalf("plan %d of the same input differs (shuffled: %v)", i+1, i == 1)
		}
	}
}

// checkCoverage: every selected cluster is planned or skipped, never both;
// unselected clusters appear nowhere; an EKS cluster appears once per minor
// version it climbs, in consecutive hops; a label cluster once.
func checkCoverage(t *testing.T, c *Campaign, f Fleet, p *Plan) {
	t.Helper()
	steps := map[string][]WaveCluster{}
	hops := map[string][]int{}
	for _, w := range p.Waves {
		for _, cl := range w.Clusters {
			steps[cl.Name] = append(steps[cl.Name], cl)
			hops[cl.Name] = append(hops[cl.Name], w.Hop)
		}
	}
	skipped := skippedReasons(p)
	if len(skipped) != len(p.Skipped) {
		t.Errorf("a cluster is skipped twice: %v", p.Skipped)
	}
	for _, cl := range f.Clusters {
		sel := selectedByHand(c, cl)
		_, isSkipped := skipped[cl.Name]
		n := len(steps[cl.Name])
		switch {
		case !sel && (n > 0 || isSkipped):
			t.Errorf("%s is not selected but is planned (%d) or skipped (%v)", cl.Name, n, isSkipped)
		case sel && (n > 0) == isSkipped:
			t.Errorf("%s: planned %d times and skipped %v", cl.Name, n, isSkipped)
		case sel && slices.Contains(c.Spec.Selector.Exclude, cl.Name) && skipped[cl.Name] != ReasonExcluded:
			t.Errorf("%s is excluded but %q", cl.Name, skipped[cl.Name])
		}
		if n == 0 {
			continue
		}
		if c.Spec.Change.EKSVersion != nil {
			minor, _ := parseMinor(cl.Version)
			if n != 30-minor {
				t.Errorf("%s at %s has %d steps to 1.30", cl.Name, cl.Version, n)
			}
			first := hops[cl.Name][0]
			for i, s := range steps[cl.Name] {
				if hops[cl.Name][i] != first+i || s.From != formatMinor(minor+i) || s.To != formatMinor(minor+i+1) {
					t.Errorf("%s: step %d is hop %d, %s -> %s", cl.Name, i, hops[cl.Name][i], s.From, s.To)
				}
			}
		} else if n != 1 {
			t.Errorf("%s appears %d times", cl.Name, n)
		}
	}
}

// checkWaves: caps, canaries first per fleet, canary waves of canaries only,
// environment and hop order, approvals on each environment's first wave.
func checkWaves(t *testing.T, c *Campaign, p *Plan) {
	t.Helper()
	st := c.Spec.Strategy
	type envHop struct {
		env string
		hop int
	}
	total := map[envHop]int{}
	for _, w := range p.Waves {
		total[envHop{w.Env, w.Hop}] += len(w.Clusters)
	}
	lastHop, lastEnv := 0, -1
	seenFirst := map[envHop]bool{}
	nonCanaryFleet := map[envHop]map[string]bool{}
	canaryFleet := map[envHop]map[string]bool{}
	cleanup := false
	for _, w := range p.Waves {
		if w.Cleanup {
			cleanup = true
			continue
		}
		if cleanup {
			t.Errorf("wave %d follows a clean-up wave", w.Index)
		}
		k := envHop{w.Env, w.Hop}
		ei := slices.Index(st.Order, w.Env)
		if w.Hop < lastHop || w.Hop == lastHop && ei < lastEnv {
			t.Errorf("wave %d (%s, hop %d) out of order", w.Index, w.Env, w.Hop)
		}
		if w.Hop != lastHop {
			lastEnv = -1
		}
		lastHop, lastEnv = w.Hop, ei
		if limit := st.MaxConcurrency.Of(total[k]); limit > 0 && len(w.Clusters) > limit {
			t.Errorf("wave %d holds %d clusters, limit %d", w.Index, len(w.Clusters), limit)
		}
		if len(w.Clusters) == 0 {
			t.Errorf("wave %d is empty", w.Index)
		}
		perTenant := map[string]int{}
		for _, cl := range w.Clusters {
			perTenant[cl.Tenant]++
			if st.MaxPerTenant > 0 && perTenant[cl.Tenant] > st.MaxPerTenant {
				t.Errorf("wave %d holds %d clusters of %s", w.Index, perTenant[cl.Tenant], cl.Tenant)
			}
			if cl.Env != w.Env {
				t.Errorf("wave %d (%s) holds %s of %s", w.Index, w.Env, cl.Name, cl.Env)
			}
		}
		wantApproval := slices.Contains(st.Approvals, w.Env) && !seenFirst[k]
		seenFirst[k] = true
		if w.Approval != wantApproval {
			t.Errorf("wave %d: approval %v, want %v", w.Index, w.Approval, wantApproval)
		}
		if canaryFleet[k] == nil {
			canaryFleet[k], nonCanaryFleet[k] = map[string]bool{}, map[string]bool{}
		}
		for _, cl := range w.Clusters {
			if w.Canary != cl.Canary {
				t.Errorf("wave %d (canary %v) holds %s (canary %v)", w.Index, w.Canary, cl.Name, cl.Canary)
			}
			if !st.Canary && (w.Canary || cl.PickedCanary) {
				t.Errorf("wave %d: canary without strategy.canary", w.Index)
			}
			if w.Canary {
				if nonCanaryFleet[k][cl.Fleet] {
					t.Errorf("canary %s comes after other %s clusters in %s", cl.Name, cl.Fleet, w.Env)
				}
				canaryFleet[k][cl.Fleet] = true
			} else {
				if st.Canary && !canaryFleet[k][cl.Fleet] {
					t.Errorf("%s (%s) in %s hop %d before any canary of its fleet", cl.Name, cl.Fleet, w.Env, w.Hop)
				}
				nonCanaryFleet[k][cl.Fleet] = true
			}
		}
	}
}

// TestPlanRefusesUnorderedEnv checks random plans refuse, naming the clusters,
// when the order lacks an environment.
func TestPlanRefusesUnorderedEnv(t *testing.T) {
	t.Parallel()
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 11))
		b, envs := randomFleet(rng)
		c := randomCampaign(rng, envs, b)
		c.Spec.Selector = Selector{}
		c.Spec.Strategy.Order = c.Spec.Strategy.Order[1:]
		p, err := PlanCampaign(c, b.build())
		var refused *RefusedError
		if errors.As(err, &refused) {
			if refused.Rule != RuleEnvOrder || len(refused.Clusters) == 0 {
				t.Errorf("seed %d: refusal %+v", seed, refused)
			}
			continue
		}
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		for _, w := range p.Waves {
			if !w.Cleanup && !slices.Contains(c.Spec.Strategy.Order, w.Env) {
				t.Errorf("seed %d: wave %d in %s, not in the order", seed, w.Index, w.Env)
			}
		}
	}
}
