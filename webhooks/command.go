package webhooks

import (
	"bytes"
	"strings"
)

// commandPrefix is the first word of every command line.
const commandPrefix = "/fleet"

// MayHoldCommand reports whether the raw JSON payload of a comment may hold
// a `/fleet` line, without decoding it. It answers false only when no JSON
// string of the payload can decode to a line whose first word is /fleet:
// wherever the bytes "/fleet" appear they do not both start a line (after
// blanks) and end a word, and no escape (`\/`, or `\u` of "/", a letter of
// "fleet", a blank or a line end) could spell one. Where it cannot tell, it
// answers true.
func MayHoldCommand(payload []byte) bool {
	for at := 0; ; {
		i := bytes.Index(payload[at:], []byte(commandPrefix))
		if i < 0 {
			break
		}
		i += at
		if startsLine(payload[:i]) && endsWord(payload[i+len(commandPrefix):]) {
			return true
		}
		at = i + 1
	}
	if bytes.Contains(payload, []byte(`\/`)) {
		return true
	}
	for rest := payload; ; {
		i := bytes.Index(rest, []byte(`\u`))
		if i < 0 {
			return false
		}
		rest = rest[i+2:]
		if len(rest) < 4 {
			return true // not JSON; let the decoder say so
		}
		r, ok := hexRune(rest[:4])
		if !ok || strings.ContainsRune(commandPrefix+" \t\r\n", r) {
			return true
		}
	}
}

// startsLine reports whether the raw JSON before a "/fleet" may end, past
// spaces and tabs, where a string or a line starts: `"` or `\n`. An escaped
// quote or backslash before them only makes it answer true more often.
func startsLine(before []byte) bool {
	for {
		switch {
		case bytes.HasSuffix(before, []byte(" ")):
			before = before[:len(before)-1]
		case bytes.HasSuffix(before, []byte(`\t`)):
			before = before[:len(before)-2]
		default:
			return bytes.HasSuffix(before, []byte(`"`)) || bytes.HasSuffix(before, []byte(`\n`))
		}
	}
}

// endsWord reports whether the raw JSON after a "/fleet" may end its first
// word: the string's end, a space, or an escape (a tab or a line end among
// them).
func endsWord(after []byte) bool {
	return len(after) == 0 || after[0] == '"' || after[0] == ' ' || after[0] == '\\'
}

