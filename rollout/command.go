package rollout

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fleetbot/fleetbot/rollout/decode"
)

// Command is one `/fleet` line, read: its name and what it names.
type Command struct {
	Name    string
	Wave    int    // approve: the wave to release; 0 for the one waiting
	Cluster string // retry (optional) and skip
	Reason  string // skip (required) and abort (optional)
	// Tenant is the tenant of the pull request the command was written on
	// (SharedTenant for one of shared files); set by the caller, "" off a
	// pull request.
	Tenant string
}

// commandSpec is what one command takes and who may run it.
type commandSpec struct {
	usage string
	help  string
	// who: "anyone", "admins", or "owners" (fleet admins, and the owners
	// of the named cluster's tenant).
	who string
}

// commands are the `/fleet` commands, by name.
var commands = map[string]commandSpec{
	"help":     {"/fleet help", "lists the commands and who may run them", "anyone"},
	"status":   {"/fleet status", "shows what the campaign waits for, and its waves, pull requests and clusters", "anyone"},
	"plan":     {"/fleet plan", "shows the campaign's plan: its waves and the clusters of each", "anyone"},
	"approve":  {"/fleet approve [WAVE]", "with a wave, releases that wave (fleet admins); without one, on a pull request, approves it for its tenant (its owners) or releases the wave waiting for an approval (fleet admins)", "approvers"},
	"pause":    {"/fleet pause", "stops the campaign from opening pull requests and asking for gates", "admins"},
	"resume":   {"/fleet resume", "continues a paused campaign, or a halted one back within its failure budget", "admins"},
	"abort":    {`/fleet abort [--reason "..."]`, "ends the campaign and closes its unmerged pull requests", "admins"},
	"retry":    {"/fleet retry [CLUSTER]", "verifies a failed or timed-out cluster again, or opens a new pull request for one closed without merge (every such cluster when none is named)", "owners"},
	"skip":     {`/fleet skip CLUSTER --reason "..."`, "leaves a cluster out of the campaign, with a reason", "owners"},
	"rollback": {"/fleet rollback", "reverts the merged waves, last first, one revert wave at a time", "admins"},
}

// commandOrder lists the commands as help shows them.
var commandOrder = []string{"help", "status", "plan", "approve", "pause", "resume", "abort", "retry", "skip", "rollback"}

// UsageError is a `/fleet` line that is not a command as written: it says
// why, how the command is written, and the closest command for an unknown
// name.
type UsageError struct {
	Line   string
	Reason string
	Usage  string
}

// Error says what is wrong and how to write it.
func (e *UsageError) Error() string {
	if e.Usage == "" {
		return e.Reason
	}
	return fmt.Sprintf("%s; usage: %s", e.Reason, e.Usage)
}

// UnclosedQuote is the refusal of a `/fleet` line that opens quote (' or
// ") and never closes it: the words a shell would not take are not run,
// since what the line would do may not be what its author wrote (a reason
// cut where the quote was meant to close, or a cluster name swallowed
// into it).
func UnclosedQuote(name string, quote byte) error {
	usage := "/fleet help"
	if spec, ok := commands[name]; ok {
		usage = spec.usage
	}
	return &UsageError{Reason: fmt.Sprintf("the %c quote this line opens is never closed; nothing of it ran", quote), Usage: usage}
}

// IsCommand reports whether name is a `/fleet` command.
func IsCommand(name string) bool { _, ok := commands[name]; return ok }

// ParseCommand reads the words after `/fleet` (name first) as a command.
func ParseCommand(name string, args []string) (Command, error) {
	spec, ok := commands[name]
	if !ok {
		reason := fmt.Sprintf("%q is not a command", name)
		if name == "" {
			reason = "no command after /fleet"
		}
		usage := "/fleet help"
		if best := closestCommand(name); best != "" {
			reason += fmt.Sprintf(" (did you mean %q?)", best)
			usage = commands[best].usage
		}
		return Command{}, &UsageError{Reason: reason, Usage: usage}
	}
	bad := func(format string, a ...any) (Command, error) {
		return Command{}, &UsageError{Reason: fmt.Sprintf(format, a...), Usage: spec.usage}
	}
	c := Command{Name: name}
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		flag, value, hasValue := strings.Cut(a, "=")
		if !strings.HasPrefix(flag, "--") {
			pos = append(pos, a)
			continue
		}
		if flag != "--reason" || (name != "skip" && name != "abort") {
			return bad("%s takes no flag %s", name, flag)
		}
		if !hasValue {
			if i+1 >= len(args) {
				return bad("--reason needs a text")
			}
			i++
			value = args[i]
		}
		c.Reason = strings.TrimSpace(value)
	}
	switch name {
	case "approve":
		if len(pos) > 1 {
			return bad("approve takes one wave")
		}
		if len(pos) == 1 {
			n, err := strconv.Atoi(pos[0])
			if err != nil || n < 1 {
				return bad("wave %q is not a wave number", pos[0])
			}
			c.Wave = n
		}
	case "retry":
		if len(pos) > 1 {
			return bad("retry takes one cluster")
		}
		if len(pos) == 1 {
			c.Cluster = pos[0]
		}
	case "skip":
		switch {
		case len(pos) != 1:
			return bad("skip takes one cluster")
		case c.Reason == "":
			return bad("skip needs --reason: say why the cluster is left out")
		}
		c.Cluster = pos[0]
	default:
		if len(pos) > 0 {
			return bad("%s takes no argument %q", name, pos[0])
		}
	}
	return c, nil
}

