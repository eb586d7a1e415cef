package rollout

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// slot is one label file's value for the campaign's key.
type slot struct {
	has   bool
	value string
}

// level is one label file, shared by the chains of the clusters it applies to.
type level struct {
	repo, file string
	scope      string
	shared     bool
	exists     bool
	tenant     string // owner; empty when shared
	line       int    // line of the key, 0 when absent
	clusters   []int  // indices of the clusters whose chain holds the level
	rank       int    // smallest position in any chain: 0 is the most general
	own        bool   // the last entry of some cluster's chain
}

// hierarchy interns the label files of the whole fleet for one key, so that
// effective values can be computed and simulated under pending edits.
type hierarchy struct {
	levels []level
	chains [][]int // per cluster (planner order), general to specific
}

// buildHierarchy reads every cluster's chain of hc (the label files, or
// the files of a hierarchy). A file must be either shared or owned by one
// tenant, and a cluster's own file must belong to it alone: otherwise a pull
// request could not stay within one tenant, or a cluster's edit would move
// another cluster. The last file of a label chain is the cluster's own; in
// another hierarchy, only a file of cluster scope is.
func buildHierarchy(clusters []*Cluster, hc *hierChange) (*hierarchy, []slot, error) {
	// Most chains end in a file of the cluster's own: about one level a
	// cluster, made room for at once rather than grown.
	h := &hierarchy{levels: make([]level, 0, len(clusters)), chains: make([][]int, len(clusters))}
	index := make(map[fileID]int, len(clusters))
	initial := make([]slot, 0, len(clusters))
	key := hc.key
	for ci, cl := range clusters {
		levels := hc.chain(cl)
		chain := make([]int, len(levels))
		for pos, ll := range levels {
			repo := cmp.Or(ll.Repo, cl.Repo)
			k := fileID{repo, ll.File}
			li, ok := index[k]
			if !ok {
				li = len(h.levels)
				index[k] = li
				v, has := ll.Labels[key]
				has = has && ll.Exists
				if !has {
					v = ""
				}
				h.levels = append(h.levels, level{
					repo: repo, file: ll.File, scope: ll.Scope, shared: ll.Shared, exists: ll.Exists,
					tenant: cl.Tenant, line: ll.Lines[key], rank: pos,
				})
				initial = append(initial, slot{has: has, value: v})
			}
			lv := &h.levels[li]
			if ll.Shared != lv.shared {
				return nil, nil, fmt.Errorf("%s %s in %s is shared for one cluster and not for another (cluster %s)", hc.fileWord, ll.File, repo, cl.Name)
			}
			if !lv.shared {
				if lv.tenant != cl.Tenant {
					return nil, nil, fmt.Errorf("%s %s in %s applies to tenants %q and %q but is not marked shared", hc.fileWord, ll.File, repo, lv.tenant, cl.Tenant)
				}
			} else {
				lv.tenant = ""
			}
			lv.rank = min(lv.rank, pos)
			lv.clusters = append(lv.clusters, ci)
			chain[pos] = li
		}
		if n := len(chain); n > 0 && (hc.lastIsOwn || levels[n-1].Scope == LevelCluster) {
			h.levels[chain[n-1]].own = true
		}
		h.chains[ci] = chain
		if hc.release != nil {
			hc.release(cl)
		}
	}
	for ci, chain := range h.chains {
		if len(chain) == 0 {
			continue
		}
		if own := h.levels[chain[len(chain)-1]]; own.own && len(own.clusters) > 1 {
			return nil, nil, fmt.Errorf("%s %s of cluster %s also applies to cluster %s: a cluster's own file must be its alone",
				hc.fileWord, own.file, clusters[ci].Name, clusters[otherThan(own.clusters, ci)].Name)
		}
	}
	return h, initial, nil
}

func otherThan(list []int, v int) int {
	for _, x := range list {
		if x != v {
			return x
		}
	}
	return v
}

