package gitops

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// checkFinds reports a repository in which the layout finds nothing: no
// cluster at all (an error: a plan over it could only be empty), and, for a
// layout file, each path pattern that matches no file and each hierarchy
// level that no cluster has a file for (warnings: often a typo in the
// layout, but a fleet may grow into them).
func (s *repoScan) checkFinds() {
	l := s.layout
	if l.File == "" {
		if len(s.clusters) == 0 && len(s.diags.Errors()) == 0 {
			s.diags = append(s.diags, Diagnostic{
				Severity: SeverityError, File: s.root,
				Message: fmt.Sprintf("no layout file (%s) and no tenant blueprint declaring a cluster (a YAML file with tenant, env and services.eks.config): is this the fleet repository? Add a layout file (docs/layout.md) or pass --layout", LayoutFile),
			})
		}
		return
	}
	warn := func(field, format string, args ...any) {
		s.diags = append(s.diags, Diagnostic{
			Severity: SeverityWarning, File: l.File, Line: l.lines[field],
			Message: field + ": " + fmt.Sprintf(format, args...),
		})
	}
	type patterns struct {
		field string
		pats  []string
		globs globs
	}
	var lists []patterns
	if b := l.Blueprints; b != nil {
		lists = append(lists, patterns{"blueprints.paths", b.Paths, b.globs})
	}
	if m := l.Members; m != nil {
		lists = append(lists, patterns{"members.paths", m.Paths, m.globs})
	}
	if lb := l.Labels; lb != nil {
		lists = append(lists, patterns{"labels.files", lb.Files, lb.globs})
	}
	noLabelFiles := false
	for _, list := range lists {
		for i, g := range list.globs {
			if !s.anyFile(g) {
				warn(fmt.Sprintf("%s[%d]", list.field, i), "%q matches no file in %s", list.pats[i], s.root)
				noLabelFiles = noLabelFiles || list.field == "labels.files"
			}
		}
	}
	if len(s.clusters) == 0 {
		if len(s.diags.Errors()) == 0 {
			s.diags = append(s.diags, Diagnostic{
				Severity: SeverityError, File: l.File,
				Message: fmt.Sprintf("the layout finds no cluster in %s: no file its blueprints or members paths match declares one", s.root),
			})
		}
		return
	}
	for _, name := range slices.Sorted(maps.Keys(l.Hierarchies)) {
		for i, t := range l.Hierarchies[name].templates {
			if !t.uses(fieldCluster) && !s.anyRendered(t) {
				warn(fmt.Sprintf("hierarchies.%s.paths[%d]", name, i), "%q names no existing file for any cluster of %s", t.text, s.root)
			}
		}
	}
	lb := l.Labels
	if lb == nil || noLabelFiles {
		return // said above: one warning is enough
	}
	for i, t := range lb.templates {
		if strings.Contains(t.text, "{cluster}") {
			continue // cluster-level files are created by label campaigns
		}
		if !s.levelFound[i] {
			warn(fmt.Sprintf("labels.hierarchy[%d]", i), "%q names no existing file for any cluster of %s", t.text, s.root)
		}
	}
}

// anyRendered reports whether t names an existing file for some cluster.
func (s *repoScan) anyRendered(t template) bool {
	for i := range s.clusters {
		if p, ok := t.render(&s.clusters[i]); ok && s.files[p] {
			return true
		}
	}
	return false
}

// anyFile reports whether g matches a file of the repository.
func (s *repoScan) anyFile(g glob) bool {
	for rel := range s.files {
		if g.match(rel) {
			return true
		}
	}
	return false
}
