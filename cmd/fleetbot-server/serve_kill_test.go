package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/rollout/store/boltstore"
)

var (
	killDeliveries = flag.Int("killtest.deliveries", 300, "deliveries waiting when TestServeKilled starts serve (make killtest: 1,000)")
	killSeeds      = flag.Int("killtest.seeds", 2, "runs of TestServeKilled, each with its own seed")
	killKills      = flag.Int("killtest.kills", 2, "times serve is killed in each run of TestServeKilled")
)

// TestServeKilled starts `fleetbot serve`, as its own process on the bbolt
// store against the sandbox GitHub with a campaign in flight, on a store
// where deliveries wait: comments with `/fleet approve` (each from its own
// owner of the tenant) and `/fleet status` on the campaign's pull request,
// comments without commands, and check runs of other commits. It kills
// serve with SIGKILL at a random moment while they are being handled,
// several times, starts it again on the same directory each time, and lets
// the last one finish. One approval's record says, before the first start,
// that a kill cut it short while it was carried out. Then every delivery
// is processed, and each command took effect once, as GitHub and the store
// show it: each approving owner is on the pull request's approvals at most
// once (once unless the command was cut short; the one cut short before the
// start, never), each comment has one answer and one reaction, a command
// cut short is answered unknown, and no command is logged as run twice.
// Deliveries taken up again after a kill (handled twice, in part or whole)
// are counted and reported.
func TestServeKilled(t *testing.T) {
	t.Parallel()
	bin := testenv.BuildFleetbot(t)
	for seed := range *killSeeds {
		t.Run(fmt.Sprintf("seed %d", seed+1), func(t *testing.T) {
			killed(t, bin, uint64(seed+1), *killDeliveries, *killKills)
		})
	}
}

// killedRun is what the logs of one serve process said, read up to line
// read.
type killedRun struct {
	read      int
	pending   int            // deliveries pending when its intake started
	handling  map[string]int // handlings started, by delivery id
	processed int            // deliveries marked processed
	gaveUp    int            // deliveries left pending after their last attempt
	commands  []logRecord    // commands run or answered
}

// logRecord is one of serve's JSON log records, the fields the test reads.
type logRecord struct {
	Msg      string `json:"msg"`
	Level    string `json:"level"`
	Delivery string `json:"delivery"`
	Event    string `json:"event"`
	Pending  int    `json:"pending"`
	By       string `json:"by"`
	Line     string `json:"line"`
	Outcome  string `json:"outcome"`
}

// readRun reads what the logs of p say.
func readRun(t *testing.T, p *testenv.Serve) killedRun {
	t.Helper()
	r := killedRun{pending: -1, handling: map[string]int{}}
	r.readOn(t, p)
	return r
}

// readOn reads the lines p wrote since r was read last.
func (r *killedRun) readOn(t *testing.T, p *testenv.Serve) {
	t.Helper()
	lines := p.Lines()
	for _, line := range lines[r.read:] {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec logRecord
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		switch rec.Msg {
		case "webhook intake started":
			r.pending = rec.Pending
		case "webhook handling":
			r.handling[rec.Delivery]++
		case "webhook processed":
			r.processed++
		case "webhook left pending after its last attempt":
			r.gaveUp++
		case "command":
			r.commands = append(r.commands, rec)
		}
	}
	r.read = len(lines)
}

// waitRun waits until the run's logs satisfy done, at most two minutes.
func waitRun(t *testing.T, p *testenv.Serve, what string, done func(killedRun) bool) killedRun {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	r := readRun(t, p)
	for {
		if r.pending >= 0 && done(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not get %s within two minutes: pending %d at start, %d processed, %d given up on",
				what, r.pending, r.processed, r.gaveUp)
		}
		time.Sleep(2 * time.Millisecond)
		r.readOn(t, p)
	}
}

