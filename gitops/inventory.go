package gitops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// Cluster is one EKS cluster of the fleet as the repositories describe it.
type Cluster struct {
	Name   string `json:"name"`
	Tenant string `json:"tenant"`
	Env    string `json:"env"`
	Region string `json:"region"`
	// Account is the tenant's AWS account ID, when the layout says where it
	// is written.
	Account string `json:"account,omitempty"`
	Fleet   string `json:"fleet"`
	Canary  bool   `json:"canary"`
	// Hub is the Argo CD hub that manages the cluster, when the layout
	// says where it is written.
	Hub string `json:"hub,omitempty"`
	// Disabled is true when the files switch the cluster off (enabled:
	// false on its entry or on its service); DisabledPath is the key path
	// of that flag in Sources.Get("disabled").File. fleetbot never changes a
	// disabled cluster.
	Disabled     bool     `json:"disabled,omitempty"`
	DisabledPath []string `json:"disabledPath,omitempty"`
	// Version is the EKS version as written; empty when the source format
	// has none (fleet-member files).
	Version string `json:"version"`
	// Owners are the tenant's GitHub users ("alice") then teams
	// ("acme/team-a"), from the layout.
	Owners []string `json:"owners"`
	// Labels are the effective labels after the whole hierarchy. Clusters
	// whose chains load the same label files share one map: read it, never
	// change it.
	Labels map[string]string `json:"labels"`
	// Repo is the repository root as given to Load.
	Repo string `json:"repo"`
	// File is the repository-relative file that declares the cluster: its
	// blueprint or its fleet-member file.
	File string `json:"file"`
	// Document is the index of the YAML document of File that declares the
	// cluster, counted from 0: a fleet-member file may hold one cluster per
	// document.
	Document int `json:"document,omitempty"`
	// Record holds the values of the cluster's own record (its blueprint
	// entry or its fleet-member document) that the layout's hierarchy
	// templates name as {record.KEY}, by key path.
	Record map[string]string `json:"record,omitempty"`
	// Traffic is the value of the scalar that carries the cluster's share
	// of traffic, when the layout's blueGreen section names its key
	// (blueprints.blueGreen.traffic); TrafficPath is its key path in File.
	Traffic     string   `json:"traffic,omitempty"`
	TrafficPath []string `json:"trafficPath,omitempty"`
	// VersionPath is the key path of the version in File, for example
	// [services eks config dev-cpu-1 version]; nil when there is none.
	VersionPath []string `json:"versionPath,omitempty"`
	// Sources says where each value comes from: "name", "tenant", "env",
	// "region", "fleet", "canary", "disabled", "version", "traffic" and
	// "labels.<key>".
	Sources Sources `json:"sources"`
	// LabelChain holds every level of the label hierarchy for this cluster,
	// from the most general to the most specific, whether its file exists or
	// not.
	LabelChain []LabelLevel `json:"labelChain,omitempty"`

	// entry is the key path of the cluster's entry in its blueprint; nil
	// for a fleet-member cluster, whose whole document is its own.
	entry []string
	// files are the existing files of the cluster's label chain, kept
	// instead of LabelChain when Load was told no one reads the
	// inventory's chains.
	files *chainFiles
}

// chainFiles are the label files that exist along a cluster's chain, by
// level. Load keeps them instead of each cluster's LabelChain when Prepare
// lets the clusters go (plan without --clusters): the clusters of a tenant
// and environment without a file of their own share one, and the chains of
// 100,000 clusters are 36 MB. A label change's fleet makes each cluster's
// chain from them as it goes (Cluster.chain).
type chainFiles struct {
	levels []int // the index in the hierarchy of each of files
	files  []*parsedFile
	labels map[string]string // effective, made by resolveLabels
}

// levelFile returns the path of the cluster's label file at level (of
// the hierarchy's templates) and whether it exists.
func (c *Cluster) levelFile(level int) (string, bool) {
	if c.files != nil {
		if i := slices.Index(c.files.levels, level); i >= 0 {
			return c.files.files[i].rel, true
		}
		return "", false
	}
	if level < len(c.LabelChain) && c.LabelChain[level].Exists {
		return c.LabelChain[level].Path, true
	}
	return "", false
}

// EntryPath returns the key path of the cluster's entry in its blueprint,
// for example [services eks config dev-cpu-1]; nil for a fleet-member
// cluster, whose whole document is its own.
func (c *Cluster) EntryPath() []string {
	return slices.Clone(c.entry)
}

