package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestServiceStatusIsASentence: whatever this machine's service manager
// answers (here offsite is never installed), `service status` says it in
// words and exits 0, never as a bare "exit status 1".
func TestServiceStatusIsASentence(t *testing.T) {
	out, err := exec.Command(offsiteBin, "service", "status", "-c", "/nonexistent/offsite.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("service status: %v\n%s", err, out)
	}
	s := strings.TrimSpace(string(out))
	if strings.HasPrefix(s, "exit status") || strings.Contains(s, "offsite: service status:") {
		t.Errorf("service status printed %q", s)
	}
	if !strings.Contains(s, "offsite") || !strings.Contains(s, "service") || strings.Count(s, "\n") > 0 {
		t.Errorf("service status is not one sentence about offsite's service: %q", s)
	}
}