func killed(t *testing.T, bin string, seed uint64, n, kills int) {
	rng := rand.New(rand.NewPCG(seed, 15))
	e := newCampaignEnv(t)
	dir := filepath.Dir(e.config)
	f, err := os.OpenFile(e.config, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("listen: 127.0.0.1:0\nlogLevel: debug\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())

	// The comments with commands, on tenant-a's pull request #2: half
	// approve it, each from an owner of its own, half ask its status.
	commands := max(4, n/20)
	type command struct {
		user, body string
		id         int64
	}
	cmds := make([]command, commands)
	for i := range cmds {
		c := command{user: fmt.Sprintf("owner-%d", i), body: "/fleet approve"}
		if i%2 == 1 {
			c = command{user: fmt.Sprintf("viewer-%d", i), body: "/fleet status"}
		} else {
			e.rest(t, http.MethodPut, "/orgs/acme/teams/payments/memberships/"+c.user, map[string]any{"role": "member"}, nil)
		}
		var out struct {
			ID int64 `json:"id"`
		}
		e.restAs(t, c.user, http.MethodPost, "/repos/acme/fleet/issues/2/comments", map[string]any{"body": c.body}, &out)
		c.id = out.ID
		cmds[i] = c
	}
	// Their deliveries, as the sandbox sent them to nobody.
	type delivery struct{ id, event, payload string }
	var all []delivery
	byComment := map[string]command{}
	for _, d := range e.gh.Deliveries() {
		if d.Event != "issue_comment" || d.Action != "created" {
			continue
		}
		var p struct {
			Comment struct {
				ID int64 `json:"id"`
			} `json:"comment"`
		}
		require.NoError(t, json.Unmarshal(d.Payload, &p))
		for _, c := range cmds {
			if c.id == p.Comment.ID {
				all = append(all, delivery{d.ID, d.Event, string(d.Payload)})
				byComment[d.ID] = c
			}
		}
	}
	require.Len(t, all, commands, "the sandbox recorded each comment's delivery")
	// The rest: comments without commands and check runs of commits no
	// campaign knows, which are decoded and handled since one is in flight.
	repo := `"repository":{"name":"fleet","full_name":"acme/fleet","owner":{"login":"acme"}},"sender":{"login":"dev"}`
	for i := len(all); i < n; i++ {
		if i%2 == 0 {
			all = append(all, delivery{fmt.Sprintf("comment-%d", i), "issue_comment",
				fmt.Sprintf(`{"action":"created","issue":{"number":2,"pull_request":{}},"comment":{"id":%d,"body":"LGTM, see acme/fleet#2","user":{"login":"dev"}},%s}`, 900000+i, repo)})
		} else {
			all = append(all, delivery{fmt.Sprintf("check-%d", i), "check_run",
				fmt.Sprintf(`{"action":"completed","check_run":{"id":%d,"name":"ci","status":"completed","conclusion":"success","head_sha":"%040x","pull_requests":[]},%s}`, i, rng.Uint64(), repo)})
		}
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	st, err := boltstore.Open(filepath.Join(dir, "state.db"))
	require.NoError(t, err)
	at := time.Now()
	for _, d := range all {
		isNew, err := st.PutDelivery(t.Context(), d.id, d.event, []byte(d.payload), at)
		require.NoError(t, err)
		require.True(t, isNew, d.id)
	}
	// The first approval was cut short by an earlier kill while it was
	// being carried out, as its record says: whatever the kills below
	// do, it is answered unknown and never run again.
	cut := cmds[0]
	raw, err := json.Marshal(bot.CommandRecord{Comment: cut.id, PR: "acme/fleet#2", By: cut.user, At: at, WrittenAt: at, Running: 1})
	require.NoError(t, err)
	_, err = st.Put(t.Context(), fmt.Sprintf("campaigns/eks-1-30/commands/%d", cut.id), raw, 0, store.Fence{})
	require.NoError(t, err)
	require.NoError(t, st.Close())

	// Killed at a random moment of its work, again and again.
	var runs []killedRun
	for k := range kills {
		p := testenv.RunServe(t, bin, e.config, dir)
		first := waitRun(t, p, "its intake started", func(killedRun) bool { return true })
		if first.pending == 0 {
			require.NoError(t, p.Stop(t, time.Minute))
			runs = append(runs, readRun(t, p))
			break
		}
		// Between a tenth and nine tenths of the way.
		at := first.pending/10 + rng.IntN(max(first.pending*8/10, 1))
		waitRun(t, p, fmt.Sprintf("%d of %d deliveries processed", at, first.pending), func(r killedRun) bool { return r.processed >= at })
		p.Kill(t)
		r := readRun(t, p)
		t.Logf("kill %d: %d pending at start, killed after %d processed", k+1, r.pending, r.processed)
		runs = append(runs, r)
	}
	// The last one finishes. A command cut short by a kill is taken for
	// running elsewhere until five minutes after its record was written;
	// its delivery is left pending and handled again by a later start,
	// here once its record is made older than that.
	for round := 0; ; round++ {
		p := testenv.RunServe(t, bin, e.config, dir)
		r := waitRun(t, p, "every pending delivery handled", func(r killedRun) bool { return r.processed+r.gaveUp >= r.pending })
		require.NoError(t, p.Stop(t, time.Minute))
		runs = append(runs, readRun(t, p))
		if r.gaveUp == 0 {
			break
		}
		require.Zero(t, round, "deliveries still given up on once the commands' records are old")
		t.Logf("%d deliveries left pending: commands cut short by a kill", r.gaveUp)
		ageClaims(t, filepath.Join(dir, "state.db"))
	}

	st, err = boltstore.Open(filepath.Join(dir, "state.db"))
	require.NoError(t, err)
	defer func() { require.NoError(t, st.Close()) }()
	pending, err := st.PendingDeliveries(t.Context(), 0, 0)
	require.NoError(t, err)
	assert.Empty(t, pending, "every delivery processed")

	// What the commands did, as the store and GitHub show it.
	var approvals []struct {
		User string `json:"user"`
	}
	rec, err := st.Get(t.Context(), "campaigns/eks-1-30/approvals/acme/fleet/2")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(rec.Value, &approvals))
	approvedBy := map[string]int{}
	for _, a := range approvals {
		approvedBy[a.User]++
	}
	unknown := 0
	for _, c := range cmds {
		var claim bot.CommandRecord
		rec, err := st.Get(t.Context(), fmt.Sprintf("campaigns/eks-1-30/commands/%d", c.id))
		require.NoError(t, err, "comment %d of %s", c.id, c.user)
		require.NoError(t, json.Unmarshal(rec.Value, &claim))
		assert.True(t, claim.Answered, "comment of %s answered", c.user)
		require.Len(t, claim.Commands, 1, "comment of %s", c.user)
		outcome := string(claim.Commands[0].Outcome)
		if d := claim.Commands[0].Detail; d != "" {
			outcome += ": " + d // says why, in every message below
		}
		want := "+1"
		if claim.Commands[0].Outcome == "unknown" {
			unknown++
			want = "confused"
		}
		if c == cut {
			assert.Equal(t, "unknown", string(claim.Commands[0].Outcome), "the command cut short")
			assert.Zero(t, approvedBy[c.user], "the approval cut short is not run again")
		}
		if c.body == "/fleet approve" {
			if claim.Commands[0].Outcome == "unknown" {
				assert.LessOrEqual(t, approvedBy[c.user], 1, "approvals of %s, cut short", c.user)
			} else {
				assert.Equal(t, 1, approvedBy[c.user], "approvals of %s (%s)", c.user, outcome)
			}
		}
		var comment struct {
			Reactions map[string]any `json:"reactions"`
		}
		e.rest(t, http.MethodGet, fmt.Sprintf("/repos/acme/fleet/issues/comments/%d", c.id), nil, &comment)
		assert.EqualValues(t, 1, comment.Reactions["total_count"], "reactions on the comment of %s", c.user)
		assert.EqualValues(t, 1, comment.Reactions[want], "%s on the comment of %s (%s)", want, c.user, outcome)
	}

	// Counted across every run's logs.
	runsOf := map[string]int{} // commands run, by their author
	takenUp := map[string]int{}
	for _, r := range runs {
		for _, c := range r.commands {
			if c.Outcome != "unknown" {
				runsOf[c.By]++
			}
		}
		for id, k := range r.handling {
			takenUp[id] += k
		}
	}
	twice := 0
	for _, c := range cmds {
		if runsOf[c.user] > 1 {
			twice++
			t.Errorf("the command of %s ran %d times", c.user, runsOf[c.user])
		}
	}
	again := map[string]int{}
	for _, d := range all {
		if takenUp[d.id] > 1 {
			kind := d.event
			if _, ok := byComment[d.id]; ok {
				kind = "command"
			}
			again[kind]++
		}
	}
	t.Logf("%d deliveries (%d with commands), %d kills: taken up again after a kill, by kind: %v; commands run twice: %d; commands cut short (answered unknown): %d",
		n, commands, kills, again, twice, unknown)
}

// ageClaims makes every unanswered command record of the store at path an
// hour old, as if that long had passed since serve was killed.
func ageClaims(t *testing.T, path string) {
	t.Helper()
	st, err := boltstore.Open(path)
	require.NoError(t, err)
	defer func() { require.NoError(t, st.Close()) }()
	entries, err := st.List(t.Context(), "campaigns/eks-1-30/commands/")
	require.NoError(t, err)
	for _, en := range entries {
		var claim bot.CommandRecord
		require.NoError(t, json.Unmarshal(en.Value, &claim))
		if claim.Answered {
			continue
		}
		claim.WrittenAt = claim.WrittenAt.Add(-time.Hour)
		raw, err := json.Marshal(claim)
		require.NoError(t, err)
		_, err = st.Put(t.Context(), en.Key, raw, en.Version, store.Fence{})
		require.NoError(t, err)
	}
}