// Source is the place a value was read from: the repository as given, the
// repository-relative file (slash-separated), and the 1-based line and
// column of the value itself.
type Source struct {
	Repo   string `json:"repo"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column,omitempty"`
}

// String formats s as "file:line" with the repository prefix.
func (s Source) String() string {
	return fmt.Sprintf("%s:%d", joinRepo(s.Repo, s.File), s.Line)
}

// LabelLevel is one level of a cluster's label hierarchy.
type LabelLevel struct {
	// Template is the hierarchy entry of the layout.
	Template string `json:"template"`
	// Path is the template filled in for the cluster, repository-relative.
	Path string `json:"path"`
	// Exists reports whether the file is in the repository.
	Exists bool `json:"exists"`
	// Shared is true for files every tenant loads (no {tenant} or {cluster}
	// in the template): fleet admins own them.
	Shared bool `json:"shared"`
	// Labels are the labels set at this level, in file order.
	Labels []Label `json:"labels,omitempty"`
}

// Label is one label set in one file.
type Label struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Line  int    `json:"line"`
	// Null is true for an explicit null, which removes the label inherited
	// from more general levels, as Helm does.
	Null bool `json:"null,omitempty"`

	column int
}

// Inventory is every cluster of one or more repositories, with the problems
// found on the way.
type Inventory struct {
	// Clusters are sorted by name.
	Clusters []Cluster
	// Diagnostics are sorted by file and line.
	Diagnostics Diagnostics
	// Repos are the repositories as given to Load.
	Repos []string
	// Layouts maps each repository to the layout that was applied to it;
	// a repository whose layout file is invalid has none.
	Layouts map[string]*Layout

	// spots are where the parse found the scalars a plan may edit (the
	// clusters' versions, or a label's values), by file, for checking the
	// plan's edits; only Prepare has Load record them, for an EKS or a
	// label change.
	spots map[repoFile]*fileSpots
	// listed holds, by repository, every file Load's walk found, for a
	// label change (Prepare): the plan's check knows from it that a label
	// file the plan creates is not there yet, without asking the disk.
	listed map[string]map[string]bool
	// owners caches fileOwners for the inventory as Load made it; nil
	// for an Inventory made otherwise, whose owners are worked out on
	// each call.
	owners *ownersOnce
}

// Err returns the error diagnostics as a Diagnostics error, or nil. Callers
// that act on an inventory must refuse one with errors.
func (inv *Inventory) Err() error {
	if errs := inv.Diagnostics.Errors(); len(errs) > 0 {
		return errs
	}
	return nil
}

// Cluster returns the cluster called name.
func (inv *Inventory) Cluster(name string) (*Cluster, bool) {
	i, ok := slices.BinarySearchFunc(inv.Clusters, name, func(c Cluster, n string) int { return cmp.Compare(c.Name, n) })
	if !ok {
		return nil, false
	}
	return &inv.Clusters[i], true
}

// Option configures Load.
type Option func(*loadOptions)

type loadOptions struct {
	layout         string
	workers        int
	dropFiles      bool
	dropClusters   bool
	noLabelSources bool
	spots          bool   // record where each cluster's version sits (Prepare, for an EKS change)
	spotLabel      string // record where this label's values sit in the label files (Prepare, for its change)
	noChains       bool   // keep each cluster's chainFiles, not its LabelChain (Prepare)
}

// WithLayout applies the layout file at path to every repository instead of
// each repository's own .fleetbot.yaml.
func WithLayout(path string) Option {
	return func(o *loadOptions) { o.layout = path }
}

// WithWorkers sets how many files are parsed at once; the default is
// GOMAXPROCS.
func WithWorkers(n int) Option {
	return func(o *loadOptions) { o.workers = max(1, n) }
}

// WithoutLabelSources makes Load leave out of each cluster's Sources where
// each of its labels comes from ("labels.KEY"): the effective labels and
// every level's labels with their lines stay. On a large fleet those
// sources are most of the inventory's memory, and planning does not read
// them.
func WithoutLabelSources() Option {
	return func(o *loadOptions) { o.noLabelSources = true }
}

// WithoutFiles makes Prepare check that every edit of the plan applies
// without keeping what it makes of the files: Prepared.Files stays nil.
// Load ignores it.
func WithoutFiles() Option {
	return func(o *loadOptions) { o.dropFiles = true }
}

