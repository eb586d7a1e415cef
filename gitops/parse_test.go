package gitops

import (
	"regexp"
	"testing"
)

// The name, account and version checks are loops; these are the patterns
// they stand for.
var (
	namePattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)
)

func TestNameChecks(t *testing.T) {
	for _, tc := range []struct {
		in                     string
		name, account, version bool
	}{
		{in: ""},
		{in: "a", name: true},
		{in: "tenant-a", name: true},
		{in: "T1.dev_2-x", name: true},
		{in: "-a"},
		{in: ".a"},
		{in: "a/b"},
		{in: "a b"},
		{in: "é"},
		{in: "123456789012", name: true, account: true},
		{in: "12345678901", name: true},
		{in: "1234567890123", name: true},
		{in: "12345678901a", name: true},
		{in: "1.30", name: true, version: true},
		{in: "10.0", name: true, version: true},
		{in: "1.", name: true},
		{in: ".30"},
		{in: "1.3.0", name: true},
		{in: "1.x", name: true},
		{in: "v1.30", name: true},
	} {
		if got := isName(tc.in); got != tc.name {
			t.Errorf("isName(%q) = %v, want %v", tc.in, got, tc.name)
		}
		if got := isAccount(tc.in); got != tc.account {
			t.Errorf("isAccount(%q) = %v, want %v", tc.in, got, tc.account)
		}
		if got := isEKSVersion(tc.in); got != tc.version {
			t.Errorf("isEKSVersion(%q) = %v, want %v", tc.in, got, tc.version)
		}
	}
}

func FuzzNameChecks(f *testing.F) {
	for _, s := range []string{"", "a", "tenant-a.b_c", "-a", "123456789012", "1.30", "1..3", "é1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isName(s), namePattern.MatchString(s); got != want {
			t.Errorf("isName(%q) = %v, the pattern says %v", s, got, want)
		}
		if got, want := isAccount(s), accountPattern.MatchString(s); got != want {
			t.Errorf("isAccount(%q) = %v, the pattern says %v", s, got, want)
		}
		if got, want := isEKSVersion(s), versionPattern.MatchString(s); got != want {
			t.Errorf("isEKSVersion(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}
