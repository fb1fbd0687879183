package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPruneBySeries is issue 11's folder through the real binary: two
// workbooks saved once, one rewritten in place, and a dated day-end file a
// day, with keep last 2. `prune --dry-run` shows each series; `prune` then
// deletes only the old day-end files.
func TestPruneBySeries(t *testing.T) {
	e := newEnv(t, "300ms")
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	dest := "    path: " + e.dest + "\n"
	if !strings.Contains(string(cfg), dest) {
		t.Fatalf("config has no %q", dest)
	}
	cfg = []byte(strings.Replace(string(cfg), dest, dest+"    keep: {last: 2}\n", 1))
	if err := os.WriteFile(e.config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string, mtime time.Time) {
		t.Helper()
		p := filepath.Join(e.watch, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	at := func(day, hh int) time.Time { return time.Date(2026, 11, day, hh, 15, 0, 0, time.UTC) }
	write("stock.xlsx", "stock list", at(2, 9))
	write("accounts.xlsx", "ledger", at(3, 9))
	write("data.xlsx", "data v1", at(4, 9))
	for day := 20; day <= 24; day++ {
		write("dagsavslut 2026-11-"+itoa2(day)+".bak", "day end "+itoa2(day), at(day, 22))
	}
	if out, err := e.run("once"); err != nil {
		t.Fatalf("once: %v\n%s", err, out)
	}
	write("data.xlsx", "data v2", at(5, 9))
	if out, err := e.run("once"); err != nil {
		t.Fatalf("second once: %v\n%s", err, out)
	}
	stamped := "pos/data.2026-11-05T091500Z.xlsx"
	before := e.destFiles()
	if len(before) != 9 || before[stamped] == "" {
		t.Fatalf("destination before prune: %v", before)
	}

	out, err := e.run("prune", "--dry-run")
	if err != nil {
		t.Fatalf("prune --dry-run: %v\n%s", err, out)
	}
	for _, line := range []string{
		`usb: watch pos: series "stock.xlsx": 1 copy, the only one: kept`,
		`usb:   keep   pos/stock.xlsx (kept: only copy of its series)`,
		`usb: watch pos: series "accounts.xlsx": 1 copy, the only one: kept`,
		`usb: watch pos: series "data.xlsx": 2 copies: keep 2, would delete 0`,
		`usb: watch pos: series "dagsavslut <date>.bak": 5 copies: keep 2, would delete 3`,
		`usb:   would delete pos/dagsavslut 2026-11-20.bak (dropped: not among the copies kept by last 2)`,
		`would delete 3 file(s)`,
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("prune --dry-run lacks %q:\n%s", line, out)
		}
	}
	if got := e.destFiles(); len(got) != len(before) {
		t.Fatalf("dry run deleted files: %v", got)
	}

	if out, err := e.run("prune"); err != nil {
		t.Fatalf("prune: %v\n%s", err, out)
	}
	after := e.destFiles()
	for _, name := range []string{"pos/stock.xlsx", "pos/accounts.xlsx", "pos/data.xlsx", stamped,
		"pos/dagsavslut 2026-11-23.bak", "pos/dagsavslut 2026-11-24.bak"} {
		if after[name] != before[name] {
			t.Errorf("%s was deleted", name)
		}
	}
	if len(after) != 6 {
		t.Errorf("after prune the destination holds %v, want the 6 above", after)
	}
}

func itoa2(d int) string { return time.Date(2000, 1, d, 0, 0, 0, 0, time.UTC).Format("02") }
