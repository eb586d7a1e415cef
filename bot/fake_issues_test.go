package bot

import (
	"context"
	"fmt"
	"slices"

	"github.com/fleetbot/fleetbot/bot/gh"
)

// fakeIssueBase is the first number of the fake's plain issues, far from
// its pull requests' numbers.
const fakeIssueBase = 1000

// fakeIssues are the plain issues of the fake repository, and how often
// each issue call was made. fail, when set, answers the next call of its
// name with its error.
type fakeIssues struct {
	list  []gh.Issue
	last  int // the number of the last issue opened
	calls map[string]int
	fail  map[string]error
}

// call counts one call of name and returns the error it should fail with.
func (f *fakeAPI) call(name string) error {
	if f.issues.calls == nil {
		f.issues.calls = map[string]int{}
	}
	f.issues.calls[name]++
	err := f.issues.fail[name]
	delete(f.issues.fail, name)
	return err
}

func (f *fakeAPI) Issues(_ context.Context, _, _ string, flt gh.IssueFilter) ([]gh.Issue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Issues"); err != nil {
		return nil, err
	}
	if flt.State != "all" {
		return nil, fmt.Errorf("the fake lists issues in every state only, not %q", flt.State)
	}
	return slices.Clone(f.issues.list), nil
}

func (f *fakeAPI) Issue(_ context.Context, _, _ string, number int) (gh.Issue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Issue"); err != nil {
		return gh.Issue{}, err
	}
	if is, ok := f.issue(number); ok {
		return *is, nil
	}
	for _, p := range f.prs {
		if p.Number == number {
			return gh.Issue{Number: number, State: p.State, Title: p.Title, Body: p.Body, User: p.User, PullRequest: true}, nil
		}
	}
	return gh.Issue{}, fmt.Errorf("issue #%d: %w", number, gh.ErrNotFound)
}

func (f *fakeAPI) CreateIssue(_ context.Context, _, _ string, n gh.NewIssue) (gh.Issue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateIssue"); err != nil {
		return gh.Issue{}, err
	}
	is := gh.Issue{Number: f.nextIssue(), State: "open", Title: n.Title, Body: n.Body, User: "fleetbot[bot]", Labels: n.Labels}
	f.issues.list = append(f.issues.list, is)
	return is, nil
}

func (f *fakeAPI) EditIssue(_ context.Context, _, _ string, number int, e gh.IssueEdit) (gh.Issue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("EditIssue"); err != nil {
		return gh.Issue{}, err
	}
	is, ok := f.issue(number)
	if !ok {
		return gh.Issue{}, fmt.Errorf("issue #%d: %w", number, gh.ErrNotFound)
	}
	if e.Title != nil {
		is.Title = *e.Title
	}
	if e.Body != nil {
		is.Body = *e.Body
	}
	if e.State != nil {
		is.State = *e.State
		if e.StateReason != nil {
			is.StateReason = *e.StateReason
		}
	}
	return *is, nil
}

// issue returns plain issue number; f.mu is held.
func (f *fakeAPI) issue(number int) (*gh.Issue, bool) {
	for i := range f.issues.list {
		if f.issues.list[i].Number == number {
			return &f.issues.list[i], true
		}
	}
	return nil, false
}

// issueCalls returns how often the issue call name was made.
func (f *fakeAPI) issueCalls(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issues.calls[name]
}

// failNext makes the next issue call name fail with err.
func (f *fakeAPI) failNext(name string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.issues.fail == nil {
		f.issues.fail = map[string]error{}
	}
	f.issues.fail[name] = err
}

// dashboards returns the fake's plain issues.
func (f *fakeAPI) dashboards() []gh.Issue {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.issues.list)
}

// reactionsTo returns the reactions on a comment.
func (f *fakeAPI) reactionsTo(commentID int64) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reactions[commentID])
}

// addIssue puts a plain issue in the fake repository, as a person opened it.
func (f *fakeAPI) addIssue(user, body string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.nextIssue()
	f.issues.list = append(f.issues.list, gh.Issue{Number: n, State: "open", Title: "an issue", Body: body, User: user})
	return n
}

// nextIssue numbers a new plain issue; f.mu is held.
func (f *fakeAPI) nextIssue() int {
	if f.issues.last == 0 {
		f.issues.last = fakeIssueBase
	}
	f.issues.last++
	return f.issues.last
}