// WithoutClusters makes Prepare let go of the inventory's clusters once it
// has made the planner's fleet from them: Prepared.Inventory keeps its
// diagnostics, repositories and layouts, and its Clusters is nil. For
// callers that show the plan, not the inventory: on a large fleet the
// clusters are most of the memory held beside the fleet while the plan is
// made and its edits are checked. Load ignores it.
func WithoutClusters() Option {
	return func(o *loadOptions) { o.dropClusters = true }
}

// Load builds the inventory of the repositories (directories). Each file is
// read and parsed once. Problems in the files become Diagnostics; the error
// is for what stops loading altogether: a missing repository or layout
// file, an unreadable directory, a cancelled context.
func Load(ctx context.Context, repos []string, opts ...Option) (*Inventory, error) {
	o := loadOptions{workers: runtime.GOMAXPROCS(0)}
	for _, opt := range opts {
		opt(&o)
	}
	if len(repos) == 0 {
		return nil, errors.New("no repository given")
	}
	seen := map[string]string{}
	for _, r := range repos {
		clean := filepath.Clean(r)
		if prev, ok := seen[clean]; ok {
			return nil, fmt.Errorf("repository %s given twice (as %s and %s)", clean, prev, r)
		}
		seen[clean] = r
	}
	inv := &Inventory{Repos: slices.Clone(repos), Layouts: map[string]*Layout{}, owners: &ownersOnce{}}
	var shared *Layout
	if o.layout != "" {
		l, err := ReadLayout(o.layout)
		var ds Diagnostics
		switch {
		case errors.As(err, &ds):
			inv.Diagnostics = sortDiagnostics(ds)
			return inv, nil
		case err != nil:
			return nil, err
		}
		shared = l
	}

	scans := make([]*repoScan, 0, len(repos))
	for _, repo := range repos {
		s, err := newRepoScan(ctx, repo, shared, o.workers)
		if err != nil {
			return nil, err
		}
		s.labelSources = !o.noLabelSources
		s.spots, s.spotLabel = o.spots, o.spotLabel
		s.noChains = o.noChains && o.noLabelSources
		inv.Diagnostics = append(inv.Diagnostics, s.diags...)
		if s.layout == nil {
			continue
		}
		inv.Layouts[repo] = s.layout
		scans = append(scans, s)
	}

	// First pass: blueprints, member files and every label file the layout
	// lists, all in one pool.
	var jobs []parseJob
	for _, s := range scans {
		jobs = append(jobs, s.firstJobs()...)
	}
	if err := runJobs(ctx, jobs, o.workers, func(j parseJob) { j.scan.take(j.file) }); err != nil {
		return nil, err
	}
	for _, s := range scans {
		s.ahead = nil
	}
	// Second pass: hierarchy files outside the label globs.
	jobs = jobs[:0]
	for _, s := range scans {
		jobs = append(jobs, s.hierarchyJobs()...)
	}
	if err := runJobs(ctx, jobs, o.workers, nil); err != nil {
		return nil, err
	}
	for _, s := range scans {
		if s.spotLabel != "" {
			if inv.listed == nil {
				inv.listed = map[string]map[string]bool{}
			}
			inv.listed[s.root] = s.files
		}
		for rel, pf := range s.parsed {
			if pf.spots != nil {
				if inv.spots == nil {
					inv.spots = map[repoFile]*fileSpots{}
				}
				inv.spots[repoFile{s.root, rel}] = pf.spots
				pf.spots = nil
			}
		}
	}
	for _, s := range scans {
		s.resolveLabels()
		s.checkFinds()
		inv.Diagnostics = append(inv.Diagnostics, s.diags...)
	}
	inv.Clusters = allClusters(scans)
	slices.SortStableFunc(inv.Clusters, func(a, b Cluster) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Repo, b.Repo), cmp.Compare(a.File, b.File))
	})
	inv.Diagnostics = append(inv.Diagnostics, duplicateClusters(inv.Clusters)...)
	inv.Diagnostics = sortDiagnostics(inv.Diagnostics)
	return inv, nil
}

// allClusters returns the clusters of every scan, nil when there are none:
// the one scan's own (the clusters of 100,000 are 37 MB: not copied), or
// all of them in a list of their own.
func allClusters(scans []*repoScan) []Cluster {
	if len(scans) == 1 && len(scans[0].clusters) > 0 {
		return scans[0].clusters
	}
	n := 0
	for _, s := range scans {
		n += len(s.clusters)
	}
	if n == 0 {
		return nil
	}
	all := make([]Cluster, 0, n)
	for _, s := range scans {
		all = append(all, s.clusters...)
	}
	return all
}

