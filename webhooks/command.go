package webhooks

import "strings"

// commandPrefix is the first word of every command line.
const commandPrefix = "/fleet"

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
// unterminated quote keeps the rest of the line as one word.
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
		if words := splitWords(rest); len(words) > 0 {
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

// splitWords splits s into words as a POSIX shell does, without expansions.
func splitWords(s string) []string {
	var (
		words []string
		word  strings.Builder
		open  bool // a word has begun, possibly empty (from "")
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
				i = len(s)
				break
			}
			word.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			open = true
			i = readDoubleQuoted(s, i+1, &word)
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
	return words
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
