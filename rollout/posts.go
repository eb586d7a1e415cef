package rollout

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Post is a report or an approval request the machine asked for that is
// not yet reported posted: exactly one of Report and Approval is set, with
// its Seq and the wave whose pull requests carry it. Due asks for it again
// until Posted says it is there, so a post GitHub refused once, or one a
// crash cut short, is not lost.
type Post struct {
	Report   *PostReport      `json:"report,omitempty"`
	Approval *RequestApproval `json:"approval,omitempty"`
}

// UnmarshalJSON reads a post, refusing one that holds not exactly one of
// a report and an approval request.
func (p *Post) UnmarshalJSON(b []byte) error {
	type plain Post
	var q plain
	if err := json.Unmarshal(b, &q); err != nil {
		return err
	}
	if (q.Report == nil) == (q.Approval == nil) {
		return fmt.Errorf("post %s: want exactly one of report and approval", b)
	}
	*p = Post(q)
	return nil
}

// action returns the action that posts p.
func (p Post) action() Action {
	if p.Report != nil {
		return *p.Report
	}
	return *p.Approval
}

// seq and on return the number of p and the wave its pull requests are.
func (p Post) seq() int { return PostSeq(p.action()) }

func (p Post) on() int {
	if p.Report != nil {
		return p.Report.Wave
	}
	return p.Approval.On
}

// PostSeq returns the number of a report or an approval request among the
// posts its campaign keeps until they are posted (State.Posts); 0 for any
// other action, and for a post that is not kept.
func PostSeq(a Action) int {
	switch a := a.(type) {
	case PostReport:
		return a.Seq
	case RequestApproval:
		return a.Seq
	}
	return 0
}

// post settles where a report or an approval request goes (the wave it
// names, or the last wave opened) and numbers it among the posts that
// wait, where it replaces any older post to the same pull requests (each
// carries one status comment of the campaign, so the newer says all).
// Other actions, and posts with no pull request to go to, are returned
// as they are.
func (m *machine) post(a Action) Action {
	var p Post
	switch a := a.(type) {
	case PostReport:
		if a.Wave == 0 {
			a.Wave = m.s.lastOpened()
		}
		p.Report = &a
	case RequestApproval:
		a.On = m.s.lastOpened()
		p.Approval = &a
	default:
		return a
	}
	on := p.on()
	if on == 0 {
		return p.action()
	}
	m.s.PostSeq++
	if p.Report != nil {
		p.Report.Seq = m.s.PostSeq
	} else {
		p.Approval.Seq = m.s.PostSeq
	}
	m.s.Posts = append(slices.DeleteFunc(m.s.Posts, func(q Post) bool { return q.on() == on }), p)
	return p.action()
}

// dropPosts takes off the posts that wait those that drop says no longer
// say what is so (a request for an approval given, a halt report after the
// resume).
func (m *machine) dropPosts(drop func(Post) bool) {
	if m.s.Posts = slices.DeleteFunc(m.s.Posts, drop); len(m.s.Posts) == 0 {
		m.s.Posts = nil
	}
}

// posted takes a post off the ones that wait.
func (m *machine) posted(e Posted) *EventError {
	n := len(m.s.Posts)
	if m.dropPosts(func(p Post) bool { return p.seq() == e.Seq }); len(m.s.Posts) == n {
		return ignore("post %d does not wait to be posted", e.Seq)
	}
	return nil
}

// lastOpened returns the number of the last wave that opened, 0 when none
// has.
func (s State) lastOpened() int {
	n := 0
	for _, w := range s.Waves {
		if w.Phase != WavePending {
			n = w.Number
		}
	}
	return n
}

// posts returns the actions of the posts that wait, oldest first.
func (s State) posts() []Action {
	out := make([]Action, 0, len(s.Posts))
	for _, p := range s.Posts {
		out = append(out, p.action())
	}
	return out
}
