package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/queue"
)

// tenDays uploads one backup a day for ten days, 1-10 March, and puts a
// file offsite did not make beside them.
func tenDays(t *testing.T, a *App, watch, usb string) []*queue.Job {
	t.Helper()
	var jobs []*queue.Job
	for day := 1; day <= 10; day++ {
		name := fmt.Sprintf("pos-%02d.bak", day)
		v := backup(t, a, watch, name, "backup of day "+name, time.Date(2026, 3, day, 22, 0, 0, 0, time.UTC))
		jobs = append(jobs, uploaded(t, a, watch, v))
	}
	if err := os.WriteFile(filepath.Join(usb, "pos", "foreign.bak"), []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}
	return jobs
}

func TestPruneKeepsGFSAndNeverForeignFiles(t *testing.T) {
	a, watch, usb := keepApp(t, "    timezone: UTC\n    keep: {daily: 3}\n", "")
	tenDays(t, a, watch, usb)
	ctx := context.Background()

	var out bytes.Buffer
	would, err := a.Prune(ctx, true, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(would) != 7 || !strings.Contains(out.String(), "would delete pos/pos-01.bak (dropped: not among the copies kept by daily 3)") {
		t.Fatalf("dry run listed %v:\n%s", would, out.String())
	}
	if !exists(filepath.Join(usb, "pos", "pos-01.bak")) {
		t.Fatal("dry run deleted a file")
	}

	out.Reset()
	deleted, err := a.Prune(ctx, false, &out)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for day := 7; day >= 1; day-- {
		want = append(want, fmt.Sprintf("usb:pos/pos-%02d.bak", day))
	}
	if !slices.Equal(deleted, want) {
		t.Fatalf("deleted %v, want %v\n%s", deleted, want, out.String())
	}
	for day := 1; day <= 10; day++ {
		if got, want := exists(filepath.Join(usb, "pos", fmt.Sprintf("pos-%02d.bak", day))), day >= 8; got != want {
			t.Errorf("day %d present %v, want %v", day, got, want)
		}
	}
	if !exists(filepath.Join(usb, "pos", "foreign.bak")) {
		t.Fatal("prune deleted a file offsite did not upload")
	}
	if !strings.Contains(out.String(), "usb:   keep   pos/pos-10.bak (kept: newest verified copy, daily 2026-03-10)") {
		t.Errorf("output lacks the newest copy's reason:\n%s", out.String())
	}
	pruned, _ := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Pruned}})
	if len(pruned) != 7 {
		t.Errorf("%d jobs marked pruned, want 7", len(pruned))
	}
	// Nothing left to do, and the pruned uploads are not looked for again.
	out.Reset()
	if again, err := a.Prune(ctx, false, &out); err != nil || len(again) != 0 {
		t.Fatalf("second prune deleted %v, %v", again, err)
	}
	var vout bytes.Buffer
	if bad := a.Verify(ctx, &vout); bad != 0 {
		t.Errorf("verify after prune: %s", vout.String())
	}
}

