package bot

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/fleetbot/fleetbot/rollout"
)

// Routes of the operations API, served by `fleetbot serve` next to the
// webhook; docs/serve.md describes them.
const (
	stateRoute     = "GET /api/v1/campaigns/{name}/state"
	operationRoute = "POST /api/v1/campaigns/{name}/operations"
	commandsRoute  = "GET /api/v1/campaigns/{name}/commands"
	// maxOperationBody bounds an operation's body: a few short strings.
	maxOperationBody = 64 << 10
)

// Operation kinds, as the operations API and `fleetbot campaign` name them.
const (
	OpPause    = "pause"
	OpResume   = "resume"
	OpRetry    = "retry"
	OpSkip     = "skip"
	OpApprove  = "approve"
	OpRollback = "rollback"
	OpAbort    = "abort"
)

// Operation is the body of POST /api/v1/campaigns/{name}/operations: one
// operation on a campaign, as `fleetbot campaign` sends it. Cluster is for
// retry (optional) and skip (required), Reason for skip (required) and
// abort, Wave for approve; By names who operates and is recorded as
// evidence.
type Operation struct {
	Kind    string `json:"kind"`
	Cluster string `json:"cluster,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Wave    int    `json:"wave,omitempty"`
	By      string `json:"by"`
}

// Event is the machine's event for the operation; an error names what is
// missing or unknown.
func (o Operation) Event() (rollout.Event, error) {
	if strings.TrimSpace(o.By) == "" {
		return nil, errors.New("by is required: say who operates, for the evidence")
	}
	switch o.Kind {
	case OpPause:
		return rollout.Pause{By: o.By}, nil
	case OpResume:
		return rollout.Resume{By: o.By}, nil
	case OpRetry:
		return rollout.Retry{Cluster: o.Cluster, By: o.By}, nil
	case OpSkip:
		if o.Cluster == "" || strings.TrimSpace(o.Reason) == "" {
			return nil, errors.New("skip needs a cluster and a reason")
		}
		return rollout.SkipCluster{Cluster: o.Cluster, Reason: o.Reason, By: o.By}, nil
	case OpApprove:
		if o.Wave < 1 {
			return nil, fmt.Errorf("approve needs a wave number from 1, not %d", o.Wave)
		}
		return rollout.Approve{Wave: o.Wave, By: o.By}, nil
	case OpRollback:
		return rollout.Rollback{By: o.By}, nil
	case OpAbort:
		return rollout.Abort{Reason: o.Reason, By: o.By}, nil
	}
	return nil, fmt.Errorf("unknown operation %q: want one of %s", o.Kind,
		strings.Join([]string{OpPause, OpResume, OpRetry, OpSkip, OpApprove, OpRollback, OpAbort}, ", "))
}

// OperationOf is the Operation that carries ev; an error for an event that
// is no operation.
func OperationOf(ev rollout.Event) (Operation, error) {
	switch e := ev.(type) {
	case rollout.Pause:
		return Operation{Kind: OpPause, By: e.By}, nil
	case rollout.Resume:
		return Operation{Kind: OpResume, By: e.By}, nil
	case rollout.Retry:
		return Operation{Kind: OpRetry, Cluster: e.Cluster, By: e.By}, nil
	case rollout.SkipCluster:
		return Operation{Kind: OpSkip, Cluster: e.Cluster, Reason: e.Reason, By: e.By}, nil
	case rollout.Approve:
		return Operation{Kind: OpApprove, Wave: e.Wave, By: e.By}, nil
	case rollout.Rollback:
		return Operation{Kind: OpRollback, By: e.By}, nil
	case rollout.Abort:
		return Operation{Kind: OpAbort, Reason: e.Reason, By: e.By}, nil
	}
	return Operation{}, fmt.Errorf("%T is not an operation", ev)
}

// Outcomes of an operation in an OperationResult.
const (
	// OutcomeApplied: the machine took the operation; State is the new state.
	OutcomeApplied = "applied"
	// OutcomeIgnored: it had already happened; nothing changed.
	OutcomeIgnored = "ignored"
	// OutcomeRefused: the machine refused it (409); Reason says why.
	OutcomeRefused = "refused"
	// OutcomeNotTaken: the campaign did not take it (502): its lease,
	// state or store failed first; Error says how. Asking again is safe.
	OutcomeNotTaken = "not-taken"
)

// OperationResult is the answer of the operations API to an operation:
// 200 when applied or ignored, 409 when refused, 502 when the machine took
// it but carrying out its actions on GitHub failed (ActionsError says how;
// asking again is safe) or when it was not taken (Error says why; asking
// again is safe). Before and State are the campaign's state before and
// after; Reason is the machine's when it refused or ignored.
type OperationResult struct {
	Outcome      string         `json:"outcome"`
	Reason       string         `json:"reason,omitempty"`
	ActionsError string         `json:"actionsError,omitempty"`
	Error        string         `json:"error,omitempty"`
	Before       *rollout.State `json:"before,omitempty"`
	State        *rollout.State `json:"state,omitempty"`
}

// apiError is the body of every other answer that is not 2xx.
type apiError struct {
	Error string `json:"error"`
}

// opsAPI serves the operations API: a campaign's state, and operations on
// it through Operate, for a caller holding the bearer token.
type opsAPI struct {
	bot *Bot
	log *slog.Logger
	// digest is the token's SHA-256: comparing digests in constant time
	// reveals nothing of the token, not even its length.
	digest [sha256.Size]byte
	off    bool
}

// registerOpsAPI adds the operations API's routes to mux. Without a token
// the routes answer 503, saying the API is off and how to turn it on.
func registerOpsAPI(mux *http.ServeMux, b *Bot, token []byte) {
	a := &opsAPI{bot: b, log: b.log, off: len(token) == 0}
	if !a.off {
		a.digest = sha256.Sum256(token)
	}
	mux.Handle(stateRoute, a.guard(a.state))
	mux.Handle(operationRoute, a.guard(a.operate))
	mux.Handle(commandsRoute, a.guard(a.commands))
}

// guard answers 503 while the API is off and 401 without the right bearer
// token, and calls next otherwise. The token is never logged.
func (a *opsAPI) guard(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.off {
			writeJSON(w, http.StatusServiceUnavailable, apiError{"the operations API is off: set api.tokenFile in the serve configuration"})
			return
		}
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(token))
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], a.digest[:]) != 1 {
			a.log.Warn("operations API: request without the right bearer token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="fleetbot"`)
			writeJSON(w, http.StatusUnauthorized, apiError{"missing or wrong bearer token"})
			return
		}
		next(w, r)
	})
}

