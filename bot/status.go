package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fleetbot/fleetbot/bot/statuspage"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
)

// Routes of the status page and its read-only API; docs/observability.md
// describes them.
const (
	pageRoute      = "GET /{$}"
	campaignsRoute = "GET /api/v1/campaigns"
	campaignRoute  = "GET /api/v1/campaigns/{name}"
	// maxProblems bounds the problems of the fleet's files a view lists.
	maxProblems = 20
)

// StatusConfig configures the status page and its read-only API.
type StatusConfig struct {
	// Off turns them off: their routes answer 404, saying so.
	Off bool
	// Refresh is how often the page reloads itself
	// (statuspage.DefaultRefresh when 0).
	Refresh time.Duration
}

// statusAPI serves the status page at / and the same view as JSON under
// /api/v1/campaigns, to anyone who reaches serve: they read the store and
// the fleet's repositories and change nothing of a campaign.
type statusAPI struct {
	bot     *Bot
	log     *slog.Logger
	refresh time.Duration
	// maxAge is how long the fleet's inventory is kept before the heads
	// are read again: the shorter of the page's refresh and the reconcile
	// interval.
	maxAge time.Duration

	mu sync.Mutex
	// fleet is the inventory at the heads last read, and diags the errors
	// of the fleet's files there; checked is when the heads were last
	// asked for, and failed why that failed ("" when it did not).
	fleet   statuspage.FleetInput
	diags   []string
	checked time.Time
	failed  string
	// urls holds each repository's page (owner/name to URL), which does
	// not change.
	urls map[string]string
}

// registerStatus adds the status page and its read-only API to mux.
func registerStatus(mux *http.ServeMux, b *Bot, cfg StatusConfig) {
	if cfg.Off {
		off := "the status page is off: set status.enabled to true in the serve configuration"
		mux.HandleFunc(pageRoute, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, off, http.StatusNotFound) })
		for _, r := range []string{campaignsRoute, campaignRoute} {
			mux.HandleFunc(r, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusNotFound, apiError{off}) })
		}
		return
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = statuspage.DefaultRefresh
	}
	a := &statusAPI{bot: b, log: b.log, refresh: cfg.Refresh, maxAge: min(cfg.Refresh, b.cfg.ReconcileInterval), urls: map[string]string{}}
	mux.HandleFunc(pageRoute, a.page)
	mux.HandleFunc(campaignsRoute, a.campaigns)
	mux.HandleFunc(campaignRoute, a.campaign)
}