// effective returns a cluster's value under state st, with overlay applied on
// top (later entries win).
func (h *hierarchy) effective(st []slot, ci int, overlay []levelSlot) slot {
	chain := h.chains[ci]
	for i := len(chain) - 1; i >= 0; i-- {
		li := chain[i]
		s := st[li]
		for _, o := range overlay {
			if o.level == li {
				s = o.slot
			}
		}
		if s.has {
			return s
		}
	}
	return slot{}
}

type levelSlot struct {
	level int
	slot  slot
}

// labelEdit is a pending change of one label file.
type labelEdit struct {
	level int
	to    slot
}

// hierChange is what the planner of a hierarchy needs from a label change
// or a hierarchy field change.
type hierChange struct {
	key      string                      // the value's key in each LabelLevel's Labels and Lines
	path     []string                    // the key path the edits write
	from, to string                      // from may be empty
	level    string                      // the level the change waves edit; empty: each cluster's own file
	name     string                      // the hierarchy, for messages
	fileWord string                      // what messages call one of its files
	chain    func(*Cluster) []LabelLevel // a cluster's files, general to specific
	// release, when set, lets go of a cluster's chain once it is read
	// (WithChainsReleased).
	release func(*Cluster)
	// lastIsOwn makes the last file of every chain its cluster's own, as
	// label chains are; otherwise only a file of cluster scope is.
	lastIsOwn bool
}

// planLabel plans a label change: each wave's clusters get the value in their
// own file (or in their file at the level the campaign names), then clean-up
// waves fold it up the hierarchy.
func (pl *planner) planLabel(ch *LabelChange) error {
	if ch.Key == "" || ch.To == "" {
		return errors.New("spec.change.label needs a key and a value to set (to)")
	}
	path := append(slices.Clone(pl.opts.labelsKey), ch.Key)
	pl.plan.Change = PlanChange{Kind: KindLabel, Key: ch.Key, Path: strings.Join(path, "."), Level: ch.Level, From: ch.From, To: ch.To, Revertible: true}
	hc := &hierChange{
		key: ch.Key, path: path, from: ch.From, to: ch.To, level: ch.Level,
		name: "labels", fileWord: "label file", lastIsOwn: true,
		chain: func(cl *Cluster) []LabelLevel { return cl.LabelChain },
	}
	if pl.opts.releaseChains {
		hc.release = func(cl *Cluster) { cl.LabelChain = nil }
	}
	return pl.planHierarchy(hc)
}

// planHierarchyField plans a field change of a hierarchy (Cluster.Chain) as
// a label change is planned.
func (pl *planner) planHierarchyField(ch *FieldChange) error {
	if ch.Path == "" || ch.To == "" {
		return errors.New("spec.change.field needs a path and a value to set (to)")
	}
	if len(pl.opts.fieldKey) == 0 {
		return fmt.Errorf("field %s of hierarchy %s: the planner was given no key path to edit (WithFieldKey)", ch.Path, ch.Hierarchy)
	}
	level := cmp.Or(ch.Level, LevelCluster)
	pl.keepQuoting = true // a field is no label: a value in a file keeps its type
	pl.plan.Change = PlanChange{Kind: KindField, Hierarchy: ch.Hierarchy, Level: level, Path: ch.Path, From: ch.From, To: ch.To, Revertible: ch.Revertible}
	hc := &hierChange{
		key: ch.Path, path: slices.Clone(pl.opts.fieldKey), from: ch.From, to: ch.To, level: level,
		name: ch.Hierarchy, fileWord: "file of hierarchy " + ch.Hierarchy,
		chain: func(cl *Cluster) []LabelLevel { return cl.Chain },
	}
	if pl.opts.releaseChains {
		hc.release = func(cl *Cluster) { cl.Chain = nil }
	}
	return pl.planHierarchy(hc)
}