// state answers GET /api/v1/campaigns/{name}/state: the state as the store
// holds it. GET /api/v1/campaigns/{name}, without the token, is the status
// page's view of the campaign.
func (a *opsAPI) state(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	st, ok, err := a.bot.State(r.Context(), name)
	switch {
	case err != nil:
		a.log.Error("operations API: read state", "campaign", name, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{fmt.Sprintf("read campaign %s: %v", name, err)})
	case !ok:
		writeJSON(w, http.StatusNotFound, apiError{fmt.Sprintf("campaign %s: %v", name, ErrNoCampaign)})
	default:
		writeJSON(w, http.StatusOK, st)
	}
}

// commands answers GET /api/v1/campaigns/{name}/commands: what became of
// the `/fleet` commands run on the campaign.
func (a *opsAPI) commands(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, ok, err := a.bot.State(r.Context(), name); err == nil && !ok {
		writeJSON(w, http.StatusNotFound, apiError{fmt.Sprintf("campaign %s: %v", name, ErrNoCampaign)})
		return
	}
	list, err := a.bot.Commands(r.Context(), name)
	if err != nil {
		a.log.Error("operations API: read commands", "campaign", name, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// operate answers POST /api/v1/campaigns/{name}/operations.
func (a *opsAPI) operate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var op Operation
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxOperationBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&op); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{fmt.Sprintf("operation: %v", err)})
		return
	}
	ev, err := op.Event()
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{fmt.Sprintf("operation: %v", err)})
		return
	}
	ctx := r.Context()
	before, ok, err := a.bot.State(ctx, name)
	switch {
	case err != nil:
		code, res := operationAnswer(fmt.Errorf("read campaign %s: %w: %w", name, ErrNotTaken, err))
		writeJSON(w, code, res)
		return
	case !ok:
		writeJSON(w, http.StatusNotFound, apiError{fmt.Sprintf("campaign %s: %v", name, ErrNoCampaign)})
		return
	}
	a.log.Info("operations API: operation", "campaign", name, "operation", op.Kind, "by", op.By)
	after, err := a.bot.Operate(ctx, name, ev)
	if errors.Is(err, ErrNoCampaign) {
		writeJSON(w, http.StatusNotFound, apiError{err.Error()})
		return
	}
	code, res := operationAnswer(err)
	if res.Error != "" {
		a.log.Warn("operations API: operation not taken", "campaign", name, "operation", op.Kind, "err", err)
	}
	if res.ActionsError != "" {
		a.log.Error("operations API: carrying out the operation", "campaign", name, "operation", op.Kind, "err", err)
	}
	res.Before, res.State = &before, &after
	writeJSON(w, code, res)
}

// operationAnswer maps Operate's error to the answer's status and result.
// Errors other than the machine's come from the store and the lease before
// it took the operation (ErrNotTaken: not-taken) or after it (carrying out
// its actions on GitHub: applied with ActionsError); both say "asking again
// is safe", with 502.
func operationAnswer(err error) (int, OperationResult) {
	var machine *rollout.EventError
	answered := errors.As(err, &machine)
	switch {
	case err == nil:
		return http.StatusOK, OperationResult{Outcome: OutcomeApplied}
	case errors.Is(err, ErrNotTaken):
		return http.StatusBadGateway, OperationResult{Outcome: OutcomeNotTaken, Error: err.Error()}
	case answered && !errors.Is(err, rollout.ErrIgnored):
		return http.StatusConflict, OperationResult{Outcome: OutcomeRefused, Reason: machine.Reason}
	case answered:
		res := OperationResult{Outcome: OutcomeIgnored, Reason: machine.Reason}
		if err == error(machine) { //nolint:errorlint // identity: the machine's answer alone, no failed action joined to it
			return http.StatusOK, res
		}
		// A rollback asked again carried the reverts out again, and failed.
		res.ActionsError = err.Error()
		return http.StatusBadGateway, res
	}
	return http.StatusBadGateway, OperationResult{Outcome: OutcomeApplied, ActionsError: err.Error()}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