// closestCommand is the command name nearest to name, or "".
func closestCommand(name string) string {
	best, dist := "", 3
	for _, c := range commandOrder {
		if d := decode.EditDistance(strings.ToLower(name), c); d < dist {
			best, dist = c, d
		}
	}
	return best
}

// Actor is who runs a command: a login, whether they are a fleet admin, the
// tenants they own, and whether the login is an App (the bot itself).
type Actor struct {
	Login   string
	Admin   bool
	Tenants []string
	Bot     bool
}

// ReadOnly reports whether the command only shows something.
func (c Command) ReadOnly() bool {
	return c.Name == "help" || c.Name == "status" || c.Name == "plan"
}

// ApprovesPR reports whether c, run by a, approves the pull request it was
// written on for its tenant: `/fleet approve` with no wave, by an owner of
// the pull request's tenant (a fleet admin for a pull request of shared
// files). A number always names a wave to release.
func (c Command) ApprovesPR(a Actor) bool {
	if c.Name != "approve" || c.Wave != 0 || c.Tenant == "" {
		return false
	}
	if c.Tenant == SharedTenant {
		return a.Admin
	}
	return slices.Contains(a.Tenants, c.Tenant)
}

// ApprovalRefused says why an approval of tenant's pull request number
// is refused in state s: the pull request merged, or was closed without
// merge; "" when it may be approved (open, or not known to the state).
func (s State) ApprovalRefused(tenant string, number int) string {
	for _, w := range s.Waves {
		for _, pr := range w.PRs {
			if pr.Tenant != tenant || pr.Number != number {
				continue
			}
			switch {
			case pr.Status == PRStatusMerged:
				return fmt.Sprintf("pull request #%d merged already: there is nothing left to approve", number)
			case pr.Status != PRStatusClosed:
			case s.Phase.Final():
				return fmt.Sprintf("pull request #%d was closed when campaign %s ended (%s): there is nothing left to approve", number, s.Campaign, s.Phase)
			case !slices.ContainsFunc(w.Clusters, func(c ClusterState) bool { return c.Tenant == tenant && c.Phase != ClusterSkipped }):
				return fmt.Sprintf("pull request #%d was closed: every cluster it changes was skipped", number)
			default:
				return fmt.Sprintf("pull request #%d was closed without merge: /fleet retry opens a new one, to approve then", number)
			}
		}
	}
	return ""
}

// Authorize decides whether a may run c on the campaign in state s. The
// refusal names who may.
func Authorize(c Command, a Actor, s State) error {
	spec := commands[c.Name]
	switch {
	case a.Bot:
		return fmt.Errorf("@%s is an app: fleetbot takes commands from people only", a.Login)
	case spec.who == "anyone", a.Admin:
		return nil
	case spec.who == "admins":
		return fmt.Errorf("@%s may not run %s: only fleet admins may", a.Login, c.Name)
	case spec.who == "approvers":
		if c.ApprovesPR(a) {
			return nil
		}
		if c.Wave == 0 && c.Tenant != "" {
			return fmt.Errorf("@%s may not approve this pull request: the owners of %s may; fleet admins release waves", a.Login, c.Tenant)
		}
		if c.Wave == 0 && len(a.Tenants) > 0 {
			return fmt.Errorf("@%s may not release a wave: only fleet admins may; a tenant's owners approve their tenant's pull request with /fleet approve on it", a.Login)
		}
		return fmt.Errorf("@%s may not release a wave: only fleet admins may", a.Login)
	}
	// owners: a cluster of a tenant a owns must be named.
	if c.Cluster == "" {
		return fmt.Errorf("@%s may not run %s on the whole campaign: fleet admins may; a tenant's owners may name one of their tenant's clusters", a.Login, c.Name)
	}
	tenant := s.TenantOf(c.Cluster)
	if tenant == "" {
		return fmt.Errorf("no cluster %q in campaign %s", c.Cluster, s.Campaign)
	}
	if !slices.Contains(a.Tenants, tenant) {
		return fmt.Errorf("@%s may not run %s on %s: fleet admins and the owners of %s may", a.Login, c.Name, c.Cluster, tenant)
	}
	return nil
}

