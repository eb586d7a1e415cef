package webhooks

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want []Command
	}{
		{"empty body", "", nil},
		{"no command", "looks good to me\nthanks", nil},
		{"bare command", "/fleet", []Command{{Line: 1, Raw: "/fleet"}}},
		{"name only", "/fleet status", []Command{{Line: 1, Name: "status", Raw: "/fleet status"}}},
		{
			"name and args", "/fleet retry dev-cpu-1",
			[]Command{{Line: 1, Name: "retry", Args: []string{"dev-cpu-1"}, Raw: "/fleet retry dev-cpu-1"}},
		},
		{
			"leading spaces and tabs", "  \t/fleet pause",
			[]Command{{Line: 1, Name: "pause", Raw: "  \t/fleet pause"}},
		},
		{
			"blanks between words", "/fleet\tskip   c1 \t --reason x  ",
			[]Command{{Line: 1, Name: "skip", Args: []string{"c1", "--reason", "x"}, Raw: "/fleet\tskip   c1 \t --reason x  "}},
		},
		{"prefix of a longer word", "/fleetbot status\n/fleet-status", nil},
		{"not the first word", "please /fleet approve", nil},
		{"upper case is not the command", "/Fleet approve", nil},
		{"quoted in a blockquote", "> /fleet approve", nil},
		{
			"several lines, numbered from 1", "LGTM\n/fleet approve\n\n/fleet status",
			[]Command{
				{Line: 2, Name: "approve", Raw: "/fleet approve"},
				{Line: 4, Name: "status", Raw: "/fleet status"},
			},
		},
		{
			"CRLF line ends", "hi\r\n/fleet retry c1\r\n/fleet status\r\n",
			[]Command{
				{Line: 2, Name: "retry", Args: []string{"c1"}, Raw: "/fleet retry c1"},
				{Line: 3, Name: "status", Raw: "/fleet status"},
			},
		},
		{
			"double quotes keep one word", `/fleet skip c1 --reason "node group stuck"`,
			[]Command{{Line: 1, Name: "skip", Args: []string{"c1", "--reason", "node group stuck"}, Raw: `/fleet skip c1 --reason "node group stuck"`}},
		},
		{
			"single quotes keep one word", `/fleet skip c1 --reason 'it''s "fine"'`,
			[]Command{{Line: 1, Name: "skip", Args: []string{"c1", "--reason", `its "fine"`}, Raw: `/fleet skip c1 --reason 'it''s "fine"'`}},
		},
		{
			"quotes inside a word join it", `/fleet skip --reason=”x” --note="a b"c`,
			[]Command{{Line: 1, Name: "skip", Args: []string{"--reason=”x”", "--note=a bc"}, Raw: `/fleet skip --reason=”x” --note="a b"c`}},
		},
		{
			"empty quotes are an empty word", `/fleet skip c1 --reason ""`,
			[]Command{{Line: 1, Name: "skip", Args: []string{"c1", "--reason", ""}, Raw: `/fleet skip c1 --reason ""`}},
		},
		{
			"backslash escapes in double quotes", `/fleet skip "say \"hi\" \\ \n"`,
			[]Command{{Line: 1, Name: "skip", Args: []string{`say "hi" \ \n`}, Raw: `/fleet skip "say \"hi\" \\ \n"`}},
		},
		{
			"backslash outside quotes", `/fleet skip a\ b \'c`,
			[]Command{{Line: 1, Name: "skip", Args: []string{"a b", "'c"}, Raw: `/fleet skip a\ b \'c`}},
		},
		{
			"backslash is literal in single quotes", `/fleet skip 'a\b'`,
			[]Command{{Line: 1, Name: "skip", Args: []string{`a\b`}, Raw: `/fleet skip 'a\b'`}},
		},
		{
			"trailing backslash is kept", `/fleet skip a\`,
			[]Command{{Line: 1, Name: "skip", Args: []string{`a\`}, Raw: `/fleet skip a\`}},
		},
		{
			"unterminated double quote keeps the rest", `/fleet skip c1 --reason "broken  node 'x`,
			[]Command{{Line: 1, Name: "skip", Args: []string{"c1", "--reason", "broken  node 'x"}, Raw: `/fleet skip c1 --reason "broken  node 'x`, Unclosed: '"'}},
		},
		{
			"unterminated single quote keeps the rest", `/fleet skip 'a "b`,
			[]Command{{Line: 1, Name: "skip", Args: []string{`a "b`}, Raw: `/fleet skip 'a "b`, Unclosed: '\''}},
		},
		{
			"a quote closed at the end", `/fleet abort --reason "x y"`,
			[]Command{{Line: 1, Name: "abort", Args: []string{"--reason", "x y"}, Raw: `/fleet abort --reason "x y"`}},
		},
		{
			"an escaped quote closes nothing", `/fleet abort --reason "x\"`,
			[]Command{{Line: 1, Name: "abort", Args: []string{"--reason", `x"`}, Raw: `/fleet abort --reason "x\"`, Unclosed: '"'}},
		},
		{
			"typographic quotes", `/fleet skip c1 --reason “being decommissioned” ‘it’s old’ “a "b"”`,
			[]Command{{Line: 1, Name: "skip", Args: []string{"c1", "--reason", "being decommissioned", "it’s old", `a "b"`},
				Raw: `/fleet skip c1 --reason “being decommissioned” ‘it’s old’ “a "b"”`}},
		},
		{
			"a typographic quote never closed", `/fleet abort --reason “wrong version`,
			[]Command{{Line: 1, Name: "abort", Args: []string{"--reason", "wrong version"}, Raw: `/fleet abort --reason “wrong version`, Unclosed: '"'}},
		},
		{
			"quoted name", `/fleet "re try" x`,
			[]Command{{Line: 1, Name: "re try", Args: []string{"x"}, Raw: `/fleet "re try" x`}},
		},
		{
			"fenced block is skipped", "/fleet status\n```\n/fleet abort\n```\n/fleet resume",
			[]Command{
				{Line: 1, Name: "status", Raw: "/fleet status"},
				{Line: 5, Name: "resume", Raw: "/fleet resume"},
			},
		},
		{
			"fence with info string and indent", "  ```sh\n/fleet abort\n  ```\n/fleet plan",
			[]Command{{Line: 4, Name: "plan", Raw: "/fleet plan"}},
		},
		{
			"tilde fence", "~~~\n/fleet abort\n~~~\n/fleet plan",
			[]Command{{Line: 4, Name: "plan", Raw: "/fleet plan"}},
		},
		{
			"shorter fence does not close a longer one", "````\n```\n/fleet abort\n````\n/fleet plan",
			[]Command{{Line: 5, Name: "plan", Raw: "/fleet plan"}},
		},
		{
			"other fence character does not close", "```\n~~~\n/fleet abort\n```\n/fleet plan",
			[]Command{{Line: 5, Name: "plan", Raw: "/fleet plan"}},
		},
		{
			"closing fence with text after it does not close", "```\n``` not yet\n/fleet abort\n```\n/fleet plan",
			[]Command{{Line: 5, Name: "plan", Raw: "/fleet plan"}},
		},
		{"unclosed fence runs to the end", "```\n/fleet abort\n/fleet pause", nil},
		{
			"inline backticks are not a fence", "``` a ` b\n/fleet plan",
			[]Command{{Line: 2, Name: "plan", Raw: "/fleet plan"}},
		},
		{
			"fence in CRLF body", "```\r\n/fleet abort\r\n```\r\n/fleet plan\r\n",
			[]Command{{Line: 4, Name: "plan", Raw: "/fleet plan"}},
		},
		{
			"two backticks are not a fence", "``\n/fleet plan",
			[]Command{{Line: 2, Name: "plan", Raw: "/fleet plan"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ParseCommands(tt.body)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCommands(%q)\n got %#v\nwant %#v", tt.body, got, tt.want)
			}
		})
	}
}

