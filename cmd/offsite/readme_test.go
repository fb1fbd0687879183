package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestReadmeListsEveryCommand keeps the README's command table in step with
// the program: every command has a row, and every flag of it is named in
// that row, so what a shop owner reads is what the program takes.
func TestReadmeListsEveryCommand(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // command → its table row(s)
	for _, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, "| `offsite ") {
			continue
		}
		first, _, _ := strings.Cut(line[2:], "|")
		for _, call := range strings.Split(first, ",") {
			f := strings.Fields(strings.Trim(strings.TrimSpace(call), "`"))
			if len(f) >= 2 {
				rows[f[1]] += line
			}
		}
	}
	root := newRoot(io.Discard, io.Discard)
	var walk func(c *cobra.Command, name string)
	walk = func(c *cobra.Command, name string) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			n := strings.TrimSpace(name + " " + sub.Name())
			top, _, _ := strings.Cut(n, " ")
			row, ok := rows[top]
			if !ok {
				t.Errorf("README's command table has no row for `offsite %s`", n)
				continue
			}
			sub.LocalFlags().VisitAll(func(f *pflag.Flag) {
				if f.Name != "help" && !strings.Contains(row, "--"+f.Name) {
					t.Errorf("README's row for `offsite %s` does not name its flag --%s", top, f.Name)
				}
			})
			if sub.Name() != "service" { // install|uninstall|start|stop are one row
				walk(sub, n)
			}
		}
	}
	walk(root, "")
}