// Event is the event c feeds the campaign, run by by; nil for a command
// that only shows something. Approve without a wave, on a pull request,
// names the wave that waits for an approval in s; off a pull request (on
// the campaign's dashboard issue) it must name its wave.
func (c Command) Event(by string, s State) (Event, error) {
	switch c.Name {
	case "approve":
		n := c.Wave
		if n == 0 && c.Tenant == "" {
			return nil, &UsageError{Reason: "off a pull request, approve names the wave it releases", Usage: "/fleet approve WAVE"}
		}
		if n == 0 {
			n = s.AwaitingApproval()
			if n == 0 {
				return nil, fmt.Errorf("no wave of campaign %s waits for an approval: name one, /fleet approve WAVE", s.Campaign)
			}
		}
		return Approve{Wave: n, By: by}, nil
	case "pause":
		return Pause{By: by}, nil
	case "resume":
		return Resume{By: by}, nil
	case "abort":
		return Abort{By: by, Reason: c.Reason}, nil
	case "retry":
		return Retry{Cluster: c.Cluster, By: by}, nil
	case "skip":
		return SkipCluster{Cluster: c.Cluster, Reason: c.Reason, By: by}, nil
	case "rollback":
		return Rollback{By: by}, nil
	}
	return nil, nil
}

// Help is the text of /fleet help: every command, what it does, who may.
func Help() string {
	var b strings.Builder
	b.WriteString("| command | what it does | who may |\n|---|---|---|\n")
	who := map[string]string{"anyone": "anyone", "admins": "fleet admins", "owners": "fleet admins; a tenant's owners, on their tenant's clusters",
		"approvers": "a tenant's owners, on their tenant's pull request; fleet admins, on waves"}
	for _, name := range commandOrder {
		s := commands[name]
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.usage, s.help, who[s.who])
	}
	return b.String()
}

// TenantOf returns the tenant of a cluster of the campaign, or "".
func (s State) TenantOf(cluster string) string {
	for _, w := range s.Waves {
		if w.Kind != WaveChange {
			continue
		}
		for _, c := range w.Clusters {
			if c.Name == cluster {
				return c.Tenant
			}
		}
	}
	return ""
}

// AwaitingApproval returns the number of the wave that asked for an
// approval and has none yet, or 0.
func (s State) AwaitingApproval() int {
	for _, w := range s.Waves {
		if w.Phase == WavePending && w.ApprovalRequested && w.ApprovedBy == "" {
			return w.Number
		}
	}
	return 0
}

// MaxCommands is how many `/fleet` lines of one comment run; the lines
// after them are refused, so one comment cannot make the bot work without
// end.
const MaxCommands = 10

// TooManyCommands is the refusal of a line past MaxCommands.
var TooManyCommands = "a comment runs at most " + strconv.Itoa(MaxCommands) + " commands; write the others in another comment"

// TakenDetail says, in the answer to a command, what the event it made did
// to the campaign: before and after are its state around the event. An
// approval of a wave that has not asked for one yet says it holds ahead
// of its turn; any other event says the campaign's phase, or how it moved.
func TakenDetail(before, after State, ev Event) string {
	moved := fmt.Sprintf("the campaign is %s", after.Phase)
	if after.Phase != before.Phase {
		moved = fmt.Sprintf("the campaign went from %s to %s", before.Phase, after.Phase)
	}
	if after.Phase == CampaignHalted {
		if why := after.resumeRefused(); why != "" {
			moved += " (" + why + ")"
		} else {
			moved += " (/fleet resume goes on)"
		}
	}
	if r, ok := ev.(Retry); ok {
		if what := retried(before, after, r); what != "" {
			return what + "; " + moved
		}
		return moved
	}
	if sk, ok := ev.(SkipCluster); ok {
		if what := skipped(before, after, sk); what != "" {
			return what + "; " + moved
		}
		return moved
	}
	a, ok := ev.(Approve)
	if !ok || a.Wave < 1 || a.Wave > len(after.Waves) {
		return moved
	}
	w := after.Waves[a.Wave-1]
	if w.Phase == WavePending && !w.ApprovalRequested {
		return fmt.Sprintf("wave %d approved ahead of its turn: it opens without another approval once the waves before it are done; %s", a.Wave, moved)
	}
	return fmt.Sprintf("wave %d approved; %s", a.Wave, moved)
}

