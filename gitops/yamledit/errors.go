package yamledit

import (
	"strconv"
	"strings"
)

// Kind says why an edit was refused, so callers can branch without reading
// the message.
type Kind int

// The reasons an edit can be refused.
const (
	KindSyntax       Kind = iota + 1 // the file is not valid UTF-8 YAML
	KindPath                         // the key path is malformed or empty
	KindNotFound                     // the key path does not exist
	KindAmbiguous                    // several documents hold the key path
	KindDuplicateKey                 // a mapping on the path defines a key twice
	KindAlias                        // the path goes through or ends at an alias
	KindMerge                        // the value is inherited through a merge key (<<)
	KindNotScalar                    // the target is a mapping or a sequence
	KindBlockScalar                  // the target is a literal (|) or folded (>) scalar
	KindMultiline                    // the target spans several lines
	KindNull                         // the target is null or empty
	KindType                         // the new value would be read as another type
	KindStyle                        // the scalar's quoting style cannot hold the new value
	KindStale                        // the file does not hold the expected old value
	KindConflict                     // two edits of one call touch the same scalar
	KindExists                       // Insert or CopyEntry found the key already present
	KindLayout                       // the entry cannot be placed, copied or removed safely
	KindVerify                       // the edited file would differ somewhere else
)

var kindNames = map[Kind]string{
	KindSyntax:       "syntax",
	KindPath:         "path",
	KindNotFound:     "not-found",
	KindAmbiguous:    "ambiguous",
	KindDuplicateKey: "duplicate-key",
	KindAlias:        "alias",
	KindMerge:        "merge-key",
	KindNotScalar:    "not-scalar",
	KindBlockScalar:  "block-scalar",
	KindMultiline:    "multi-line",
	KindNull:         "null",
	KindType:         "type",
	KindStyle:        "style",
	KindStale:        "stale",
	KindConflict:     "conflict",
	KindExists:       "exists",
	KindLayout:       "layout",
	KindVerify:       "verify",
}

// String returns the short name of the kind, e.g. "duplicate-key".
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Error reports an edit that was refused, with the place in the file and the
// reason. Line and Column are 1-based; Column counts characters, not bytes.
// Either may be 0 when the refusal concerns the whole file.
type Error struct {
	File   string
	Line   int
	Column int
	Path   string
	Kind   Kind
	Reason string
}

// Error formats the refusal as file:line:column: path: reason.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.File == "" {
		b.WriteString("<input>")
	}
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":" + strconv.Itoa(e.Column))
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}