// joinRepo returns the path a person opens for a repository-relative file.
func joinRepo(repo, rel string) string {
	return filepath.Join(repo, filepath.FromSlash(rel))
}

// repoScan is the state of one repository while it is loaded.
type repoScan struct {
	root   string
	layout *Layout
	files  map[string]bool   // every regular file, repository-relative
	ahead  map[string][]byte // the files the walk read, until the first pass
	parsed map[string]*parsedFile
	diags  Diagnostics

	clusters []Cluster
	// clusterFiles counts the files of the first pass that may declare
	// clusters, and took those of them that take gathered.
	clusterFiles, took int
	// labelSources records in each cluster's Sources the file and line of
	// each effective label.
	labelSources bool
	// spots records where each cluster's version sits in its file.
	spots bool
	// spotLabel, when set, records where the values of this label sit in
	// the label files.
	spotLabel string
	// noChains keeps each cluster's chainFiles instead of its LabelChain.
	noChains bool
	// levelFound says, by level of the label hierarchy, whether the level
	// names an existing file for some cluster.
	levelFound []bool
	sourceKeys map[string]string // label key -> "labels.KEY"
}

// labelSource returns the key of Sources for label key, making each once.
func (s *repoScan) labelSource(key string) string {
	k, ok := s.sourceKeys[key]
	if !ok {
		if s.sourceKeys == nil {
			s.sourceKeys = map[string]string{}
		}
		k = "labels." + key
		s.sourceKeys[key] = k
	}
	return k
}

// chainLabels holds the effective labels of each chain of label files,
// made once and shared by the clusters whose chains load the same files:
// most clusters of a tenant and environment have no file of their own.
type chainLabels map[string]map[string]string

// of returns the effective labels of chain, whose levels hold the labels of
// the files they load: each level's labels over the more general ones', an
// explicit null removing the inherited value.
func (m chainLabels) of(chain []LabelLevel) map[string]string {
	var key strings.Builder
	for _, lv := range chain {
		if len(lv.Labels) > 0 {
			key.WriteString(lv.Path)
			key.WriteByte(0)
		}
	}
	if labels, ok := m[key.String()]; ok {
		return labels
	}
	levels := make([][]Label, len(chain))
	for i, lv := range chain {
		levels[i] = lv.Labels
	}
	labels := mergeLabels(levels)
	m[key.String()] = labels
	return labels
}

// effectiveLabels returns the effective labels of the files of a chain.
func effectiveLabels(files []*parsedFile) map[string]string {
	levels := make([][]Label, len(files))
	for i, pf := range files {
		levels[i] = pf.labels
	}
	return mergeLabels(levels)
}

// mergeLabels returns the effective labels of the levels of a chain, from
// the most general: each level's labels over the more general ones', an
// explicit null removing the inherited value.
func mergeLabels(levels [][]Label) map[string]string {
	labels := map[string]string{}
	for _, level := range levels {
		for _, lab := range level {
			if lab.Null {
				delete(labels, lab.Key)
				continue
			}
			labels[lab.Key] = lab.Value
		}
	}
	return labels
}

// recordLabelSources records in c's Sources the file, line and column of
// each of its effective labels.
func (s *repoScan) recordLabelSources(c *Cluster) {
	for _, lv := range c.LabelChain {
		for _, lab := range lv.Labels {
			if lab.Null {
				c.Sources.Delete(s.labelSource(lab.Key))
				continue
			}
			c.Sources.Set(s.labelSource(lab.Key), Source{Repo: s.root, File: lv.Path, Line: lab.Line, Column: lab.column})
		}
	}
}

func newRepoScan(ctx context.Context, root string, shared *Layout, workers int) (*repoScan, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("repository: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("repository %s is not a directory", root)
	}
	s := &repoScan{root: root, layout: shared, parsed: map[string]*parsedFile{}}
	if s.layout == nil {
		l, err := ReadLayout(filepath.Join(root, LayoutFile))
		var ds Diagnostics
		switch {
		case errors.As(err, &ds):
			s.diags = ds
			return s, nil
		case errors.Is(err, fs.ErrNotExist):
			s.layout = DefaultLayout()
		case err != nil:
			return nil, err
		default:
			s.layout = l
		}
	}
	// The label files are read as the walk lists them: a fleet has one
	// in each of thousands of deep directories.
	var labels func(string) bool
	if l := s.layout.Labels; l != nil {
		labels = l.globs.match
	}
	files, ahead, err := walkFiles(ctx, root, workers, labels)
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}
	s.files, s.ahead = files, ahead
	return s, nil
}