// planHierarchy plans hc: each planned cluster's file at hc's level gets the
// value in the change waves, then clean-up waves fold it up the hierarchy.
//
// A cluster's own file moves in its own wave. A tenant's or a tenant's
// environment's file moves with the first wave holding one of the clusters
// it serves, as a field change's tenant files do; a file every tenant shares
// (an environment's, or the global one) moves in a shared wave of its own,
// the fleet admins' pull request, after the other waves of its environment
// or after every environment. Such a file must move no cluster outside the
// plan (rule field-scope), and a cluster whose value comes from a more
// specific file than the level is refused: the level's file would not move
// it.
func (pl *planner) planHierarchy(hc *hierChange) error {
	h, initial, err := buildHierarchy(pl.clusters, hc)
	if err != nil {
		return err
	}
	index := make(map[*Cluster]int, len(pl.clusters))
	for i, cl := range pl.clusters {
		index[cl] = i
	}
	want := slot{has: true, value: hc.to}
	desired := make([]slot, len(pl.clusters))
	for ci := range pl.clusters {
		desired[ci] = h.effective(initial, ci, nil)
	}
	planned := make([]bool, len(pl.clusters))
	targets := map[int][]*step{} // a level the change waves edit once -> its steps
	var steps []*step
	var noLevel []string
	for _, cl := range pl.candidates() {
		ci := index[cl]
		chain := h.chains[ci]
		if len(chain) == 0 {
			if hc.lastIsOwn {
				return fmt.Errorf("cluster %s: the inventory gives no label files for it", cl.Name)
			}
			return fmt.Errorf("cluster %s: the inventory gives no files of hierarchy %s for it", cl.Name, hc.name)
		}
		cur := desired[ci]
		if cur == want {
			pl.skip(cl, ReasonAtTarget, fmt.Sprintf("%s=%s", hc.key, cur.value))
			continue
		}
		if hc.from != "" && cur.value != hc.from {
			pl.skip(cl, ReasonFromMismatch, fmt.Sprintf("%s is %s, the campaign moves it from %s", hc.key, show(cur), hc.from))
			continue
		}
		pos := levelPosition(h, chain, hc.level)
		if pos < 0 {
			noLevel = append(noLevel, cl.Name)
			continue
		}
		for _, li := range chain[pos+1:] {
			if initial[li].has {
				lv := h.levels[li]
				return &RefusedError{
					Rule: RuleHierarchyLevel, Clusters: []string{cl.Name},
					Message: fmt.Sprintf("cluster %s takes %s from %s (line %d), more specific than its %s file %s: editing the %s level would not move it; exclude it or name a more specific level",
						cl.Name, hc.key, lv.file, lv.line, hc.level, h.levels[chain[pos]].file, hc.level),
				}
			}
		}
		li := chain[pos]
		s := &step{cluster: cl, from: cur.value, to: hc.to}
		if h.levels[li].own {
			s.edits = []fileEdit{pl.labelFileEdit(h, initial, labelEdit{li, want}, hc.path)}
		} else {
			s.shared = h.levels[li].shared
			s.late = s.shared
			targets[li] = append(targets[li], s)
		}
		steps = append(steps, s)
		desired[ci] = want
		planned[ci] = true
	}
	if len(noLevel) > 0 {
		return &RefusedError{
			Rule: RuleHierarchyLevel, Clusters: noLevel,
			Message: fmt.Sprintf("hierarchy %s has no file at level %s for cluster(s) %s: add that level to the hierarchy, name another level, or leave them out",
				hc.name, hc.level, strings.Join(noLevel, ", ")),
		}
	}
	if err := pl.checkOrder(steps); err != nil {
		return err
	}
	levelField := "spec.change.field.level"
	if pl.campaign.Spec.Change.Label != nil {
		levelField = "spec.change.label.level"
	}
	if err := checkTargets(h, initial, planned, pl.clusters, targets, want, hc.key, levelField); err != nil {
		return err
	}
	after := slices.Clone(initial)
	for ci, p := range planned {
		if p {
			after[h.chains[ci][levelPosition(h, h.chains[ci], hc.level)]] = want
		}
	}
	// The clean-up waves are planned while the change waves are: they read
	// what the change leaves (after, desired, planned), never the change
	// waves, and a large fleet's take a quarter of a second.
	cleanupDone := make(chan []waveDraft, 1)
	go func() { cleanupDone <- pl.labelCleanup(h, after, desired, planned, want, hc.path) }()
	tail, last := pl.sharedTargets(h, initial, targets, want, hc.path)
	drafts := pl.buildWaves(steps, 0, tail)
	err = canariesFirst(hc.key, steps, func(s *step) string {
		ci := index[s.cluster]
		return h.levels[h.chains[ci][levelPosition(h, h.chains[ci], hc.level)]].file
	})
	if err != nil {
		return err
	}
	for _, li := range sortedLevels(h, targets) {
		if h.levels[li].shared {
			continue
		}
		i := slices.IndexFunc(drafts, func(d waveDraft) bool {
			return !d.shared && slices.ContainsFunc(d.steps, func(s *step) bool { return slices.Contains(targets[li], s) })
		})
		drafts[i].extra = append(drafts[i].extra, pl.labelFileEdit(h, initial, labelEdit{li, want}, hc.path))
	}
	approvals := len(pl.campaign.Spec.Strategy.Approvals) > 0
	if len(last) > 0 && approvals {
		last[0].approval = true
	}
	cleanup := <-cleanupDone
	if len(cleanup) > 0 && approvals {
		cleanup[0].approval = true
	}
	return pl.finish(slices.Concat(drafts, last, cleanup))
}

