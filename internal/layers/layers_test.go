// Package layers holds one test: it keeps the dependency layers honest.
package layers

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestLayers fails when a provider package imports the pipeline, or the
// queue imports a provider adapter: providers know how to store bytes,
// nothing about why. Only internal/app and cmd wire: no other package
// imports internal/app, only internal/app picks adapters, and the policy
// and command packages (schedule, retention, monitor, drill, verify,
// check, push) reach uploads only through the queue and the Provider interface,
// never the daemon.
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-e", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}", "../../...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "github.com/offsite-backup/offsite/"
	// The policy packages use the Provider interface, never an adapter.
	adapters := []string{mod + "providers/local", mod + "providers/gdrive", mod + "providers/dropbox", mod + "providers/onedrive", mod + "providers/registry"}
	rules := []struct {
		from      string
		forbidden []string
	}{
		{mod + "providers", []string{mod + "queue", mod + "watcher", mod + "daemon", mod + "notify", mod + "config", mod + "internal/app"}},
		{mod + "queue", []string{mod + "providers/", mod + "watcher", mod + "daemon", mod + "notify"}},
		{mod + "watcher", []string{mod + "providers", mod + "queue", mod + "daemon"}},
		{mod + "config", []string{mod + "providers/", mod + "queue", mod + "daemon", mod + "watcher"}},
		{mod + "providers", []string{mod + "schedule", mod + "retention", mod + "monitor", mod + "expect"}},
		{mod + "queue", []string{mod + "config", mod + "schedule", mod + "retention", mod + "monitor"}},
		{mod + "daemon", []string{mod + "config", mod + "internal/app", mod + "schedule", mod + "retention", mod + "monitor"}},
		{mod + "schedule", append([]string{mod + "daemon", mod + "watcher", mod + "notify", mod + "internal/app"}, adapters...)},
		{mod + "retention", append([]string{mod + "daemon", mod + "watcher", mod + "notify", mod + "internal/app"}, adapters...)},
		{mod + "monitor", append([]string{mod + "daemon", mod + "watcher", mod + "internal/app"}, adapters...)},
		{mod + "expect", []string{mod + "queue", mod + "daemon", mod + "providers", mod + "internal/app"}},
		// The command behaviours (test restores, verify, check) work through
		// the Provider interface and the queue they are handed; the daemon
		// and the adapters are the wiring's business.
		{mod + "drill", append([]string{mod + "daemon", mod + "watcher", mod + "internal/app", mod + "config"}, adapters...)},
		{mod + "verify", append([]string{mod + "daemon", mod + "watcher", mod + "internal/app", mod + "config"}, adapters...)},
		{mod + "check", append([]string{mod + "daemon", mod + "watcher", mod + "internal/app"}, adapters...)},
		{mod + "push", append([]string{mod + "daemon", mod + "watcher", mod + "internal/app", mod + "config", mod + "queue"}, adapters...)},
		// The service manager and the init questions are handed the steps
		// they run; they open no queue and no destination themselves.
		{mod + "internal/service", []string{mod + "internal/app", mod + "config", mod + "queue", mod + "daemon", mod + "providers"}},
		{mod + "internal/setup", []string{mod + "internal/app", mod + "queue", mod + "daemon", mod + "watcher", mod + "providers"}},
		// The status object is filled in by the wiring; it and the page that
		// renders it read nothing themselves.
		{mod + "status", []string{mod + "internal/app", mod + "queue", mod + "daemon", mod + "watcher", mod + "providers", mod + "config"}},
		{mod + "internal/statuspage", []string{mod + "internal/app", mod + "queue", mod + "daemon", mod + "watcher", mod + "providers", mod + "config"}},
	}
	checked := 0
	for _, line := range strings.Split(string(out), "\n") {
		pkg, imports, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		for _, r := range rules {
			if pkg != r.from && !strings.HasPrefix(pkg, r.from+"/") {
				continue
			}
			checked++
			for _, imp := range strings.Fields(imports) {
				for _, f := range r.forbidden {
					if imp == strings.TrimSuffix(f, "/") || strings.HasPrefix(imp, f) && strings.HasSuffix(f, "/") || strings.HasPrefix(imp, f+"/") {
						t.Errorf("%s imports %s: that crosses a layer (see docs/architecture.md)", pkg, imp)
					}
				}
			}
		}
	}
	// Only the wiring and the commands import the wiring.
	for _, line := range strings.Split(string(out), "\n") {
		pkg, imports, ok := strings.Cut(line, ": ")
		if !ok || strings.HasPrefix(pkg, mod+"cmd/") || strings.HasPrefix(pkg, mod+"internal/app") {
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if imp == mod+"internal/app" {
				t.Errorf("%s imports %s: only cmd/... wires the parts through internal/app (see docs/architecture.md)", pkg, imp)
			}
		}
	}
	// Only the wiring picks adapters: every other package is handed a
	// providers.Provider (the adapters' own packages aside).
	for _, line := range strings.Split(string(out), "\n") {
		pkg, imports, ok := strings.Cut(line, ": ")
		if !ok || strings.HasPrefix(pkg, mod+"internal/app") || strings.HasPrefix(pkg, mod+"providers/") {
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if slices.Contains(adapters, imp) || imp == mod+"providers/email" {
				t.Errorf("%s imports the adapter %s: only internal/app composes destinations (see docs/architecture.md)", pkg, imp)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no package checked: the rule list is stale")
	}
}