// FuzzParseCommands checks what holds for any body: every command points at
// a line of the body that starts with /fleet, in order, and Raw is that line
// as written.
func FuzzParseCommands(f *testing.F) {
	for _, s := range []string{
		"", "/fleet", "/fleet status", "a\n/fleet skip c1 --reason \"x y\"\r\n",
		"```\n/fleet abort\n```\n/fleet plan", "/fleet 'a\\b' \"c\\\"d\" e\\ f", "/fleet \"unterminated",
		"~~~~\n~~~\n/fleet x\n~~~~\n\t/fleet y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		lines := strings.Split(body, "\n")
		last := 0
		for _, c := range ParseCommands(body) {
			if c.Line <= last || c.Line > len(lines) {
				t.Fatalf("command at line %d after line %d, body has %d lines", c.Line, last, len(lines))
			}
			last = c.Line
			if want := strings.TrimSuffix(lines[c.Line-1], "\r"); c.Raw != want {
				t.Fatalf("Raw = %q, line %d is %q", c.Raw, c.Line, want)
			}
			rest, ok := strings.CutPrefix(strings.TrimLeft(c.Raw, " \t"), "/fleet")
			if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
				t.Fatalf("line %q is not a /fleet command", c.Raw)
			}
			if strings.Trim(rest, " \t") == "" && (c.Name != "" || c.Args != nil) {
				t.Fatalf("name %q args %q from the blank %q", c.Name, c.Args, rest)
			}
			words := append([]string{c.Name}, c.Args...)
			// Quoting only removes bytes, never adds them.
			for _, w := range words {
				if len(w) > len(rest) {
					t.Fatalf("word %q longer than the line's rest %q", w, rest)
				}
			}
			// Without quotes or backslashes, words are the blank-separated fields.
			if !strings.ContainsAny(rest, `"'\`) {
				fields := strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' || r == '\t' })
				if len(fields) == 0 {
					fields = []string{""}
				}
				if !reflect.DeepEqual(words, fields) && !(len(fields) == 1 && fields[0] == "" && c.Name == "") {
					t.Fatalf("words %q, want fields %q of %q", words, fields, rest)
				}
			}
		}
	})
}

func TestMayHoldCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload string
		want    bool
	}{
		{"no command", `{"comment":{"body":"looks good to me"},"repository":{"full_name":"acme/fleet"}}`, false},
		{"a command", `{"comment":{"body":"LGTM\n/fleet approve"}}`, true},
		{"slash escaped", `{"comment":{"body":"\/fleet approve"}}`, true},
		{"slash as \\u002f", `{"comment":{"body":"\u002ffleet approve"}}`, true},
		{"a letter as \\u0065, upper-case hex", `{"comment":{"body":"/fl\u0065et approve"}}`, true},
		{"other characters escaped", `{"comment":{"body":"caf\u00e9 \u003cb\u003e"}}`, false},
		{"a broken escape", `{"comment":{"body":"\u00zz"}}`, true},
		{"an escape cut short", `{"comment":{"body":"\u00`, true},
		{"the words apart", `{"comment":{"body":"/ fleet"}}`, false},
		{"the repository's name", `{"comment":{"body":"see https://github.com/acme/fleet/pull/2"},"repository":{"full_name":"acme/fleet"}}`, false},
		{"a longer word", `{"comment":{"body":"/fleetbot status\n/fleet-status"}}`, false},
		{"not the first word", `{"comment":{"body":"please /fleet approve"}}`, false},
		{"after blanks on a later line", `{"comment":{"body":"LGTM\r\n \t /fleet approve"}}`, true},
		{"alone", `{"comment":{"body":"/fleet"}}`, true},
		{"before a tab", `{"comment":{"body":"/fleet\tstatus"}}`, true},
	}
	for _, tt := range tests {
		if got := MayHoldCommand([]byte(tt.payload)); got != tt.want {
			t.Errorf("%s: MayHoldCommand(%s) = %v, want %v", tt.name, tt.payload, got, tt.want)
		}
	}
}

// FuzzMayHoldCommand: whatever the JSON of a comment, MayHoldCommand never
// says no to one whose decoded body holds a command.
func FuzzMayHoldCommand(f *testing.F) {
	for _, body := range []string{`"/fleet approve"`, `"\/fleet"`, `"\u002Ffleet status"`, `"x\n/fl\u0065et\tpause"`, `"hello"`} {
		f.Add([]byte(`{"comment":{"body":` + body + `}}`))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var p struct {
			Comment struct {
				Body string `json:"body"`
			} `json:"comment"`
		}
		if json.Unmarshal(payload, &p) != nil {
			return
		}
		if len(ParseCommands(p.Comment.Body)) > 0 && !MayHoldCommand(payload) {
			t.Fatalf("body %q holds a command, MayHoldCommand(%s) = false", p.Comment.Body, payload)
		}
	})
}
