package rollout

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// labelWorld is an independent model of the label files: it applies a plan's
// pull requests as the editor would, checking each edit's precondition, and
// computes effective values from the chains.
type labelWorld struct {
	files  map[string]map[string]string // by fileKey; absent means no file
	chains map[string][]string          // cluster -> fileKeys, general to specific
	key    string
	path   []string
}

func newLabelWorld(f Fleet, key string, labelsKey []string) *labelWorld {
	w := &labelWorld{files: map[string]map[string]string{}, chains: map[string][]string{}, key: key,
		path: append(slices.Clone(labelsKey), key)}
	for _, c := range f.Clusters {
		for _, l := range c.LabelChain {
			k := fileKey(l.Repo, l.File)
			if l.Exists {
				w.files[k] = maps.Clone(l.Labels)
				if w.files[k] == nil {
					w.files[k] = map[string]string{}
				}
			}
			w.chains[c.Name] = append(w.chains[c.Name], k)
		}
	}
	return w
}

func (w *labelWorld) clone() *labelWorld {
	c := *w
	c.files = make(map[string]map[string]string, len(w.files))
	for k, v := range w.files {
		c.files[k] = maps.Clone(v)
	}
	return &c
}

// value is the cluster's effective value: the most specific file holding the
// key wins.
func (w *labelWorld) value(cluster string) string {
	chain := w.chains[cluster]
	for i := len(chain) - 1; i >= 0; i-- {
		if v, ok := w.files[chain[i]][w.key]; ok {
			return v
		}
	}
	return "(unset)"
}

// apply merges one pull request, failing the test when an edit's
// precondition does not hold in the current files.
func (w *labelWorld) apply(t *testing.T, pr PullRequest) {
	t.Helper()
	for _, fc := range pr.Files {
		k := fileKey(pr.Repo, fc.Path)
		labels, exists := w.files[k]
		if fc.Create {
			if exists {
				t.Fatalf("create %s: the file exists", fc.Path)
			}
			if !strings.Contains(fc.Content, w.key+": ") {
				t.Fatalf("create %s: content %q does not set %s", fc.Path, fc.Content, w.key)
			}
			labels = map[string]string{}
			w.files[k] = labels
		} else if !exists {
			t.Fatalf("edit %s: the file does not exist and the edit does not create it", fc.Path)
		}
		for _, e := range fc.Edits {
			if !slices.Equal(e.Path, w.path) {
				t.Fatalf("edit %s: path %v, want %v", fc.Path, e.Path, w.path)
			}
			cur, has := labels[w.key]
			switch e.Op {
			case OpCreate:
				if !fc.Create {
					t.Fatalf("edit %s: op create in a file that is not created", fc.Path)
				}
				labels[w.key] = e.To
			case OpSet:
				if !has || cur != e.From {
					t.Fatalf("set %s: from %q but the file holds %q (present %v)", fc.Path, e.From, cur, has)
				}
				labels[w.key] = e.To
			case OpInsert:
				if has {
					t.Fatalf("insert %s: the key is already there (%q)", fc.Path, cur)
				}
				labels[w.key] = e.To
			case OpDelete:
				if !has || cur != e.From {
					t.Fatalf("delete %s: from %q but the file holds %q (present %v)", fc.Path, e.From, cur, has)
				}
				delete(labels, w.key)
			default:
				t.Fatalf("edit %s: unknown op %q", fc.Path, e.Op)
			}
		}
	}
}

// checkLabelPlan merges the plan's pull requests one by one, in order and in
// reverse order within each wave (and in every subset for clean-up waves of up
// to ten pull requests), and checks every cluster of the fleet after each
// merge: a cluster not in the plan never moves; a planned cluster moves to the
// target exactly when its own pull request merges; clean-up never moves
// anyone. It returns the files after the whole plan.
func checkLabelPlan(t *testing.T, p *Plan, f Fleet, key, to string, labelsKey []string) *labelWorld {
	t.Helper()
	world := newLabelWorld(f, key, labelsKey)
	orig := map[string]string{}
	for _, c := range f.Clusters {
		orig[c.Name] = world.value(c.Name)
	}
	waveOf := map[string]int{}
	tenantOf := map[string]string{}
	for _, w := range p.Waves {
		for _, c := range w.Clusters {
			if _, dup := waveOf[c.Name]; dup {
				t.Fatalf("cluster %s is in waves %d and %d", c.Name, waveOf[c.Name], w.Index)
			}
			waveOf[c.Name] = w.Index
			tenantOf[c.Name] = c.Tenant
		}
	}
	check := func(s *labelWorld, wave int, merged map[string]bool, when string) {
		t.Helper()
		for _, c := range f.Clusters {
			want := orig[c.Name]
			if wi, ok := waveOf[c.Name]; ok && (wi < wave || wi == wave && merged[c.Tenant]) {
				want = to
			}
			if got := s.value(c.Name); got != want {
				t.Fatalf("%s: cluster %s has %s=%s, want %s", when, c.Name, key, got, want)
			}
		}
	}
	for _, w := range p.Waves {
		orders := [][]int{}
		n := len(w.PullRequests)
		if w.Cleanup && n <= 10 {
			for mask := 1; mask < 1<<n; mask++ {
				var order []int
				for i := range n {
					if mask&(1<<i) != 0 {
						order = append(order, i)
					}
				}
				orders = append(orders, order)
			}
		} else {
			fwd := make([]int, n)
			for i := range fwd {
				fwd[i] = i
			}
			rev := slices.Clone(fwd)
			slices.Reverse(rev)
			orders = append(orders, fwd, rev)
		}
		for _, order := range orders {
			s := world.clone()
			merged := map[string]bool{}
			for _, i := range order {
				pr := w.PullRequests[i]
				s.apply(t, pr)
				merged[pr.Tenant] = true
				check(s, w.Index, merged, "wave "+strconv.Itoa(w.Index)+" after the pull request of "+orDash(pr.Tenant, "fleet admins"))
			}
		}
		for _, pr := range w.PullRequests {
			world.apply(t, pr)
		}
	}
	check(world, len(p.Waves)+1, nil, "after the plan")
	return world
}
