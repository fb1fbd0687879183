package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers/dropbox/fakedropbox"
	"github.com/offsite-backup/offsite/providers/gdrive/fakedrive"
	"github.com/offsite-backup/offsite/providers/onedrive/fakegraph"
)

// TestFidelityDocListsEveryRoute holds docs/fidelity.md to the routes the
// emulators serve: each emulator's table (the "### …" section naming its
// package) lists in its first column, in backticks, exactly the routes the
// package mounts and dispatches, so a new route cannot go undocumented and
// a removed one cannot stay in the table.
func TestFidelityDocListsEveryRoute(t *testing.T) {
	doc, err := os.ReadFile("../../docs/fidelity.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pkg    string // as named in the section heading
		routes []string
	}{
		{"fakedrive", fakedrive.Routes()},
		{"fakedropbox", fakedropbox.Routes()},
		{"fakegraph", fakegraph.Routes()},
		{"internal/fakecloud", fakecloud.ControlRoutes()},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			if len(tc.routes) == 0 {
				t.Fatal("the package lists no routes")
			}
			listed := docRoutes(t, string(doc), tc.pkg)
			for _, r := range tc.routes {
				if !slices.Contains(listed, r) {
					t.Errorf("route %q is served but missing from the %s table in docs/fidelity.md", r, tc.pkg)
				}
			}
			for _, r := range listed {
				if !slices.Contains(tc.routes, r) {
					t.Errorf("docs/fidelity.md lists %q for %s, which it does not serve", r, tc.pkg)
				}
			}
		})
	}
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// docRoutes returns the backticked spans in the first column of the table
// rows in the "### " section whose heading names pkg in backticks.
func docRoutes(t *testing.T, doc, pkg string) []string {
	t.Helper()
	var out []string
	found := false
	for _, sec := range strings.Split(doc, "\n### ")[1:] {
		heading, body, _ := strings.Cut(sec, "\n")
		if !strings.Contains(heading, "`"+pkg+"`") {
			continue
		}
		found = true
		if i := strings.Index(body, "\n## "); i >= 0 {
			body = body[:i] // the section ends at the next chapter
		}
		for _, line := range strings.Split(body, "\n") {
			cells := strings.Split(line, "|")
			if !strings.HasPrefix(line, "|") || len(cells) < 3 || strings.HasPrefix(cells[1], "---") {
				continue
			}
			for _, m := range codeSpan.FindAllStringSubmatch(cells[1], -1) {
				out = append(out, m[1])
			}
		}
	}
	if !found {
		t.Fatalf("docs/fidelity.md has no \"### …\" section naming `%s`", pkg)
	}
	return out
}