// levelPosition returns the position in chain of the file at level: the
// last one for no level (a label chain's own file), the most specific file
// of that scope for cluster, env and tenant, the most general global file
// for global; -1 when the chain has none.
func levelPosition(h *hierarchy, chain []int, level string) int {
	switch level {
	case "":
		return len(chain) - 1
	case LevelGlobal:
		return slices.IndexFunc(chain, func(li int) bool { return h.levels[li].scope == LevelGlobal })
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if h.levels[chain[i]].scope == level {
			return i
		}
	}
	return -1
}

// sortedLevels returns the keys of targets in file order.
func sortedLevels(h *hierarchy, targets map[int][]*step) []int {
	out := make([]int, 0, len(targets))
	for li := range targets {
		out = append(out, li)
	}
	slices.SortFunc(out, func(a, b int) int {
		return cmp.Or(strings.Compare(h.levels[a].repo, h.levels[b].repo), strings.Compare(h.levels[a].file, h.levels[b].file))
	})
	return out
}

// checkTargets refuses a file the change waves edit for several clusters
// when the edit would also move a cluster outside the plan; levelField is
// the field of the campaign file that named the level.
func checkTargets(h *hierarchy, initial []slot, planned []bool, clusters []*Cluster, targets map[int][]*step, want slot, key, levelField string) error {
	var files, outside []string
	for _, li := range sortedLevels(h, targets) {
		moved := false
		for _, ci := range h.levels[li].clusters {
			if planned[ci] {
				continue
			}
			if h.effective(initial, ci, []levelSlot{{li, want}}) != h.effective(initial, ci, nil) {
				outside = append(outside, clusters[ci].Name)
				moved = true
			}
		}
		if moved {
			files = append(files, h.levels[li].file)
		}
	}
	if len(files) == 0 {
		return nil
	}
	return scopeRefusal(key, files, outside, "name a more specific level", levelField)
}