func TestPruneHoldsWhileNewestUploadFails(t *testing.T) {
	a, watch, usb := keepApp(t, "    keep: {last: 2}\n", "")
	tenDays(t, a, watch, usb)
	ctx := context.Background()
	v := backup(t, a, watch, "pos-11.bak", "day 11", time.Date(2026, 3, 11, 22, 0, 0, 0, time.UTC))
	j := jobOf(t, a, v)
	if _, err := a.Store.Fail(ctx, j.ID, "temporary", "connection reset", time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	deleted, err := a.Prune(ctx, false, &out)
	if err != nil || len(deleted) != 0 {
		t.Fatalf("deleted %v, %v while the newest upload fails", deleted, err)
	}
	if !strings.Contains(out.String(), "the newest upload (pos-11.bak) is failing") {
		t.Errorf("output does not say why:\n%s", out.String())
	}
	for day := 1; day <= 10; day++ {
		if !exists(filepath.Join(usb, "pos", fmt.Sprintf("pos-%02d.bak", day))) {
			t.Fatalf("day %d deleted", day)
		}
	}
	// Once it succeeds, pruning goes ahead and keeps the two newest.
	uploaded(t, a, watch, v)
	deleted, err = a.Prune(ctx, false, &out)
	if err != nil || len(deleted) != 9 {
		t.Fatalf("deleted %d (%v), want 9", len(deleted), err)
	}
}

// The newest copy failed its test restore: it is no copy to keep in place
// of the good older ones, so nothing of that watch there is pruned until
// it is replaced.
func TestPruneHoldsWhileACopyFailedItsTestRestore(t *testing.T) {
	a, watch, usb := keepApp(t, "    keep: {last: 1}\n", "")
	jobs := tenDays(t, a, watch, usb)
	ctx := context.Background()
	bad := queue.TestRestore{At: time.Now(), Destination: "usb", Remote: jobs[9].RemotePath, Watch: "pos", File: "pos-10.bak",
		Error: "the restored bytes are not the original backup"}
	if err := a.Store.RecordTestRestores(ctx, []queue.TestRestore{bad}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	deleted, err := a.Prune(ctx, false, &out)
	if err != nil || len(deleted) != 0 {
		t.Fatalf("deleted %v, %v while the kept copy is known to be damaged", deleted, err)
	}
	if !strings.Contains(out.String(), "failed its last test restore") || !strings.Contains(out.String(), "verify --restore usb --repair") {
		t.Errorf("output does not say why or what to do:\n%s", out.String())
	}
	for day := 1; day <= 10; day++ {
		if !exists(filepath.Join(usb, "pos", fmt.Sprintf("pos-%02d.bak", day))) {
			t.Fatalf("day %d deleted", day)
		}
	}
	// A later test restore that passes lifts the hold.
	bad.Error = ""
	if err := a.Store.RecordTestRestores(ctx, []queue.TestRestore{bad}); err != nil {
		t.Fatal(err)
	}
	if deleted, err = a.Prune(ctx, false, &out); err != nil || len(deleted) != 9 {
		t.Fatalf("deleted %d (%v), want 9", len(deleted), err)
	}
}

func TestPruneWithoutKeepDeletesNothing(t *testing.T) {
	a, watch, usb := keepApp(t, "", "")
	tenDays(t, a, watch, usb)
	var out bytes.Buffer
	deleted, err := a.Prune(context.Background(), false, &out)
	if err != nil || len(deleted) != 0 {
		t.Fatalf("deleted %v, %v", deleted, err)
	}
}

// TestPruneKeepsEverySeries is the folder of issue 11: two workbooks saved
// once, a workbook rewritten in place (its second version gets a timestamped
// remote name) and a dated day-end file per day, with keep last 2. Only the
// old day-end files may go; before retention knew series, the newer day-end
// files pushed out the only copies of the workbooks.
func TestPruneKeepsEverySeries(t *testing.T) {
	a, watch, usb := keepApp(t, "    keep: {last: 2}\n", "")
	ctx := context.Background()
	at := func(day, hh int) time.Time { return time.Date(2026, 11, day, hh, 15, 0, 0, time.UTC) }
	uploaded(t, a, watch, backup(t, a, watch, "stock.xlsx", "stock list", at(2, 9)))
	uploaded(t, a, watch, backup(t, a, watch, "accounts.xlsx", "ledger", at(3, 9)))
	uploaded(t, a, watch, backup(t, a, watch, "data.xlsx", "data v1", at(4, 9)))
	uploaded(t, a, watch, backup(t, a, watch, "data.xlsx", "data v2", at(5, 9)))
	for day := 20; day <= 24; day++ {
		name := fmt.Sprintf("dagsavslut 2026-11-%02d.bak", day)
		uploaded(t, a, watch, backup(t, a, watch, name, "day end "+name, at(day, 22)))
	}
	stamped := "data.2026-11-05T091500Z.xlsx"
	if !exists(filepath.Join(usb, "pos", stamped)) {
		t.Fatalf("the rewritten workbook's second version is not at %s", stamped)
	}

	var out bytes.Buffer
	would, err := a.Prune(ctx, true, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`usb: watch pos: series "accounts.xlsx": 1 copy, the only one: kept`,
		`usb:   keep   pos/accounts.xlsx (kept: only copy of its series)`,
		`usb: watch pos: series "stock.xlsx": 1 copy, the only one: kept`,
		`usb: watch pos: series "data.xlsx": 2 copies: keep 2, would delete 0`,
		`usb:   keep   pos/` + stamped + ` (kept: last 2)`,
		`usb: watch pos: series "dagsavslut <date>.bak": 5 copies: keep 2, would delete 3`,
		`usb:   keep   pos/dagsavslut 2026-11-24.bak (kept: newest verified copy, last 2)`,
		`usb:   would delete pos/dagsavslut 2026-11-20.bak (dropped: not among the copies kept by last 2)`,
		`would delete 3 file(s)`,
	} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("dry run lacks %q:\n%s", line, out.String())
		}
	}
	if len(would) != 3 {
		t.Errorf("dry run would delete %v", would)
	}

	out.Reset()
	deleted, err := a.Prune(ctx, false, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"usb:pos/dagsavslut 2026-11-22.bak", "usb:pos/dagsavslut 2026-11-21.bak", "usb:pos/dagsavslut 2026-11-20.bak"}
	if !slices.Equal(deleted, want) {
		t.Fatalf("deleted %v, want %v\n%s", deleted, want, out.String())
	}
	for name, want := range map[string]bool{
		"stock.xlsx": true, "accounts.xlsx": true, "data.xlsx": true, stamped: true,
		"dagsavslut 2026-11-24.bak": true, "dagsavslut 2026-11-23.bak": true,
		"dagsavslut 2026-11-22.bak": false, "dagsavslut 2026-11-21.bak": false, "dagsavslut 2026-11-20.bak": false,
	} {
		if got := exists(filepath.Join(usb, "pos", name)); got != want {
			t.Errorf("%s present %v, want %v", name, got, want)
		}
	}
}

