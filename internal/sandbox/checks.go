package sandbox

import (
	"net/http"
	"slices"
	"sort"
	"time"
)

func (s *Server) checkRoutes() {
	s.handle("POST /repos/{owner}/{repo}/check-runs", accessUser, s.createCheckRun)
	s.handle("PATCH /repos/{owner}/{repo}/check-runs/{id}", accessUser, s.updateCheckRun)
	s.handle("GET /repos/{owner}/{repo}/check-runs/{id}", accessUser, s.getCheckRun)
	s.handle("GET /repos/{owner}/{repo}/check-runs/{id}/annotations", accessUser, s.listAnnotations)
	s.handle("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", accessUser, s.listCheckRuns)
	s.handle("GET /repos/{owner}/{repo}/commits/{ref}/check-suites", accessUser, s.listCheckSuites)
	s.handle("POST /repos/{owner}/{repo}/statuses/{sha}", accessUser, s.createStatus)
	s.handle("GET /repos/{owner}/{repo}/commits/{ref}/statuses", accessUser, s.listStatuses)
	s.handle("GET /repos/{owner}/{repo}/commits/{ref}/status", accessUser, s.combinedStatus)
}

var (
	checkStatuses    = []string{"queued", "in_progress", "completed", "waiting", "requested", "pending"}
	checkConclusions = []string{"action_required", "cancelled", "timed_out", "failure", "neutral", "skipped", "stale", "success"}
)

// checkRunIn is the body of POST and PATCH check-runs; nil fields are left
// alone on PATCH.
type checkRunIn struct {
	Name        *string `json:"name"`
	HeadSHA     string  `json:"head_sha"`
	DetailsURL  *string `json:"details_url"`
	ExternalID  *string `json:"external_id"`
	Status      *string `json:"status"`
	Conclusion  *string `json:"conclusion"`
	StartedAt   *string `json:"started_at"`
	CompletedAt *string `json:"completed_at"`
	Output      *struct {
		Title       string `json:"title"`
		Summary     string `json:"summary"`
		Text        string `json:"text"`
		Annotations []struct {
			Path      string `json:"path"`
			StartLine int    `json:"start_line"`
			EndLine   int    `json:"end_line"`
			Level     string `json:"annotation_level"`
			Title     string `json:"title"`
			Message   string `json:"message"`
		} `json:"annotations"`
	} `json:"output"`
}

var annotationLevels = []string{"notice", "warning", "failure"}

// maxAnnotations is how many annotations one request may add.
const maxAnnotations = 50

// apply copies the set fields of in to cr, checking values as GitHub does.
func (in *checkRunIn) apply(cr *checkRun, now time.Time) error {
	parseTime := func(field string, v *string) (*time.Time, error) {
		t, err := time.Parse(time.RFC3339, *v)
		if err != nil {
			return nil, invalid("CheckRun", field, "invalid", field+" must be ISO 8601")
		}
		return &t, nil
	}
	if in.Name != nil {
		cr.Name = *in.Name
	}
	if in.DetailsURL != nil {
		cr.DetailsURL = *in.DetailsURL
	}
	if in.ExternalID != nil {
		cr.ExternalID = *in.ExternalID
	}
	if in.StartedAt != nil {
		t, err := parseTime("started_at", in.StartedAt)
		if err != nil {
			return err
		}
		cr.StartedAt = t
	}
	if in.Status != nil {
		if !slices.Contains(checkStatuses, *in.Status) {
			return invalid("CheckRun", "status", "invalid", "status is not included in the list")
		}
		cr.Status = *in.Status
	}
	if in.Conclusion != nil {
		if !slices.Contains(checkConclusions, *in.Conclusion) {
			return invalid("CheckRun", "conclusion", "invalid", "conclusion is not included in the list")
		}
		cr.Conclusion, cr.Status = *in.Conclusion, "completed"
	}
	if in.CompletedAt != nil {
		t, err := parseTime("completed_at", in.CompletedAt)
		if err != nil {
			return err
		}
		cr.CompletedAt = t
	}
	if in.Output != nil {
		switch {
		case in.Output.Title == "":
			return invalid("CheckRun", "output.title", "missing_field", "")
		case in.Output.Summary == "":
			return invalid("CheckRun", "output.summary", "missing_field", "")
		case len(in.Output.Annotations) > maxAnnotations:
			return invalid("CheckRun", "output.annotations", "invalid", "Only 50 annotations are allowed per request")
		}
		added := make([]annotation, 0, len(in.Output.Annotations))
		for _, a := range in.Output.Annotations {
			switch {
			case a.Path == "" || a.Message == "":
				return invalid("CheckRun", "output.annotations", "missing_field", "an annotation needs a path and a message")
			case a.StartLine < 1 || a.EndLine < a.StartLine:
				return invalid("CheckRun", "output.annotations", "invalid", "start_line must be at least 1 and end_line at least start_line")
			case !slices.Contains(annotationLevels, a.Level):
				return invalid("CheckRun", "output.annotations", "invalid", "annotation_level is not included in the list")
			}
			added = append(added, annotation{Path: a.Path, StartLine: a.StartLine, EndLine: a.EndLine, Level: a.Level, Title: a.Title, Message: a.Message})
		}
		cr.Title, cr.Summary, cr.Text = in.Output.Title, in.Output.Summary, in.Output.Text
		cr.Annotations = append(slices.Clip(cr.Annotations), added...)
	}
	if cr.Status == "completed" {
		if cr.Conclusion == "" {
			return invalid("CheckRun", "conclusion", "missing_field", "conclusion is required when status is completed")
		}
		if cr.CompletedAt == nil {
			cr.CompletedAt = &now
		}
	}
	if cr.StartedAt == nil {
		cr.StartedAt = &now
	}
	return nil
}