// page answers GET /: the status page.
func (a *statusAPI) page(w http.ResponseWriter, r *http.Request) {
	v, err := a.view(r.Context())
	if err != nil {
		a.log.Error("status page", "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := statuspage.Render(&buf, v, a.refresh); err != nil {
		a.log.Error("status page", "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// No script may run, no form may be sent, and no other site may frame
	// the page: it only shows.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	_, _ = buf.WriteTo(w)
}

// campaigns answers GET /api/v1/campaigns: the page's view.
func (a *statusAPI) campaigns(w http.ResponseWriter, r *http.Request) {
	v, err := a.view(r.Context())
	if err != nil {
		a.log.Error("status API", "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// campaign answers GET /api/v1/campaigns/{name}: one campaign of the view.
func (a *statusAPI) campaign(w http.ResponseWriter, r *http.Request) {
	ctx, name := r.Context(), r.PathValue("name")
	rec, ok, err := a.bot.loadRecord(ctx, name)
	var st rollout.State
	if err == nil && ok {
		st, ok, err = a.bot.State(ctx, name)
	}
	switch {
	case err != nil:
		a.log.Error("status API: read campaign", "campaign", name, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{fmt.Sprintf("read campaign %s: %v", name, err)})
		return
	case !ok:
		writeJSON(w, http.StatusNotFound, apiError{fmt.Sprintf("campaign %s: %v", name, ErrNoCampaign)})
		return
	}
	in, problems := a.campaignInput(rec, st, a.bot.now())
	if d, _, ok, err := a.bot.loadDashboard(ctx, name); err != nil {
		problems = append(problems, fmt.Sprintf("campaign %s: its dashboard issue: %v", name, err))
	} else if ok {
		in.Dashboard = statuspage.Issue{Repo: d.Repo, Number: d.Number}
	}
	if in.Troubles, _, err = a.bot.storedTroubles(ctx, name); err != nil {
		problems = append(problems, fmt.Sprintf("campaign %s: its failing actions: %v", name, err))
	}
	for _, p := range problems {
		a.bot.warnOnce("status/"+p, "status API", "problem", p)
	}
	a.resolveURLs(ctx, []statuspage.CampaignInput{in})
	writeJSON(w, http.StatusOK, statuspage.BuildCampaign(in, a.repoURL))
}

// view reads the store and the fleet and builds the page's view. Only a
// store that cannot be read is an error; what else cannot be read is a
// problem the view lists.
func (a *statusAPI) view(ctx context.Context) (statuspage.View, error) {
	now := a.bot.now()
	inputs, problems, err := a.campaignInputs(ctx, now)
	if err != nil {
		return statuspage.View{}, err
	}
	fleet, fleetProblems := a.readFleet(ctx)
	problems = append(problems, fleetProblems...)
	a.resolveURLs(ctx, inputs)
	return statuspage.Build(statuspage.Input{At: now, Fleet: fleet, Campaigns: inputs, Problems: problems, RepoURL: a.repoURL}), nil
}

// campaignInputs reads every campaign's record and state in one listing.
func (a *statusAPI) campaignInputs(ctx context.Context, now time.Time) ([]statuspage.CampaignInput, []string, error) {
	entries, err := a.bot.cfg.Store.List(ctx, "campaigns/")
	if err != nil {
		return nil, nil, fmt.Errorf("list campaigns: %w", err)
	}
	recs, states, dashboards := map[string]*record{}, map[string]rollout.State{}, map[string]statuspage.Issue{}
	troubles := map[string][]rollout.Trouble{}
	var names, problems []string
	for _, e := range entries {
		rest := strings.TrimPrefix(e.Key, "campaigns/")
		name, kind, _ := strings.Cut(rest, "/")
		switch kind {
		case "plan":
			var r record
			if err := json.Unmarshal(e.Value, &r); err != nil {
				problems = append(problems, fmt.Sprintf("campaign %s: the record %s does not decode: %v", name, e.Key, err))
				continue
			}
			if r.Plan == nil {
				problems = append(problems, fmt.Sprintf("campaign %s: the record %s holds no plan", name, e.Key))
				continue
			}
			recs[name] = &r
			names = append(names, name)
		case "state":
			var st rollout.State
			if err := json.Unmarshal(e.Value, &st); err != nil {
				problems = append(problems, fmt.Sprintf("campaign %s: the state %s does not decode: %v", name, e.Key, err))
				continue
			}
			states[name] = st
		case "troubles":
			var shown []rollout.Trouble
			if err := json.Unmarshal(e.Value, &shown); err != nil {
				problems = append(problems, fmt.Sprintf("campaign %s: the failing actions %s do not decode: %v", name, e.Key, err))
				continue
			}
			troubles[name] = shown
		case "dashboard":
			var d dashboardIssue
			if err := json.Unmarshal(e.Value, &d); err != nil {
				problems = append(problems, fmt.Sprintf("campaign %s: the dashboard record %s does not decode: %v", name, e.Key, err))
				continue
			}
			dashboards[name] = statuspage.Issue{Repo: d.Repo, Number: d.Number}
		}
	}
	var out []statuspage.CampaignInput
	for _, name := range names {
		st, ok := states[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("campaign %s: recorded, but no state is stored yet", name))
			continue
		}
		in, ps := a.campaignInput(recs[name], st, now)
		in.Dashboard, in.Troubles = dashboards[name], troubles[name]
		out = append(out, in)
		problems = append(problems, ps...)
	}
	for _, p := range problems {
		a.bot.warnOnce("status/"+p, "status page", "problem", p)
	}
	return out, problems, nil
}

// campaignInput is what the view needs of one campaign: its state, what its
// plan says of each wave, and when its schedule next lets a wave open.
func (a *statusAPI) campaignInput(rec *record, st rollout.State, now time.Time) (statuspage.CampaignInput, []string) {
	in := statuspage.CampaignInput{
		State:     st,
		Change:    rec.Plan.Change,
		StartedAt: rec.StartedAt,
		File:      statuspage.Source{Repo: rec.Repo, Path: rec.File, SHA: rec.SHA},
		Waves:     make([]statuspage.PlannedWave, len(st.Waves)),
	}
	var problems []string
	c, err := rec.campaign() // once, for its order and its schedule
	if err != nil {
		problems = append(problems, fmt.Sprintf("campaign %s: stored campaign file: %v", st.Campaign, err))
	} else {
		in.Order = c.Spec.Strategy.Order
	}
	for i, w := range st.Waves {
		pw, _, err := rec.planWave(st, w.Number)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		planned := statuspage.PlannedWave{Env: pw.Env, Canary: pw.Canary, Step: pw.StepName(), Repos: map[string]string{}}
		for _, pr := range pw.PullRequests {
			tenant := pr.Tenant
			if pr.Admin {
				tenant = rollout.SharedTenant
			}
			planned.Repos[tenant] = pr.Repo
		}
		in.Waves[i] = planned
	}
	if c != nil && !st.Phase.Final() {
		cal, err := calendarOf(c)
		if err == nil {
			in.NextWindow, err = windowAfter(cal, st, now)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("campaign %s: %v", st.Campaign, err))
		}
	}
	return in, problems
}

// nextWindow is when the campaign's schedule next lets a wave of st open,
// zero when it lets one open now or when only the cap on open pull requests
// holds it back (a pull request closing lifts it, which no calendar
// foresees).
func nextWindow(rec *record, st rollout.State, now time.Time) (time.Time, error) {
	cal, err := rec.calendar()
	if err != nil {
		return time.Time{}, err
	}
	return windowAfter(cal, st, now)
}

// heldBack is what a campaign waiting for its schedule waits for at now:
// when the schedule next lets a wave open (zero when it names no time)
// and why it holds the wave back; "" and the zero time when it does not,
// or the campaign waits for something else.
func heldBack(rec *record, st rollout.State, now time.Time) (time.Time, string) {
	if st.Waiting(time.Time{}).Kind != rollout.WaitWindow {
		return time.Time{}, ""
	}
	cal, err := rec.calendar()
	if err != nil {
		return time.Time{}, "the campaign's schedule cannot be read"
	}
	ok, why := cal.Allowed(now, st.ScheduleState())
	if ok {
		return time.Time{}, ""
	}
	next, _ := windowAfter(cal, st, now) // a schedule that names no time says the wave waits for it
	return next, why
}

// windowAfter is nextWindow from the campaign's compiled calendar.
func windowAfter(cal *rollout.Calendar, st rollout.State, now time.Time) (time.Time, error) {
	next, err := cal.Next(now, st.ScheduleState())
	switch {
	case errors.Is(err, rollout.ErrTooManyOpenPRs):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("schedule: %w", err)
	case !next.After(now):
		return time.Time{}, nil
	}
	return next, nil
}

// readFleet returns the fleet's inventory at the heads of the blueprint
// repositories, reading them again once maxAge passed: from GitHub, then
// from the mirror and the layout of each when a head moved. When they
// cannot be read, the last inventory read stays, with the problem.
func (a *statusAPI) readFleet(ctx context.Context) (statuspage.FleetInput, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.bot.now()
	if a.checked.IsZero() || now.Sub(a.checked) >= a.maxAge {
		a.checked = now
		if err := a.loadFleet(ctx, now); err != nil {
			a.bot.warnOnce("status/fleet/"+err.Error(), "status page: read the fleet", "err", err)
			a.failed = fmt.Sprintf("the fleet could not be read (%v); the grid shows it as read %s", err, readWhen(a.fleet.ReadAt))
		} else {
			a.failed = ""
		}
	}
	problems := slices.Clone(a.diags)
	if a.failed != "" {
		problems = append([]string{a.failed}, problems...)
	}
	return a.fleet, problems
}

func readWhen(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return "at " + t.UTC().Format(time.RFC3339)
}

// loadFleet reads the heads and, when one moved since the last read, the
// inventory at them.
func (a *statusAPI) loadFleet(ctx context.Context, now time.Time) error {
	heads := make([]headRef, len(a.bot.repos))
	commits := make([]statuspage.Commit, len(heads))
	for i, r := range a.bot.repos {
		h, err := a.bot.head(ctx, r)
		if err != nil {
			return err
		}
		heads[i] = h
		if h.htmlURL != "" {
			a.urls[r.String()] = h.htmlURL
		}
		commits[i] = statuspage.Commit{Repo: r.String(), SHA: h.sha, URL: commitURL(h.htmlURL, h.sha)}
	}
	if slices.Equal(commits, a.fleet.Repositories) {
		a.fleet.ReadAt = now
		return nil
	}
	var inv *gitops.Inventory
	byDir := map[string]string{}
	err := a.bot.withCheckout(ctx, heads, func(dirs []string) error {
		for i, d := range dirs {
			byDir[d] = heads[i].repo.String()
		}
		var err error
		inv, err = a.bot.inventory(ctx, dirs)
		return err
	})
	if err != nil {
		return fmt.Errorf("read the fleet's files: %w", err)
	}
	var diags []string
	errs := inv.Diagnostics.Errors()
	for i, d := range errs {
		if i == maxProblems {
			diags = append(diags, fmt.Sprintf("and %d more errors in the fleet's files", len(errs)-maxProblems))
			break
		}
		d.File = repoPath(byDir, d.File)
		diags = append(diags, d.String())
	}
	a.fleet = statuspage.FleetInput{Repositories: commits, ReadAt: now, Clusters: inv.Clusters}
	a.diags = diags
	return nil
}

// repoPath names a file of a checkout (one of byDir's directories) by its
// repository (owner/name/path), not by the mirror's directory.
func repoPath(byDir map[string]string, file string) string {
	for dir, repo := range byDir {
		if file == dir {
			return repo
		}
		if rel, ok := strings.CutPrefix(file, dir+string(filepath.Separator)); ok {
			return repo + "/" + filepath.ToSlash(rel)
		}
	}
	return file
}

func commitURL(repoURL, sha string) string {
	if repoURL == "" {
		return ""
	}
	return repoURL + "/commit/" + sha
}

// resolveURLs looks up the page of each repository the campaigns name (the
// campaign file's, their pull requests') that is not known yet. A
// repository GitHub does not answer for has no links; the next view asks
// again.
func (a *statusAPI) resolveURLs(ctx context.Context, inputs []statuspage.CampaignInput) {
	var want []string
	for _, in := range inputs {
		want = append(want, in.File.Repo)
		if in.Dashboard.Repo != "" {
			want = append(want, in.Dashboard.Repo)
		}
		for _, w := range in.Waves {
			for _, r := range w.Repos {
				want = append(want, r)
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, full := range want {
		if _, ok := a.urls[full]; ok {
			continue
		}
		if err := a.lookupURL(ctx, full); err != nil {
			a.bot.warnOnce("status/url/"+full, "status page: no link to the repository", "repo", full, "err", err)
		}
	}
}

func (a *statusAPI) lookupURL(ctx context.Context, full string) error {
	r, err := parseRepo(full)
	if err != nil {
		return err
	}
	api, err := a.bot.cfg.GitHub.API(ctx, r.Owner, r.Name)
	if err != nil {
		return err
	}
	// GET /repos/{owner}/{repo}
	// https://docs.github.com/rest/repos/repos#get-a-repository
	meta, err := api.Repository(ctx, r.Owner, r.Name)
	if err != nil {
		return err
	}
	a.urls[full] = meta.HTMLURL
	return nil
}

// repoURL returns a repository's page, "" when unknown.
func (a *statusAPI) repoURL(repo string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.urls[repo]
}