// hexRune decodes the four hex digits of a JSON \u escape.
func hexRune(h []byte) (rune, bool) {
	var r rune
	for _, c := range h {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// ParseCommands returns the `/fleet` lines of a comment body, in order. A
// line is a command when its first word, after any leading spaces or tabs,
// is exactly /fleet. Lines inside fenced code blocks (``` or ~~~, closed by
// a fence of the same character at least as long, or running to the end of
// the body when never closed) are shown as code, not run, so they are
// skipped. Lines end at "\n" or "\r\n".
//
// The words after /fleet are split as a POSIX shell splits them: blanks
// separate words; single quotes keep everything up to the next single
// quote; double quotes keep everything up to the next unescaped double
// quote, where a backslash escapes only `"`, `\`, `$` and "`"; outside
// quotes a backslash keeps the next character as it is. Quoted and unquoted
// parts next to each other form one word, and "" is an empty word. An
// unterminated quote keeps the rest of the line as one word, and the
// command says which quote was left open (Unclosed), as a shell would
// refuse the line. Typographic quotes, “ ” and ‘ ’ as phones type them,
// quote as single quotes do, each up to its closing mark.
func ParseCommands(body string) []Command {
	var (
		out   []Command
		fence string // the opening fence while inside a code block
	)
	for i, line := range strings.Split(body, "\n") {
		line = strings.TrimSuffix(line, "\r")
		trimmed := strings.TrimLeft(line, " \t")
		if fence != "" {
			if closesFence(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if f := openingFence(trimmed); f != "" {
			fence = f
			continue
		}
		rest, ok := strings.CutPrefix(trimmed, commandPrefix)
		if !ok || (rest != "" && !isBlank(rest[0])) {
			continue
		}
		cmd := Command{Line: i + 1, Raw: line}
		words, unclosed := splitWords(rest)
		cmd.Unclosed = unclosed
		if len(words) > 0 {
			cmd.Name = words[0]
			if len(words) > 1 {
				cmd.Args = words[1:]
			}
		}
		out = append(out, cmd)
	}
	return out
}

// openingFence returns the fence a line opens (three or more backticks or
// tildes), or "" when it opens none. A backtick fence's info string may not
// hold a backtick, as in CommonMark.
func openingFence(line string) string {
	for _, c := range []byte{'`', '~'} {
		n := 0
		for n < len(line) && line[n] == c {
			n++
		}
		if n < 3 {
			continue
		}
		if c == '`' && strings.IndexByte(line[n:], '`') >= 0 {
			return ""
		}
		return line[:n]
	}
	return ""
}

// closesFence reports whether line closes the code block opened by fence: a
// run of the same character at least as long, followed by blanks only.
func closesFence(line, fence string) bool {
	n := 0
	for n < len(line) && line[n] == fence[0] {
		n++
	}
	return n >= len(fence) && strings.TrimLeft(line[n:], " \t") == ""
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// closingMark returns where closing closes the quote in rest, -1 for
// nowhere. A right single quote followed by a letter or a digit is an
// apostrophe ("it’s"), not the close.
func closingMark(rest, closing string) int {
	for from := 0; ; {
		j := strings.Index(rest[from:], closing)
		if j < 0 {
			return -1
		}
		j += from
		after := j + len(closing)
		if closing != rightSingle || after == len(rest) || !isWordByte(rest[after]) {
			return j
		}
		from = after
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// The typographic quotes a /fleet line may quote words with.
const (
	leftDouble, rightDouble = "\u201c", "\u201d" // “ ”
	leftSingle, rightSingle = "\u2018", "\u2019" // ‘ ’
)

// splitWords splits s into words as a POSIX shell does, without
// expansions, and returns the quote s leaves open (0 for none).
func splitWords(s string) (words []string, unclosed byte) {
	var (
		word strings.Builder
		open bool // a word has begun, possibly empty (from "")
	)
	end := func() {
		if open {
			words = append(words, word.String())
			word.Reset()
			open = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isBlank(c):
			end()
		case c == '\'':
			open = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				word.WriteString(s[i+1:])
				i, unclosed = len(s), '\''
				break
			}
			word.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			open = true
			if i = readDoubleQuoted(s, i+1, &word); i == len(s) {
				unclosed = '"'
			}
		case strings.HasPrefix(s[i:], leftDouble) || strings.HasPrefix(s[i:], leftSingle):
			// Typographic quotes, as phones and some editors type them,
			// quote as ' does: up to their closing mark.
			open = true
			opening, closing, as := leftDouble, rightDouble, byte('"')
			if strings.HasPrefix(s[i:], leftSingle) {
				opening, closing, as = leftSingle, rightSingle, '\''
			}
			rest := s[i+len(opening):]
			j := closingMark(rest, closing)
			if j < 0 {
				word.WriteString(rest)
				i, unclosed = len(s), as
				break
			}
			word.WriteString(rest[:j])
			i += len(opening) + j + len(closing) - 1
		case c == '\\' && i+1 < len(s):
			open = true
			word.WriteByte(s[i+1])
			i++
		default:
			open = true
			word.WriteByte(c)
		}
	}
	end()
	return words, unclosed
}

// readDoubleQuoted writes the double-quoted text that starts at s[i] to w
// and returns the index of the closing quote (len(s) when there is none).
func readDoubleQuoted(s string, i int, w *strings.Builder) int {
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i
		case c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0:
			w.WriteByte(s[i+1])
			i++
		default:
			w.WriteByte(c)
		}
	}
	return i
}