func (s *Server) checkRunJSON(c *call, cr *checkRun) obj {
	u := s.api("/repos/%s/check-runs/%d", c.rs.fullName(), cr.ID)
	return obj{
		"id": cr.ID, "node_id": nodeID("CheckRun", cr.ID), "head_sha": cr.HeadSHA, "name": cr.Name,
		"external_id": cr.ExternalID, "url": u, "html_url": s.api("/%s/runs/%d", c.rs.fullName(), cr.ID),
		"details_url": nullable(cr.DetailsURL), "status": cr.Status, "conclusion": nullable(cr.Conclusion),
		"started_at": tsPtr(cr.StartedAt), "completed_at": tsPtr(cr.CompletedAt),
		"output": obj{"title": nullable(cr.Title), "summary": nullable(cr.Summary), "text": nullable(cr.Text),
			"annotations_count": len(cr.Annotations), "annotations_url": u + "/annotations"},
		"check_suite": obj{"id": cr.SuiteID}, "app": s.appJSON(), "pull_requests": s.pullsAt(c, cr.HeadSHA),
	}
}

// pullsAt lists, as pull-request-minimal, the open pull requests whose head
// is sha.
func (s *Server) pullsAt(c *call, sha string) []obj {
	out := []obj{}
	ctx := withRefs(c.ctx, c.repo)
	for _, is := range c.rs.Issues {
		if is.Pull == nil || is.State != "open" {
			continue
		}
		base, head := s.heads(ctx, c.repo, is)
		if head != sha {
			continue
		}
		repo := obj{"id": c.rs.ID, "url": s.api("/repos/%s", c.rs.fullName()), "name": c.rs.Name}
		out = append(out, obj{"id": is.Pull.ID, "number": is.Number, "url": s.api("/repos/%s/pulls/%d", c.rs.fullName(), is.Number),
			"head": obj{"ref": is.Pull.Head, "sha": head, "repo": repo},
			"base": obj{"ref": is.Pull.Base, "sha": base, "repo": repo}})
	}
	return out
}

// createCheckRun: POST /repos/{owner}/{repo}/check-runs (docs: checks/runs#create-a-check-run).
// Every check run belongs to the App, whoever posts it.
func (s *Server) createCheckRun(c *call) (int, any, error) {
	var in checkRunIn
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Name == nil || *in.Name == "" {
		return 0, nil, invalid("CheckRun", "name", "missing_field", "")
	}
	if typ, err := c.repo.ObjectType(c.ctx, in.HeadSHA); err != nil || typ != "commit" {
		return 0, nil, invalid("CheckRun", "head_sha", "invalid", "No commit found for SHA: "+in.HeadSHA)
	}
	cr := &checkRun{ID: s.st.newID(), HeadSHA: in.HeadSHA, Status: "queued"}
	for _, other := range c.rs.CheckRuns {
		if other.HeadSHA == in.HeadSHA {
			cr.SuiteID = other.SuiteID
			break
		}
	}
	if cr.SuiteID == 0 {
		cr.SuiteID = s.st.newID()
	}
	if err := in.apply(cr, s.now()); err != nil {
		return 0, nil, err
	}
	c.rs.CheckRuns = append(c.rs.CheckRuns, cr)
	o := s.checkRunJSON(c, cr)
	s.emit("check_run", "created", c.rs, c.who.login, obj{"check_run": o})
	if cr.Status == "completed" {
		s.checkRunCompleted(c, cr)
	}
	return http.StatusCreated, o, nil
}

