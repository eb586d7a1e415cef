package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// stateFile is the name of the JSON file, under Config.Dir, that holds all
// state except the git objects.
const stateFile = "state.json"

// state is everything the sandbox remembers besides git objects. It is
// guarded by Server.mu and written whole after every change.
type state struct {
	NextID        int64                    `json:"next_id"`
	Accounts      map[string]*account      `json:"accounts"`
	Repos         map[string]*repoState    `json:"repos"` // key owner/name
	Installations map[string]*installation `json:"installations"`
	Tokens        map[string]*instToken    `json:"tokens"`
	Teams         map[string][]*team       `json:"teams"` // key org login

	dirty bool // an account was created while answering a read
}

// account is a user or an organization.
type account struct {
	ID        int64     `json:"id"`
	Login     string    `json:"login"`
	Type      string    `json:"type"` // User, Organization or Bot
	SiteAdmin bool      `json:"site_admin"`
	CreatedAt time.Time `json:"created_at"`
}

// repoState is one repository's metadata and everything that hangs off it.
type repoState struct {
	ID            int64             `json:"id"`
	Owner         string            `json:"owner"`
	Name          string            `json:"name"`
	Description   string            `json:"description"`
	Private       bool              `json:"private"`
	DefaultBranch string            `json:"default_branch"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	PushedAt      time.Time         `json:"pushed_at"`
	NextNumber    int               `json:"next_number"`
	Issues        []*issue          `json:"issues"` // index number-1
	Labels        []*label          `json:"labels"`
	Comments      []*comment        `json:"comments"`
	CheckRuns     []*checkRun       `json:"check_runs"`
	Statuses      []*commitStatus   `json:"statuses"`
	Collaborators map[string]string `json:"collaborators"` // login -> permission
	// NoMergeCommit and NoSquashMerge turn off allow_merge_commit and
	// allow_squash_merge; rebase merges are never allowed.
	NoMergeCommit bool `json:"no_merge_commit,omitempty"`
	NoSquashMerge bool `json:"no_squash_merge,omitempty"`
	// Protections are the protected branches' rules, by branch name.
	Protections map[string]*protection `json:"protections,omitempty"`
}

// issue is an issue or, when Pull is set, a pull request.
type issue struct {
	ID        int64      `json:"id"`
	Number    int        `json:"number"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	User      string     `json:"user"`
	State     string     `json:"state"`
	Labels    []string   `json:"labels"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	// StateReason is why an issue was closed or that it was reopened;
	// empty for one never closed, and for pull requests.
	StateReason string `json:"state_reason,omitempty"`
	Pull        *pull  `json:"pull,omitempty"`
}

// pull is the pull-request part of an issue.
type pull struct {
	ID             int64      `json:"id"`
	Head           string     `json:"head"` // branch in the same repository
	Base           string     `json:"base"`
	HeadSHA        string     `json:"head_sha"`
	BaseSHA        string     `json:"base_sha"`
	Draft          bool       `json:"draft"`
	Merged         bool       `json:"merged"`
	MergedAt       *time.Time `json:"merged_at,omitempty"`
	MergedBy       string     `json:"merged_by,omitempty"`
	MergeCommitSHA string     `json:"merge_commit_sha,omitempty"`
	Reviewers      []string   `json:"reviewers"`
	TeamReviewers  []string   `json:"team_reviewers"`
	Reviews        []*review  `json:"reviews"`
}

// review is a submitted pull request review.
type review struct {
	ID          int64     `json:"id"`
	User        string    `json:"user"`
	Body        string    `json:"body"`
	State       string    `json:"state"`
	CommitID    string    `json:"commit_id"`
	SubmittedAt time.Time `json:"submitted_at"`
}

// label is a repository label.
type label struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Color       string `json:"color"`
	Description string `json:"description"`
}

// comment is an issue or pull request comment.
type comment struct {
	ID        int64       `json:"id"`
	Number    int         `json:"number"`
	User      string      `json:"user"`
	Body      string      `json:"body"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
	Reactions []*reaction `json:"reactions"`
}

// reaction is one reaction to a comment.
type reaction struct {
	ID        int64     `json:"id"`
	User      string    `json:"user"`
	Content   string    `json:"content"`
	CreatedAt time.Time `json:"created_at"`
}