// sharedTargets plans the files every tenant shares that the change waves
// edit: one shared wave per environment and repository for an
// environment's files, in tail, and one per repository for global files,
// in last, each holding every planned cluster the file serves.
func (pl *planner) sharedTargets(h *hierarchy, initial []slot, targets map[int][]*step, want slot, path []string) (tail map[string][]waveDraft, last []waveDraft) {
	groups := map[string]*waveDraft{}
	for _, li := range sortedLevels(h, targets) {
		lv := h.levels[li]
		if !lv.shared {
			continue
		}
		env := ""
		if lv.scope != LevelGlobal {
			env = targets[li][0].cluster.Env
		}
		k := env + "\x00" + lv.repo
		d := groups[k]
		if d == nil {
			d = &waveDraft{env: env, shared: true}
			groups[k] = d
		}
		d.extra = append(d.extra, pl.labelFileEdit(h, initial, labelEdit{li, want}, path))
		d.steps = append(d.steps, targets[li]...)
	}
	tail = map[string][]waveDraft{}
	for _, k := range sortedKeys(groups) {
		d := groups[k]
		slices.SortFunc(d.steps, byTenantName)
		if d.env == "" {
			last = append(last, *d)
		} else {
			tail[d.env] = append(tail[d.env], *d)
		}
	}
	return tail, last
}

func show(s slot) string {
	if !s.has {
		return "unset"
	}
	return s.value
}

// labelFileEdit turns a pending change of one file, whose current value is
// st[e.level], into a file edit: set, insert, delete, or create the file.
func (pl *planner) labelFileEdit(h *hierarchy, st []slot, e labelEdit, path []string) fileEdit {
	lv := h.levels[e.level]
	cur := st[e.level]
	fe := fileEdit{repo: lv.repo, tenant: lv.tenant, admin: lv.shared, file: lv.file}
	if lv.shared {
		// A file every tenant shares names the clusters it serves, in the
		// change waves and the clean-up alike.
		for _, ci := range lv.clusters {
			fe.reach = append(fe.reach, pl.clusters[ci].Name)
		}
		slices.Sort(fe.reach)
	}
	ed := Edit{Path: path, To: e.to.value, Quote: e.to.has && !pl.keepQuoting && needsQuote(e.to.value)}
	switch {
	case !e.to.has && !lv.exists:
		// The campaign created this file to hold the label alone: the
		// clean-up removes the file rather than leave its keys empty.
		ed = Edit{Path: path, Op: OpDelete, From: cur.value}
		fe.delete = true
		fe.content = pl.labelFile(path, cur.value)
	case !e.to.has:
		ed = Edit{Path: path, Op: OpDelete, From: cur.value, Line: lv.line}
	case !lv.exists:
		ed.Op = OpCreate
		fe.create = true
		fe.content = pl.labelFile(path, e.to.value)
	case cur.has:
		ed.Op, ed.From, ed.Line = OpSet, cur.value, lv.line
	default:
		ed.Op = OpInsert
	}
	fe.edit = ed
	return fe
}

// labelFile is the content of a new label file holding one label, made
// once per value.
func (pl *planner) labelFile(path []string, value string) string {
	pl.filesMu.Lock()
	defer pl.filesMu.Unlock()
	if c, ok := pl.files[value]; ok {
		return c
	}
	if pl.files == nil {
		pl.files = map[string]string{}
	}
	c := newLabelFile(path, value)
	pl.files[value] = c
	return c
}