// firstJobs lists the files whose role the layout's globs decide.
func (s *repoScan) firstJobs() []parseJob {
	l := s.layout
	paths := slices.Sorted(maps.Keys(s.files))
	var jobs []parseJob
	for _, rel := range paths {
		var roles fileRole
		if l.Blueprints != nil && l.Blueprints.globs.match(rel) {
			roles |= roleBlueprint
		}
		if l.Members != nil && l.Members.globs.match(rel) {
			roles |= roleMember
		}
		if l.Labels != nil && l.Labels.globs.match(rel) {
			roles |= roleLabels
		}
		if roles == 0 {
			continue
		}
		pf := &parsedFile{rel: rel, roles: roles}
		s.parsed[rel] = pf
		jobs = append(jobs, parseJob{scan: s, file: pf})
		if roles&(roleBlueprint|roleMember) != 0 {
			s.clusterFiles++
		}
	}
	return jobs
}

// take gathers the clusters and diagnostics of a file of the first pass,
// called in file order as the files are parsed: the clusters of a file are
// not held in it and in the scan's list at once (on 100,000 clusters each
// list is 41 MB). The list is made room for once, for as many clusters a
// file as the files so far hold, and grows by that estimate if need be.
// chain returns the cluster's label chain: its LabelChain, or, when Load
// kept its chainFiles instead, the chain made from them and the layout's
// label hierarchy (the paths of the files that do not exist rendered
// anew), in buf's room.
func (c *Cluster) chain(l *Layout, buf []LabelLevel) []LabelLevel {
	if c.files == nil || l == nil || l.Labels == nil {
		return c.LabelChain
	}
	out := buf[:0]
	for j, t := range l.Labels.templates {
		lv := LabelLevel{Template: t.text, Shared: t.shared()}
		if i := slices.Index(c.files.levels, j); i >= 0 {
			pf := c.files.files[i]
			lv.Path, lv.Exists, lv.Labels = pf.rel, true, pf.labels
		} else {
			lv.Path, _ = t.render(c) // labels use tenant, env and cluster: always set
		}
		out = append(out, lv)
	}
	return out
}

func (s *repoScan) take(pf *parsedFile) {
	s.diags = append(s.diags, pf.diags...)
	if pf.roles&(roleBlueprint|roleMember) != 0 {
		s.took++
	}
	if n := len(s.clusters) + len(pf.clusters); n > cap(s.clusters) {
		estimate := n * s.clusterFiles / s.took
		s.clusters = slices.Grow(s.clusters, max(n, estimate)-len(s.clusters))
	}
	s.clusters = append(s.clusters, pf.clusters...)
	pf.clusters, pf.diags = nil, nil
}

// hierarchyJobs lists the existing hierarchy files of the clusters that the
// first pass did not parse as label files.
func (s *repoScan) hierarchyJobs() []parseJob {
	lb := s.layout.Labels
	if lb == nil {
		return nil
	}
	s.levelFound = make([]bool, len(lb.templates))
	var (
		jobs   []parseJob
		shared = map[string]*chainFiles{} // by the files' paths, NUL-separated
		key    []byte
		path   []byte // a level's path, rendered
		cf     chainFiles
	)
	for i := range s.clusters {
		c := &s.clusters[i]
		if !s.noChains {
			c.LabelChain = make([]LabelLevel, len(lb.templates))
		}
		key, cf = key[:0], chainFiles{levels: cf.levels[:0], files: cf.files[:0]}
		for j, t := range lb.templates {
			path, _ = t.appendRender(path[:0], c) // labels use tenant, env and cluster: always set
			exists := s.files[string(path)]
			if !s.noChains && !exists {
				c.LabelChain[j] = LabelLevel{Template: t.text, Path: string(path), Shared: t.shared()}
			}
			if !exists {
				continue
			}
			s.levelFound[j] = true
			pf, ok := s.parsed[string(path)]
			if !ok {
				pf = &parsedFile{rel: string(path)}
				s.parsed[pf.rel] = pf
			}
			if s.noChains {
				cf.levels, cf.files = append(cf.levels, j), append(cf.files, pf)
				key = append(append(key, pf.rel...), 0)
			} else {
				// The clusters that share a file share its path's bytes.
				c.LabelChain[j] = LabelLevel{Template: t.text, Path: pf.rel, Exists: true, Shared: t.shared()}
			}
			if pf.roles&roleLabels != 0 {
				continue
			}
			pf.roles |= roleLabels
			jobs = append(jobs, parseJob{scan: s, file: pf, labelsOnly: true})
		}
		if s.noChains {
			if c.files = shared[string(key)]; c.files == nil {
				c.files = &chainFiles{levels: slices.Clone(cf.levels), files: slices.Clone(cf.files)}
				shared[string(key)] = c.files
			}
		}
	}
	return jobs
}

