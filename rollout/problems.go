package rollout

import (
	"errors"
	"slices"

	"github.com/fleetbot/fleetbot/rollout/decode"
)

// Field returns the field of the campaign file that decides whether the rule
// holds, the one a person changes to satisfy it: spec.change.eksVersion.hops
// for one minor per hop, spec.strategy.order for the environment order,
// spec.change.field.files for a field change's reach, or the field the
// refusal names (At); empty for a rule it does not know.
func (e *RefusedError) Field() string {
	if e.At != "" {
		return e.At
	}
	switch e.Rule {
	case RuleOneMinorPerHop:
		return "spec.change.eksVersion.hops"
	case RuleEnvOrder:
		return "spec.strategy.order"
	case RuleFieldShared, RuleFieldScope:
		return "spec.change.field.files"
	}
	return ""
}

// CampaignProblems lists what err says is wrong with the campaign file
// named file (as ParseCampaign was given it), whose source is src: each
// problem of an ErrorList as it is; a FieldError without a place (a gate
// that cannot be built) at its field's line in src; a RefusedError at the
// line of the field its rule concerns. Any other error is one problem of
// the file as a whole (line 0, no field), so nothing is left out. The
// problems come in line order; nil when err is nil.
func CampaignProblems(file string, src []byte, err error) ErrorList {
	if err == nil {
		return nil
	}
	var out ErrorList
	var list ErrorList
	var fe *FieldError
	var refused *RefusedError
	switch {
	case errors.As(err, &list):
		for _, e := range list {
			out = append(out, placed(file, src, *e))
		}
	case errors.As(err, &fe):
		out = ErrorList{placed(file, src, *fe)}
	case errors.As(err, &refused):
		out = ErrorList{placed(file, src, FieldError{Field: refused.Field(), Reason: refused.Error()})}
	default:
		out = ErrorList{{File: file, Reason: err.Error()}}
	}
	slices.SortStableFunc(out, func(a, b *FieldError) int { return a.Line - b.Line })
	return out
}

// placed fills in the file and the line of a problem that has none.
func placed(file string, src []byte, e FieldError) *FieldError {
	if e.File == "" {
		e.File = file
	}
	if e.Line == 0 && e.File == file && e.Field != "" {
		e.Line = decode.Line(src, e.Field)
	}
	return &e
}
