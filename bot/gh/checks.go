package gh

import (
	"context"
	"fmt"

	"github.com/google/go-github/v88/github"
)

// CheckRuns lists the check runs on a commit, every page.
// https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference
func (c *Client) CheckRuns(ctx context.Context, owner, repo, ref string) ([]CheckRun, error) {
	list, err := collect(fmt.Sprintf("list check runs of %s in %s", ref, repoPath(owner, repo)), func(o github.ListOptions) ([]*github.CheckRun, *github.Response, error) {
		res, resp, err := c.gh.Checks.ListCheckRunsForRef(ctx, owner, repo, ref, &github.ListCheckRunsOptions{ListOptions: o})
		if err != nil {
			return nil, resp, err
		}
		return res.CheckRuns, resp, nil
	})
	if err != nil {
		return nil, err
	}
	return convert(list, checkRun), nil
}

func checkRun(r *github.CheckRun) CheckRun {
	return CheckRun{
		ID:         r.GetID(),
		Name:       r.GetName(),
		HeadSHA:    r.GetHeadSHA(),
		Status:     r.GetStatus(),
		Conclusion: r.GetConclusion(),
		DetailsURL: r.GetDetailsURL(),
		Title:      r.GetOutput().GetTitle(),
		Summary:    r.GetOutput().GetSummary(),
	}
}

// checkOutput is a check run's output. GitHub requires a title and a
// summary once output is sent, so a missing title is the run's name.
type checkOutput struct {
	Title       string            `json:"title"`
	Summary     string            `json:"summary"`
	Text        string            `json:"text,omitempty"`
	Annotations []checkAnnotation `json:"annotations,omitempty"`
}

// checkAnnotation is one annotation as GitHub's API spells it.
type checkAnnotation struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	AnnotationLevel string `json:"annotation_level"`
	Title           string `json:"title,omitempty"`
	Message         string `json:"message"`
}

// MaxAnnotations is how many annotations GitHub takes in one request.
const MaxAnnotations = 50

func output(c NewCheckRun, name string) *checkOutput {
	if c.Title == "" && c.Summary == "" && c.Text == "" && len(c.Annotations) == 0 {
		return nil
	}
	title := c.Title
	if title == "" {
		title = name
	}
	out := &checkOutput{Title: title, Summary: c.Summary, Text: c.Text}
	for _, a := range c.Annotations {
		end := max(a.EndLine, a.StartLine)
		out.Annotations = append(out.Annotations, checkAnnotation{Path: a.Path, StartLine: a.StartLine, EndLine: end,
			AnnotationLevel: a.Level, Title: a.Title, Message: a.Message})
	}
	return out
}

// CreateCheckRun creates a check run.
// https://docs.github.com/rest/checks/runs#create-a-check-run
func (c *Client) CreateCheckRun(ctx context.Context, owner, repo string, nc NewCheckRun) (CheckRun, error) {
	opts := github.CreateCheckRunOptions{
		Name:       nc.Name,
		HeadSHA:    nc.HeadSHA,
		DetailsURL: optional(nc.DetailsURL),
		Status:     optional(nc.Status),
		Conclusion: optional(nc.Conclusion),
	}
	if len(nc.Annotations) > MaxAnnotations {
		return CheckRun{}, fmt.Errorf("create check run %q on %s in %s: %d annotations, GitHub takes %d at a time", nc.Name, nc.HeadSHA, repoPath(owner, repo), len(nc.Annotations), MaxAnnotations)
	}
	if out := output(nc, nc.Name); out != nil {
		opts.Output = &github.CheckRunOutput{Title: &out.Title, Summary: &out.Summary, Text: optional(out.Text)}
		for _, a := range out.Annotations {
			opts.Output.Annotations = append(opts.Output.Annotations, &github.CheckRunAnnotation{
				Path: github.Ptr(a.Path), StartLine: github.Ptr(a.StartLine), EndLine: github.Ptr(a.EndLine),
				AnnotationLevel: github.Ptr(a.AnnotationLevel), Title: optional(a.Title), Message: github.Ptr(a.Message),
			})
		}
	}
	r, _, err := c.gh.Checks.CreateCheckRun(ctx, owner, repo, opts)
	if err != nil {
		return CheckRun{}, mapError(fmt.Sprintf("create check run %q on %s in %s", nc.Name, nc.HeadSHA, repoPath(owner, repo)), err)
	}
	return checkRun(r), nil
}

// UpdateCheckRun updates the fields of c that are set (HeadSHA cannot change).
// It builds its own body because go-github always sends "name", even empty.
// https://docs.github.com/rest/checks/runs#update-a-check-run
func (c *Client) UpdateCheckRun(ctx context.Context, owner, repo string, id int64, nc NewCheckRun) (CheckRun, error) {
	op := fmt.Sprintf("update check run %d in %s", id, repoPath(owner, repo))
	body := struct {
		Name       string       `json:"name,omitempty"`
		DetailsURL string       `json:"details_url,omitempty"`
		Status     string       `json:"status,omitempty"`
		Conclusion string       `json:"conclusion,omitempty"`
		Output     *checkOutput `json:"output,omitempty"`
	}{nc.Name, nc.DetailsURL, nc.Status, nc.Conclusion, nil}
	body.Output = output(nc, nc.Name)
	if body.Output != nil && body.Output.Title == "" {
		return CheckRun{}, fmt.Errorf("%s: output needs a title (or a name to use as one)", op)
	}
	if len(nc.Annotations) > MaxAnnotations {
		return CheckRun{}, fmt.Errorf("%s: %d annotations, GitHub takes %d at a time", op, len(nc.Annotations), MaxAnnotations)
	}
	req, err := c.gh.NewRequest(ctx, "PATCH", fmt.Sprintf("repos/%s/%s/check-runs/%d", esc(owner), esc(repo), id), body)
	if err != nil {
		return CheckRun{}, fmt.Errorf("%s: %w", op, err)
	}
	var r github.CheckRun
	if _, err := c.gh.Do(req, &r); err != nil {
		return CheckRun{}, mapError(op, err)
	}
	return checkRun(&r), nil
}

// Statuses lists the commit statuses on a commit, newest first, every page.
// https://docs.github.com/rest/commits/statuses#list-commit-statuses-for-a-reference
func (c *Client) Statuses(ctx context.Context, owner, repo, ref string) ([]Status, error) {
	list, err := collect(fmt.Sprintf("list statuses of %s in %s", ref, repoPath(owner, repo)), func(o github.ListOptions) ([]*github.RepoStatus, *github.Response, error) {
		return c.gh.Repositories.ListStatuses(ctx, owner, repo, ref, &o)
	})
	if err != nil {
		return nil, err
	}
	return convert(list, status), nil
}

func status(s *github.RepoStatus) Status {
	return Status{
		Context:     s.GetContext(),
		State:       s.GetState(),
		Description: s.GetDescription(),
		TargetURL:   s.GetTargetURL(),
		CreatedAt:   s.GetCreatedAt().Time,
	}
}
