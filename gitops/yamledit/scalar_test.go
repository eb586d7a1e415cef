package yamledit

import (
	"strconv"
	"strings"
	"testing"
)

// TestPlainTag checks what plain texts resolve to, asked once and again
// (the second answer remembered), and that the memory stays bounded.
func TestPlainTag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    string
		flow bool
		tag  string
		ok   bool
	}{
		{"release3", false, "!!str", true},
		{"1.30", false, "!!float", true},
		{"130", false, "!!int", true},
		{"true", false, "!!bool", true},
		{"null", false, "!!null", true},
		{"a b", false, "!!str", true},
		{"a,b", false, "!!str", true},
		{"a,b", true, "", false},
		{"k: v", false, "", false},
		{"x # c", false, "", false},
		{"- x", false, "", false},
		{" x", false, "", false},
		{"*a", false, "", false},
		{"&a x", false, "", false},
		{"", false, "", false},
		{"a\nb", false, "", false},
		{strings.Repeat("long ", 40), false, "", false},
		{strings.Repeat("long", 40), false, "!!str", true},
	}
	for range 2 {
		for _, tt := range tests {
			tag, ok := plainTag(tt.v, tt.flow)
			if tag != tt.tag || ok != tt.ok {
				t.Errorf("plainTag(%q, %v) = %q, %v; want %q, %v", tt.v, tt.flow, tag, ok, tt.tag, tt.ok)
			}
		}
	}
	for i := range memoSize + 10 {
		if tag, ok := plainTag("v"+strconv.Itoa(i), false); tag != "!!str" || !ok {
			t.Fatalf("v%d: %q, %v", i, tag, ok)
		}
	}
	plainTags.mu.Lock()
	n := len(plainTags.m)
	plainTags.mu.Unlock()
	if n > memoSize {
		t.Errorf("plainTag remembers %d texts, more than %d", n, memoSize)
	}
}