// resolveLabels builds each cluster's label chain, effective labels and
// owners, then reports label files no cluster loads and tenants without
// owners.
func (s *repoScan) resolveLabels() {
	lb := s.layout.Labels
	loaded := map[string]bool{}
	// Files parsed in the second pass bring their own diagnostics.
	for _, rel := range slices.Sorted(maps.Keys(s.parsed)) {
		s.diags = append(s.diags, s.parsed[rel].diags...)
	}
	noOwners := map[string]bool{}
	effective := chainLabels{}
	for i := range s.clusters {
		c := &s.clusters[i]
		if o, ok := s.layout.Owners[c.Tenant]; ok {
			c.Owners = o.List()
		} else {
			c.Owners = []string{}
			if len(s.layout.Owners) > 0 && !noOwners[c.Tenant] {
				noOwners[c.Tenant] = true
				src := c.Sources.Get("tenant")
				s.diags = append(s.diags, Diagnostic{
					Severity: SeverityWarning, File: joinRepo(s.root, src.File), Line: src.Line,
					Message: fmt.Sprintf("tenant %s has no owners in %s: only fleet admins can approve its changes", c.Tenant, s.layoutName()),
				})
			}
		}
		if lb == nil {
			c.Labels = map[string]string{}
			continue
		}
		if cf := c.files; cf != nil {
			if cf.labels == nil {
				for _, pf := range cf.files {
					loaded[pf.rel] = true
				}
				cf.labels = effectiveLabels(cf.files)
			}
			c.Labels = cf.labels
			continue
		}
		for j := range c.LabelChain {
			lvl := &c.LabelChain[j]
			if pf := s.parsed[lvl.Path]; lvl.Exists && pf != nil {
				loaded[lvl.Path] = true
				lvl.Labels = pf.labels
			}
		}
		c.Labels = effective.of(c.LabelChain)
		if s.labelSources {
			s.recordLabelSources(c)
		}
	}
	if lb == nil {
		return
	}
	for _, rel := range slices.Sorted(maps.Keys(s.parsed)) {
		pf := s.parsed[rel]
		if pf.roles&roleLabels == 0 || loaded[rel] || !lb.globs.match(rel) {
			continue
		}
		s.diags = append(s.diags, Diagnostic{
			Severity: SeverityWarning, File: joinRepo(s.root, rel), Line: pf.labelsLine,
			Message: "no label hierarchy path loads this file for any cluster: its labels have no effect",
		})
	}
}

func (s *repoScan) layoutName() string {
	if s.layout.File != "" {
		return s.layout.File
	}
	return LayoutFile
}

// duplicateClusters reports every place a cluster name is declared more
// than once, naming the other places. cs is sorted by name: the clusters of
// one name are side by side.
func duplicateClusters(cs []Cluster) Diagnostics {
	var ds Diagnostics
	for i := 0; i < len(cs); {
		j := i + 1
		for j < len(cs) && cs[j].Name == cs[i].Name {
			j++
		}
		group := cs[i:j]
		i = j
		if len(group) < 2 {
			continue
		}
		for k := range group {
			c := &group[k]
			var others []string
			for l := range group {
				if l != k {
					others = append(others, group[l].Sources.Get("name").String())
				}
			}
			src := c.Sources.Get("name")
			ds = append(ds, Diagnostic{
				Severity: SeverityError, File: joinRepo(c.Repo, src.File), Line: src.Line,
				Message: fmt.Sprintf("cluster %s is declared more than once: also at %s", c.Name, strings.Join(others, ", ")),
			})
		}
	}
	return ds
}