// retried says what became of the clusters retry e asked again, from
// their state before it to after it (and the pass that followed, whose
// gates may fail a cluster again at once): "a-dev-cpu-1 failed again
// (argocd: ...)", "a-dev-cpu-1 is Verifying", at most five, then how many
// more. A cluster that was not retryable before, or that the retry did
// not record a step of, is not named.
func retried(before, after State, e Retry) string {
	const named = 5
	var out []string
	n := 0
	for i, w := range before.Waves {
		if i >= len(after.Waves) {
			break
		}
		for j, c := range w.Clusters {
			if (e.Cluster != "" && c.Name != e.Cluster) || j >= len(after.Waves[i].Clusters) {
				continue
			}
			now := after.Waves[i].Clusters[j]
			if ok, _ := retryable(&w, &c); !ok || now.Name != c.Name || len(now.Evidence) == len(c.Evidence) {
				continue // not retried
			}
			n++
			if len(out) == named {
				continue
			}
			switch {
			case now.Phase.failed():
				what := fmt.Sprintf("%s failed again", now.Name)
				if now.Phase == ClusterTimedOut {
					what = fmt.Sprintf("%s timed out again", now.Name)
				}
				if now.FailedGate != "" {
					what += fmt.Sprintf(" (%s: %s)", now.FailedGate, GateSentence(now.FailedDetail))
				}
				out = append(out, what)
			default:
				what := fmt.Sprintf("%s is %s", now.Name, now.Phase)
				for _, pr := range after.Waves[i].PRs {
					if pr.Tenant == now.Tenant && pr.Number > 0 && pr.Status == PRStatusOpen {
						what += fmt.Sprintf(" in #%d", pr.Number) // a closed one's retry opened it
					}
				}
				out = append(out, what)
			}
		}
	}
	if n > named {
		out = append(out, fmt.Sprintf("and %d more", n-named))
	}
	return strings.Join(out, ", ")
}

// skipped says what skip e did: the cluster skipped, in which waves, and
// the pull requests it closed (those that carried nothing else).
func skipped(before, after State, e SkipCluster) string {
	var waves, closed []string
	for i, w := range before.Waves {
		if i >= len(after.Waves) {
			break
		}
		now := after.Waves[i]
		for j, c := range w.Clusters {
			if c.Name == e.Cluster && j < len(now.Clusters) && c.Phase != ClusterSkipped && now.Clusters[j].Phase == ClusterSkipped {
				waves = append(waves, strconv.Itoa(w.Number))
			}
		}
		for j, pr := range w.PRs {
			if j < len(now.PRs) && pr.Number > 0 && pr.Status != PRStatusClosed && now.PRs[j].Status == PRStatusClosed {
				closed = append(closed, fmt.Sprintf("#%d", pr.Number))
			}
		}
	}
	if len(waves) == 0 {
		return ""
	}
	what := fmt.Sprintf("%s is Skipped in wave %s", e.Cluster, strings.Join(waves, ", "))
	if len(closed) > 0 {
		what += fmt.Sprintf("; pull request %s closes: every cluster it changes is skipped", strings.Join(closed, ", "))
	}
	return what
}

// CommandCatchUp is how late the commands of a comment whose webhook never
// came (written while no replica took deliveries, or a delivery GitHub
// gave up on) are still carried out once the bot finds the comment itself:
// a command found later than that may no longer be what its author wants,
// and is answered instead (LateComment).
const CommandCatchUp = 15 * time.Minute

// LateComment says whether the commands of a comment written at written,
// which the bot found at now without its webhook, come too late to carry
// out, and, when they do, the answer each of its lines gets.
func LateComment(written, now time.Time) (late bool, answer string) {
	if written.IsZero() || now.Sub(written) <= CommandCatchUp {
		return false, ""
	}
	return true, fmt.Sprintf("not run: written at %s while fleetbot received no webhooks, and found %s later, past the %s within which a missed command is still carried out; write it again if it is still wanted",
		written.UTC().Format(time.RFC3339), now.Sub(written).Round(time.Minute), CommandCatchUp)
}

// CommandOutcome is what became of one command: taken, refused (with why),
// or shown.
type CommandOutcome string

// Command outcomes.
const (
	CommandTaken   CommandOutcome = "taken"
	CommandRefused CommandOutcome = "refused"
	CommandShown   CommandOutcome = "shown"
	// CommandUnknown is a command whose run was cut short (the process
	// stopped while carrying it out): it is not run again, since it may
	// have taken effect, and the person is told to look.
	CommandUnknown CommandOutcome = "unknown"
)