// newLabelFile is the content of a new label file holding one label.
func newLabelFile(path []string, value string) string {
	var b strings.Builder
	for i, k := range path {
		b.WriteString(strings.Repeat("  ", i))
		b.WriteString(yamlKey(k))
		b.WriteString(":")
		if i == len(path)-1 {
			b.WriteString(" ")
			b.WriteString(strconv.Quote(value))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func yamlKey(k string) string {
	if k == "" || needsQuote(k) {
		return strconv.Quote(k)
	}
	return k
}

// needsQuote reports whether a plain YAML scalar would not read back as this
// string: empty, a boolean, null, a number, or text with indicators.
func needsQuote(v string) bool {
	if v == "" || strings.TrimSpace(v) != v {
		return true
	}
	switch strings.ToLower(v) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~":
		return true
	}
	if strings.ContainsAny(v[:1], "-?:,[]{}#&*!|>'\"%@`.+0123456789") {
		return true
	}
	return strings.Contains(v, ": ") || strings.Contains(v, " #") || strings.ContainsAny(v, "\n\t\\")
}

// labelCleanup plans the clean-up waves once every planned cluster carries
// want in its own file (state after). It raises want to the most general files
// where every cluster either wants it or keeps a more specific value of its
// own, then deletes the overrides below them that no longer change anything.
// Raising never changes an effective value, so the raising wave's pull
// requests can merge in any order; deletion waves are formed so that any
// subset of a wave's pull requests keeps every value (see deletionWaves).
func (pl *planner) labelCleanup(h *hierarchy, after, desired []slot, planned []bool, want slot, path []string) []waveDraft {
	order := make([]int, len(h.levels))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		la, lb := h.levels[a], h.levels[b]
		return cmp.Or(cmp.Compare(la.rank, lb.rank), strings.Compare(la.repo, lb.repo), strings.Compare(la.file, lb.file))
	})
	resolvedAt := func(ci int) int { // position in chain of the level giving the value
		chain := h.chains[ci]
		for i := len(chain) - 1; i >= 0; i-- {
			if after[chain[i]].has {
				return i
			}
		}
		return -1
	}
	raisedAt := make([]int, len(h.chains))
	for i := range raisedAt {
		raisedAt[i] = -1
	}
	var raised []int
	for _, li := range order {
		lv := h.levels[li]
		if lv.own || !lv.exists {
			continue
		}
		useful, covered, agrees := false, true, true
		for _, ci := range lv.clusters {
			pos := slices.Index(h.chains[ci], li)
			useful = useful || planned[ci]
			covered = covered && raisedAt[ci] >= 0 && raisedAt[ci] < pos
			if desired[ci] != want && resolvedAt(ci) <= pos {
				agrees = false
				break
			}
		}
		if !useful || covered || !agrees {
			continue
		}
		raised = append(raised, li)
		for _, ci := range lv.clusters {
			pos := slices.Index(h.chains[ci], li)
			if raisedAt[ci] < 0 || pos < raisedAt[ci] {
				raisedAt[ci] = pos
			}
		}
	}
	if len(raised) == 0 {
		return nil
	}

	var drafts []waveDraft
	var sets []fileEdit
	final := slices.Clone(after)
	for _, li := range raised {
		if final[li] != want {
			sets = append(sets, pl.labelFileEdit(h, after, labelEdit{li, want}, path))
			final[li] = want
		}
	}
	if len(sets) > 0 {
		drafts = append(drafts, waveDraft{cleanup: true, extra: sets})
	}

	isRaised := make([]bool, len(h.levels))
	for _, li := range raised {
		isRaised[li] = true
	}
	var deletions []labelEdit
	for _, li := range order {
		lv := h.levels[li]
		if isRaised[li] || !final[li].has || !belowRaised(h, li, raisedAt) {
			continue
		}
		if lv.own && !planned[lv.clusters[0]] {
			continue // a cluster outside the plan keeps its own file as it is
		}
		keep := final[li]
		final[li] = slot{}
		ok := true
		for _, ci := range lv.clusters {
			if h.effective(final, ci, nil) != desired[ci] {
				ok = false
				break
			}
		}
		if !ok {
			final[li] = keep
			continue
		}
		deletions = append(deletions, labelEdit{li, slot{}})
	}
	base := slices.Clone(after)
	for _, li := range raised {
		base[li] = want
	}
	for _, group := range deletionWaves(h, base, desired, deletions) {
		edits := make([]fileEdit, 0, len(group))
		for _, e := range group {
			edits = append(edits, pl.labelFileEdit(h, base, e, path))
		}
		for _, e := range group {
			base[e.level] = e.to
		}
		drafts = append(drafts, waveDraft{cleanup: true, extra: edits})
	}
	return drafts
}

