package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
)

// teamReader asks GitHub whether a login is an active member of a team.
type teamReader interface {
	TeamMember(ctx context.Context, org, team, user string) (bool, error)
}

// roles says who a login is for a campaign: a fleet admin, an owner of
// which tenants. It reads the layouts of the repositories the campaign's
// pull requests go to at their base branches' heads (never a pull
// request's head), once, and asks GitHub about each team and login once.
type roles struct {
	api     teamReader
	layouts []*gitops.Layout
	member  map[string]bool // "org/team login"
}

// roles loads the layouts of rec's repositories.
func (b *Bot) roles(ctx context.Context, api teamReader, rec *record) (*roles, error) {
	r := &roles{api: api, member: map[string]bool{}}
	for _, full := range rec.repos() {
		repo, err := parseRepo(full)
		if err != nil {
			return nil, err
		}
		h, err := b.head(ctx, repo)
		if err != nil {
			return nil, err
		}
		l, err := b.layoutAt(ctx, h)
		if err != nil {
			return nil, err
		}
		if l != nil {
			r.layouts = append(r.layouts, l)
		}
	}
	return r, nil
}

// layoutsKept is how many (repository, commit) layouts the bot keeps.
const layoutsKept = 64

// layoutAt returns the layout of a repository at a head (nil when it has
// none), reading each commit once.
func (b *Bot) layoutAt(ctx context.Context, h headRef) (*gitops.Layout, error) {
	key := h.repo.String() + "@" + h.sha
	b.mu.Lock()
	l, ok := b.layouts[key]
	b.mu.Unlock()
	if ok {
		return l, nil
	}
	err := b.withCheckout(ctx, []headRef{h}, func(dirs []string) error {
		inv, err := b.inventory(ctx, dirs)
		if err != nil {
			return fmt.Errorf("load the layout of %s: %w", h.repo, err)
		}
		l = inv.Layouts[dirs[0]]
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.layouts == nil || len(b.layouts) >= layoutsKept {
		b.layouts = map[string]*gitops.Layout{}
	}
	b.layouts[key] = l
	b.mu.Unlock()
	return l, nil
}

// in reports whether login is one of o: a listed user, or an active member
// of a listed team ("org/slug").
func (r *roles) in(ctx context.Context, o gitops.Owners, login string) (bool, error) {
	if slices.Contains(o.Users, login) {
		return true, nil
	}
	for _, t := range o.Teams {
		org, slug, ok := strings.Cut(t, "/")
		if !ok {
			continue
		}
		key := t + " " + login
		v, seen := r.member[key]
		if !seen {
			var err error
			// GET /orgs/{org}/teams/{team_slug}/memberships/{username}
			// https://docs.github.com/rest/teams/members#get-team-membership-for-a-user
			if v, err = r.api.TeamMember(ctx, org, slug, login); err != nil {
				return false, err
			}
			r.member[key] = v
		}
		if v {
			return true, nil
		}
	}
	return false, nil
}

// actor says who login is.
func (r *roles) actor(ctx context.Context, login string) (rollout.Actor, error) {
	a := rollout.Actor{Login: login, Bot: strings.HasSuffix(login, "[bot]")}
	for _, l := range r.layouts {
		ok, err := r.in(ctx, l.Admins, login)
		if err != nil {
			return a, err
		}
		a.Admin = a.Admin || ok
		for tenant, o := range l.Owners {
			ok, err := r.in(ctx, o, login)
			if err != nil {
				return a, err
			}
			if ok && !slices.Contains(a.Tenants, tenant) {
				a.Tenants = append(a.Tenants, tenant)
			}
		}
	}
	slices.Sort(a.Tenants)
	return a, nil
}

// owns reports whether login owns tenant's pull requests: an owner of the
// tenant, or, for the pull request of shared files, a fleet admin.
func (r *roles) owns(ctx context.Context, login, tenant string) (bool, error) {
	for _, l := range r.layouts {
		o := l.Owners[tenant]
		if tenant == rollout.SharedTenant {
			o = l.Admins
		}
		if ok, err := r.in(ctx, o, login); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}
