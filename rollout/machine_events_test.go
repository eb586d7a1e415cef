package rollout

import "testing"

func TestGateSentence(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, detail, want string }{
		{"no evidence", "terraform-apply (a) failed on 1a2b3c4", "terraform-apply (a) failed on 1a2b3c4"},
		{"one group", "terraform-apply (a) succeeded on 1a2b3c4 [check=check run terraform-apply (a) revision=1a2b value=success]", "terraform-apply (a) succeeded on 1a2b3c4"},
		{"two groups", "app degraded [check=application a value=Degraded] [check=application b value=Healthy]", "app degraded"},
		{"a deadline quoting a gate", "not Succeeded by its deadline 2025-01-06T12:00:00Z (progress deadline 1h); gates not passed: argocd; argocd last saw: app a OutOfSync [check=application a revision=abc value=OutOfSync]",
			"not Succeeded by its deadline 2025-01-06T12:00:00Z (progress deadline 1h); gates not passed: argocd; argocd last saw: app a OutOfSync"},
		{"a bracket that is not evidence", "value [5m] over the threshold", "value [5m] over the threshold"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := GateSentence(tt.detail); got != tt.want {
				t.Errorf("GateSentence(%q) = %q, want %q", tt.detail, got, tt.want)
			}
		})
	}
}