// checkRunCompleted sends check_run completed and, when it was the suite's
// last run to finish, check_suite completed.
func (s *Server) checkRunCompleted(c *call, cr *checkRun) {
	s.emit("check_run", "completed", c.rs, c.who.login, obj{"check_run": s.checkRunJSON(c, cr)})
	suite := s.suiteJSON(c, cr.SuiteID)
	if suite["status"] == "completed" {
		s.emit("check_suite", "completed", c.rs, c.who.login, obj{"check_suite": suite})
	}
}

// checkRun returns the check run the route's {id} names.
func (c *call) checkRun() (*checkRun, error) {
	id, err := c.intParam("id")
	if err != nil {
		return nil, err
	}
	cr := c.rs.checkRun(id)
	if cr == nil {
		return nil, errNotFound
	}
	return cr, nil
}

// getCheckRun: GET /repos/{owner}/{repo}/check-runs/{check_run_id} (docs: checks/runs#get-a-check-run).
func (s *Server) getCheckRun(c *call) (int, any, error) {
	cr, err := c.checkRun()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.checkRunJSON(c, cr), nil
}

// listAnnotations: GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations (docs: checks/runs#list-check-run-annotations).
func (s *Server) listAnnotations(c *call) (int, any, error) {
	cr, err := c.checkRun()
	if err != nil {
		return 0, nil, err
	}
	ci, _ := c.repo.Commit(c.ctx, cr.HeadSHA)
	page := paginate(c, s.cfg.BaseURL, cr.Annotations)
	out := make([]obj, 0, len(page))
	for _, a := range page {
		out = append(out, obj{"path": a.Path, "start_line": a.StartLine, "end_line": a.EndLine,
			"start_column": nil, "end_column": nil, "annotation_level": a.Level,
			"title": nullable(a.Title), "message": a.Message, "raw_details": nil,
			"blob_href": s.api("/%s/blob/%s/%s", c.rs.fullName(), ci.SHA, a.Path)})
	}
	return http.StatusOK, out, nil
}

// updateCheckRun: PATCH /repos/{owner}/{repo}/check-runs/{check_run_id} (docs: checks/runs#update-a-check-run).
func (s *Server) updateCheckRun(c *call) (int, any, error) {
	cr, err := c.checkRun()
	if err != nil {
		return 0, nil, err
	}
	var in checkRunIn
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	was := cr.Status
	next := *cr
	if err := in.apply(&next, s.now()); err != nil {
		return 0, nil, err
	}
	*cr = next
	if cr.Status == "completed" && was != "completed" {
		s.checkRunCompleted(c, cr)
	}
	return http.StatusOK, s.checkRunJSON(c, cr), nil
}

// resolveRefParam resolves the route's {ref} to a commit SHA.
func (s *Server) resolveRefParam(c *call) (string, error) {
	return s.resolve(c, c.r.PathValue("ref"))
}

// listCheckRuns: GET .../commits/{ref}/check-runs (docs: checks/runs#list-check-runs-for-a-git-reference).
// filter=latest (the default) keeps the newest run of each name.
func (s *Server) listCheckRuns(c *call) (int, any, error) {
	sha, err := s.resolveRefParam(c)
	if err != nil {
		return 0, nil, err
	}
	q := c.r.URL.Query()
	name, all := q.Get("check_name"), q.Get("filter") == "all"
	var runs []*checkRun
	for i := len(c.rs.CheckRuns) - 1; i >= 0; i-- {
		cr := c.rs.CheckRuns[i]
		if cr.HeadSHA != sha || (name != "" && cr.Name != name) || (q.Get("status") != "" && cr.Status != q.Get("status")) {
			continue
		}
		if !all && slices.ContainsFunc(runs, func(o *checkRun) bool { return o.Name == cr.Name }) {
			continue
		}
		runs = append(runs, cr)
	}
	page := paginate(c, s.cfg.BaseURL, runs)
	out := make([]obj, 0, len(page))
	for _, cr := range page {
		out = append(out, s.checkRunJSON(c, cr))
	}
	return http.StatusOK, obj{"total_count": len(runs), "check_runs": out}, nil
}