// belowRaised reports whether level li sits under a raised level in the chain
// of one of its clusters.
func belowRaised(h *hierarchy, li int, raisedAt []int) bool {
	for _, ci := range h.levels[li].clusters {
		if r := raisedAt[ci]; r >= 0 && r < slices.Index(h.chains[ci], li) {
			return true
		}
	}
	return false
}

// maxOverlap bounds how many pull requests of one wave may touch one
// cluster's chain: each subset of them is simulated.
const maxOverlap = 6

// delGroup is the deletions of one pull request and the clusters whose chain
// holds one of its files.
type delGroup struct {
	edits    []labelEdit
	clusters []int
	inWave   bool
}

// deletionWaves groups deletions by pull request (repository and owner) and
// forms waves so that merging any subset of a wave's pull requests, in any
// order, leaves every cluster at its desired value. A pull request that is
// not safe yet waits for a later wave; deletions that never become safe are
// dropped, leaving a redundant but harmless override.
func deletionWaves(h *hierarchy, base, desired []slot, deletions []labelEdit) [][]labelEdit {
	byPR := map[string]*delGroup{}
	for _, d := range deletions {
		lv := h.levels[d.level]
		k := fileKey(lv.repo, lv.tenant) + "\x00" + strconv.FormatBool(lv.shared)
		g := byPR[k]
		if g == nil {
			g = &delGroup{}
			byPR[k] = g
		}
		g.edits = append(g.edits, d)
		g.clusters = append(g.clusters, lv.clusters...)
	}
	var pending []*delGroup
	reach := make([][]*delGroup, len(desired)) // cluster -> groups whose files it inherits from
	for _, k := range sortedKeys(byPR) {
		g := byPR[k]
		slices.Sort(g.clusters)
		g.clusters = slices.Compact(g.clusters)
		pending = append(pending, g)
		for _, ci := range g.clusters {
			reach[ci] = append(reach[ci], g)
		}
	}
	st := slices.Clone(base)
	var waves [][]labelEdit
	for len(pending) > 0 {
		var wave, rest []*delGroup
		for _, g := range pending {
			if safeWith(h, st, desired, reach, g) {
				g.inWave = true
				wave = append(wave, g)
			} else {
				rest = append(rest, g)
			}
		}
		if len(wave) == 0 {
			break
		}
		n := 0
		for _, g := range wave {
			n += len(g.edits)
		}
		edits := make([]labelEdit, 0, n)
		for _, g := range wave {
			edits = append(edits, g.edits...)
			g.inWave = false
		}
		for _, e := range edits {
			st[e.level] = e.to
		}
		waves = append(waves, edits)
		pending = rest
	}
	return waves
}

// safeWith reports whether g can join the wave being formed (the groups
// marked inWave): for every cluster g reaches, every subset of the wave's pull
// requests that reach the cluster, merged together with g on top of state st,
// leaves the cluster at its desired value. Subsets without g were checked
// when their members joined.
func safeWith(h *hierarchy, st, desired []slot, reach [][]*delGroup, g *delGroup) bool {
	var overlay []levelSlot
	var others []*delGroup
	for _, ci := range g.clusters {
		others = others[:0]
		for _, o := range reach[ci] {
			if o.inWave {
				others = append(others, o)
			}
		}
		if len(others) > maxOverlap {
			return false
		}
		for mask := 0; mask < 1<<len(others); mask++ {
			overlay = overlay[:0]
			for i, o := range others {
				if mask&(1<<i) != 0 {
					for _, e := range o.edits {
						overlay = append(overlay, levelSlot{e.level, e.to})
					}
				}
			}
			for _, e := range g.edits {
				overlay = append(overlay, levelSlot{e.level, e.to})
			}
			if h.effective(st, ci, overlay) != desired[ci] {
				return false
			}
		}
	}
	return true
}