// TestPruneScheduleCopiesBySeries: a schedule's keep counts within series
// too, so the weekly copy of a workbook is not pushed out by day-end files.
func TestPruneScheduleCopiesBySeries(t *testing.T) {
	a, watch, usb := keepApp(t, "", `schedules:
  - name: weekly
    cron: "0 18 * * FRI"
    copy_latest: pos
    destinations: [usb]
    keep: {last: 1}
`)
	ctx := context.Background()
	dir := filepath.Join(usb, "weekly", "pos")
	os.MkdirAll(dir, 0o755)
	for i, name := range []string{"stock.xlsx", "dagsavslut 2026-11-13.bak", "dagsavslut 2026-11-20.bak"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		v := backup(t, a, watch, name, name, time.Date(2026, 11, 6+7*i, 18, 0, 0, 0, time.UTC))
		copiedBy(t, a, "weekly", v, "weekly/pos/"+name)
	}
	var out bytes.Buffer
	deleted, err := a.Prune(ctx, false, &out)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"usb:weekly/pos/dagsavslut 2026-11-13.bak"}; !slices.Equal(deleted, want) {
		t.Fatalf("deleted %v, want %v\n%s", deleted, want, out.String())
	}
	if !exists(filepath.Join(dir, "stock.xlsx")) || !exists(filepath.Join(dir, "dagsavslut 2026-11-20.bak")) {
		t.Fatalf("a series lost its newest copy:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `usb: schedule weekly: series "weekly/pos/stock.xlsx": 1 copy, the only one: kept`) {
		t.Errorf("output:\n%s", out.String())
	}
}