// suiteJSON is the check-suite with id, derived from its runs.
func (s *Server) suiteJSON(c *call, id int64) obj {
	var runs []*checkRun
	for _, cr := range c.rs.CheckRuns {
		if cr.SuiteID == id {
			runs = append(runs, cr)
		}
	}
	status, conclusion := "completed", ""
	rank := len(checkConclusions)
	created, updated := s.now(), time.Time{}
	for _, cr := range runs {
		if cr.Status != "completed" {
			status = "in_progress"
		} else if i := slices.Index(checkConclusions, cr.Conclusion); i < rank {
			rank, conclusion = i, cr.Conclusion
		}
		if cr.StartedAt != nil && cr.StartedAt.Before(created) {
			created = *cr.StartedAt
		}
		if cr.CompletedAt != nil && cr.CompletedAt.After(updated) {
			updated = *cr.CompletedAt
		}
	}
	if updated.IsZero() {
		updated = created
	}
	if status != "completed" {
		conclusion = ""
	}
	sha := runs[0].HeadSHA
	var headCommit any
	if ci, err := c.repo.Commit(c.ctx, sha); err == nil {
		headCommit = obj{"id": ci.SHA, "tree_id": ci.Tree, "message": ci.Message, "timestamp": ts(ci.Committer.When),
			"author":    obj{"name": ci.Author.Name, "email": ci.Author.Email},
			"committer": obj{"name": ci.Committer.Name, "email": ci.Committer.Email}}
	}
	var branch any
	ctx := withRefs(c.ctx, c.repo)
	for _, is := range c.rs.Issues {
		if is.Pull != nil && is.State == "open" {
			if _, head := s.heads(ctx, c.repo, is); head == sha {
				branch = is.Pull.Head
			}
		}
	}
	u := s.api("/repos/%s/check-suites/%d", c.rs.fullName(), id)
	return obj{
		"id": id, "node_id": nodeID("CheckSuite", id), "head_branch": branch, "head_sha": sha,
		"status": status, "conclusion": nullable(conclusion), "url": u, "before": nil, "after": sha,
		"pull_requests": s.pullsAt(c, sha), "app": s.appJSON(), "repository": s.repoJSON(c.rs),
		"created_at": ts(created), "updated_at": ts(updated), "head_commit": headCommit,
		"latest_check_runs_count": len(runs), "check_runs_url": u + "/check-runs",
		"rerequestable": true, "runs_rerequestable": true,
	}
}

// listCheckSuites: GET .../commits/{ref}/check-suites (docs: checks/suites#list-check-suites-for-a-git-reference).
// The sandbox has one App, so a commit has at most one suite.
func (s *Server) listCheckSuites(c *call) (int, any, error) {
	sha, err := s.resolveRefParam(c)
	if err != nil {
		return 0, nil, err
	}
	var ids []int64
	for _, cr := range c.rs.CheckRuns {
		if cr.HeadSHA == sha && !slices.Contains(ids, cr.SuiteID) {
			ids = append(ids, cr.SuiteID)
		}
	}
	out := make([]obj, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.suiteJSON(c, id))
	}
	return http.StatusOK, obj{"total_count": len(out), "check_suites": out}, nil
}

var statusStates = []string{"error", "failure", "pending", "success"}

func (s *Server) statusJSON(c *call, st *commitStatus) obj {
	creator := s.userJSON(st.Creator)
	return obj{"url": s.api("/repos/%s/statuses/%s", c.rs.fullName(), st.SHA), "avatar_url": creator["avatar_url"],
		"id": st.ID, "node_id": nodeID("StatusContext", st.ID), "state": st.State,
		"description": nullable(st.Description), "target_url": nullable(st.TargetURL), "context": st.Context,
		"created_at": ts(st.CreatedAt), "updated_at": ts(st.CreatedAt), "creator": creator}
}