// checkRun is a check run; App names the login of the app that made it.
type checkRun struct {
	ID          int64      `json:"id"`
	SuiteID     int64      `json:"suite_id"`
	HeadSHA     string     `json:"head_sha"`
	Name        string     `json:"name"`
	DetailsURL  string     `json:"details_url"`
	ExternalID  string     `json:"external_id"`
	Status      string     `json:"status"`
	Conclusion  string     `json:"conclusion"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	Title       string     `json:"title"`
	Summary     string     `json:"summary"`
	Text        string     `json:"text"`
	// Annotations accumulate: each create or update adds those it sends.
	Annotations []annotation `json:"annotations,omitempty"`
}

// annotation is one check run annotation.
type annotation struct {
	Path      string `json:"path"`
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
	Level     string `json:"annotation_level"`
	Title     string `json:"title,omitempty"`
	Message   string `json:"message"`
}

// commitStatus is a commit status.
type commitStatus struct {
	ID          int64     `json:"id"`
	SHA         string    `json:"sha"`
	State       string    `json:"state"`
	TargetURL   string    `json:"target_url"`
	Description string    `json:"description"`
	Context     string    `json:"context"`
	Creator     string    `json:"creator"`
	CreatedAt   time.Time `json:"created_at"`
}

// installation is the App's installation on one account.
type installation struct {
	ID        int64     `json:"id"`
	Account   string    `json:"account"`
	CreatedAt time.Time `json:"created_at"`
}

// instToken is an installation access token.
type instToken struct {
	Installation int64     `json:"installation"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// team is an organization team.
type team struct {
	ID          int64             `json:"id"`
	Name        string            `json:"name"`
	Slug        string            `json:"slug"`
	Description string            `json:"description"`
	Privacy     string            `json:"privacy"`
	CreatedAt   time.Time         `json:"created_at"`
	Members     map[string]string `json:"members"` // login -> role
}

func newState() *state {
	return &state{
		NextID:        1,
		Accounts:      map[string]*account{},
		Repos:         map[string]*repoState{},
		Installations: map[string]*installation{},
		Tokens:        map[string]*instToken{},
		Teams:         map[string][]*team{},
	}
}

// loadState reads dir/state.json, or returns an empty state when the file
// does not exist yet.
func loadState(dir string) (*state, error) {
	path := filepath.Join(dir, stateFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read sandbox state: %w", err)
	}
	st := newState()
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("parse sandbox state %s: %w", path, err)
	}
	return st, nil
}

// save writes the state atomically: a temporary file renamed over the old.
// It is written after every change, so it is not indented (indenting took
// two thirds of the time of a save in a 1,000-cluster campaign).
func (st *state) save(dir string) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode sandbox state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, stateFile+".*")
	if err != nil {
		return fmt.Errorf("write sandbox state: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write sandbox state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write sandbox state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("write sandbox state: %w", err)
	}
	return nil
}

// newID hands out the next id; ids are unique across all kinds of object.
func (st *state) newID() int64 {
	id := st.NextID
	st.NextID++
	return id
}

// account returns the account for login, creating a user on first sight.
func (st *state) account(login string, now time.Time) *account {
	if a, ok := st.Accounts[login]; ok {
		return a
	}
	a := &account{ID: st.newID(), Login: login, Type: "User", CreatedAt: now}
	st.Accounts[login] = a
	st.dirty = true
	return a
}

func (rs *repoState) fullName() string { return rs.Owner + "/" + rs.Name }

// issue returns issue number n, or nil.
func (rs *repoState) issue(n int) *issue {
	if n < 1 || n > len(rs.Issues) {
		return nil
	}
	return rs.Issues[n-1]
}

// label returns the label named name (case-insensitive, as GitHub), or nil.
func (rs *repoState) label(name string) *label {
	for _, l := range rs.Labels {
		if equalFold(l.Name, name) {
			return l
		}
	}
	return nil
}

func (rs *repoState) comment(id int64) *comment {
	for _, c := range rs.Comments {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func (rs *repoState) checkRun(id int64) *checkRun {
	for _, c := range rs.CheckRuns {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func (st *state) team(org, slug string) *team {
	for _, t := range st.Teams[org] {
		if t.Slug == slug {
			return t
		}
	}
	return nil
}
