package gitrepo

import (
	"fmt"
	"path/filepath"
	"strings"
)

// maxNameLen is the longest owner or repository name GitHub accepts.
const maxNameLen = 100

// ValidateName checks an owner and a repository name against GitHub's rules
// as the sandbox keeps them: letters, digits, '-', '_' and '.', at most 100
// characters, never "." or "..", no "..", and a repository name not ending in
// ".git". The error wraps ErrInvalid and says which name is wrong.
func ValidateName(owner, name string) error {
	if err := checkName("owner", owner); err != nil {
		return err
	}
	if err := checkName("repository name", name); err != nil {
		return err
	}
	if strings.HasSuffix(strings.ToLower(name), ".git") {
		return fmt.Errorf("repository name %q must not end in .git: %w", name, ErrInvalid)
	}
	return nil
}

func checkName(what, s string) error {
	if s == "" || len(s) > maxNameLen {
		return fmt.Errorf("%s %q must have 1 to %d characters: %w", what, s, maxNameLen, ErrInvalid)
	}
	if strings.Contains(s, "..") || s == "." {
		return fmt.Errorf("%s %q must not be . or contain ..: %w", what, s, ErrInvalid)
	}
	for _, c := range []byte(s) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return fmt.Errorf("%s %q may hold only letters, digits, '-', '_' and '.': %w", what, s, ErrInvalid)
		}
	}
	return nil
}

// RepoPath returns where the repository owner/name lives under root:
// root/OWNER/NAME.git. It returns "" when ValidateName rejects the names, so
// no name can reach outside root; Init and Open refuse "".
func RepoPath(root, owner, name string) string {
	if ValidateName(owner, name) != nil {
		return ""
	}
	return filepath.Join(root, owner, name+".git")
}