// createStatus: POST /repos/{owner}/{repo}/statuses/{sha} (docs: commits/statuses#create-a-commit-status).
func (s *Server) createStatus(c *call) (int, any, error) {
	sha := c.r.PathValue("sha")
	var in struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if !slices.Contains(statusStates, in.State) {
		return 0, nil, invalid("Status", "state", "custom", "state is not included in the list")
	}
	ci, err := c.repo.Commit(c.ctx, sha)
	if err != nil || ci.SHA != sha {
		return 0, nil, invalid("Status", "sha", "custom", "No commit found for SHA: "+sha)
	}
	if in.Context == "" {
		in.Context = "default"
	}
	st := &commitStatus{ID: s.st.newID(), SHA: sha, State: in.State, TargetURL: in.TargetURL,
		Description: in.Description, Context: in.Context, Creator: c.who.login, CreatedAt: s.now()}
	c.rs.Statuses = append(c.rs.Statuses, st)
	var branches []obj
	if refs, err := c.repo.Refs(c.ctx, "refs/heads/"); err == nil {
		for _, ref := range refs {
			if ref.SHA == sha {
				name := ref.Name[len("refs/heads/"):]
				branches = append(branches, obj{"name": name, "protected": c.rs.Protections[name] != nil,
					"commit": obj{"sha": sha, "url": s.api("/repos/%s/commits/%s", c.rs.fullName(), sha)}})
			}
		}
	}
	if branches == nil {
		branches = []obj{}
	}
	s.emit("status", "", c.rs, c.who.login, obj{
		"id": st.ID, "sha": sha, "name": c.rs.fullName(), "target_url": nullable(st.TargetURL),
		"context": st.Context, "description": nullable(st.Description), "state": st.State,
		"commit": s.commitJSON(c.rs, ci), "branches": branches,
		"created_at": ts(st.CreatedAt), "updated_at": ts(st.CreatedAt),
	})
	return http.StatusCreated, s.statusJSON(c, st), nil
}

// statusesAt returns the statuses of sha, newest first.
func statusesAt(rs *repoState, sha string) []*commitStatus {
	var out []*commitStatus
	for i := len(rs.Statuses) - 1; i >= 0; i-- {
		if rs.Statuses[i].SHA == sha {
			out = append(out, rs.Statuses[i])
		}
	}
	return out
}

// listStatuses: GET .../commits/{ref}/statuses (docs: commits/statuses#list-commit-statuses-for-a-reference).
func (s *Server) listStatuses(c *call) (int, any, error) {
	sha, err := s.resolveRefParam(c)
	if err != nil {
		return 0, nil, err
	}
	page := paginate(c, s.cfg.BaseURL, statusesAt(c.rs, sha))
	out := make([]obj, 0, len(page))
	for _, st := range page {
		out = append(out, s.statusJSON(c, st))
	}
	return http.StatusOK, out, nil
}

// combinedStatus: GET .../commits/{ref}/status (docs: commits/statuses#get-the-combined-status-for-a-specific-reference).
// failure if any context failed or errored, pending if any is pending or
// there is none, success otherwise.
func (s *Server) combinedStatus(c *call) (int, any, error) {
	sha, err := s.resolveRefParam(c)
	if err != nil {
		return 0, nil, err
	}
	var latest []*commitStatus
	for _, st := range statusesAt(c.rs, sha) {
		if !slices.ContainsFunc(latest, func(o *commitStatus) bool { return o.Context == st.Context }) {
			latest = append(latest, st)
		}
	}
	sort.SliceStable(latest, func(i, j int) bool { return latest[i].ID < latest[j].ID })
	state := "success"
	if len(latest) == 0 {
		state = "pending"
	}
	statuses := make([]obj, 0, len(latest))
	for _, st := range latest {
		switch {
		case st.State == "error" || st.State == "failure":
			state = "failure"
		case st.State == "pending" && state != "failure":
			state = "pending"
		}
		o := s.statusJSON(c, st)
		delete(o, "creator")
		statuses = append(statuses, o)
	}
	return http.StatusOK, obj{"state": state, "sha": sha, "total_count": len(latest), "statuses": statuses,
		"repository": s.repoJSON(c.rs), "commit_url": s.api("/repos/%s/commits/%s", c.rs.fullName(), sha),
		"url": s.api("/repos/%s/commits/%s/status", c.rs.fullName(), sha)}, nil
}
