package watcher

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

func TestSlowWriterReportedOnceWithFinalSize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A settle long against the pauses, so a loaded machine stalling the writer does
	// not make a genuinely quiet file out of it.
	const settle = time.Second
	_, rec := startSynced(t, Config{Path: dir, Settle: settle}, nil)

	f, err := os.Create(filepath.Join(dir, "day.bak"))
	if err != nil {
		t.Fatal(err)
	}
	// Appends for 1.5× settle, never pausing as long as settle.
	chunk := strings.Repeat("x", 1000)
	for range 12 {
		if _, err := f.WriteString(chunk); err != nil {
			t.Fatal(err)
		}
		time.Sleep(settle / 8)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	rec.waitReady(t, "day.bak", 1)
	barrier(t, rec, dir)
	got := rec.readyFor("day.bak")
	if len(got) != 1 || got[0].Size != 12000 {
		t.Fatalf("Ready calls %+v, want one with size 12000", got)
	}
}

func TestRsyncTempRenamed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, rec := startSynced(t, Config{Path: dir}, nil)

	tmp := filepath.Join(dir, ".pos.bak.Xa81Qz")
	write(t, tmp, "partial")
	time.Sleep(testSettle * 2) // long enough that a non-ignored temp would settle
	write(t, tmp, "partial and the rest")
	if err := os.Rename(tmp, filepath.Join(dir, "pos.bak")); err != nil {
		t.Fatal(err)
	}
	got := rec.waitReady(t, "pos.bak", 1)
	barrier(t, rec, dir)
	only(t, rec.rels(), "pos.bak")
	if got[0].Size != int64(len("partial and the rest")) {
		t.Fatalf("size %d", got[0].Size)
	}
}

// Excel (KB 814068): write a random extensionless temp, delete the original, rename the
// temp into place; here three saves in quick succession.
func TestExcelSaveSequence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	book := filepath.Join(dir, "Book.xlsx")
	writeOld(t, book, "v1")
	// Saves 50 ms apart against a 1 s settle: only a stall of the test itself could
	// let an intermediate save settle.
	_, rec := startSynced(t, Config{Path: dir, Settle: time.Second}, nil)
	rec.waitReady(t, "Book.xlsx", 1)

	for i, temp := range []string{"Cedd4100", "A1b2C3d4", "0F9E8D7C"} {
		content := strings.Repeat("v", 10*(i+2))
		write(t, filepath.Join(dir, temp), content)
		if err := os.Remove(book); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, temp), book); err != nil {
			t.Fatal(err)
		}
		time.Sleep(testSettle / 4)
	}
	rec.waitReady(t, "Book.xlsx", 2)
	barrier(t, rec, dir)
	if got := rec.readyFor("Book.xlsx"); len(got) != 2 {
		t.Fatalf("Book.xlsx reported %d times: %+v", len(got), got)
	}
	only(t, rec.rels(), "Book.xlsx", "Book.xlsx")
	if got := rec.readyFor("Book.xlsx"); got[1].Size != 40 {
		t.Fatalf("second Ready size %d, want 40 (the last save)", got[1].Size)
	}
}

func TestOverwriteInPlaceReportedAgain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, rec := startSynced(t, Config{Path: dir}, nil)
	p := filepath.Join(dir, "data.mdb")
	write(t, p, "first")
	rec.waitReady(t, "data.mdb", 1)
	write(t, p, "second, longer")
	got := rec.waitReady(t, "data.mdb", 2)
	if got[0].Size != 5 || got[1].Size != 14 {
		t.Fatalf("sizes %d, %d", got[0].Size, got[1].Size)
	}
	barrier(t, rec, dir)
	if n := len(rec.readyFor("data.mdb")); n != 2 {
		t.Fatalf("%d Ready calls, want 2", n)
	}
}

func TestLockAndTempFilesNeverReported(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, "~$Old.xlsx"), "owner")
	_, rec := startSynced(t, Config{Path: dir}, nil)
	for _, n := range []string{"~$Book.xlsx", ".~lock.Book.xlsx#", "Book.xlsx", "dl.crdownload", "x.TMP",
		"desktop.ini", "Thumbs.db", ".DS_Store", ".offsite-spool"} {
		write(t, filepath.Join(dir, n), "content")
	}
	rec.waitReady(t, "Book.xlsx", 1)
	barrier(t, rec, dir)
	only(t, rec.rels(), "Book.xlsx")
}

func TestZeroByteFileReported(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, rec := startSynced(t, Config{Path: dir}, nil)
	write(t, filepath.Join(dir, "empty.bak"), "")
	if got := rec.waitReady(t, "empty.bak", 1); got[0].Size != 0 {
		t.Fatalf("size %d", got[0].Size)
	}
}

func TestDeletedBeforeSettleDropped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, rec := startSynced(t, Config{Path: dir, Settle: time.Second}, nil)
	p := filepath.Join(dir, "short-lived.bak")
	write(t, p, "gone soon")
	time.Sleep(testSettle / 4)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	barrier(t, rec, dir)
	only(t, rec.rels())
}

func TestThousandFilesAtOnceEachReportedOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// os.WriteFile creates, then writes: a settle far above any scheduling stall keeps
	// the empty instant from counting as complete on a loaded machine.
	w, rec := startSynced(t, Config{Path: dir, Settle: time.Second}, nil)
	const n = 1000
	for i := range n {
		write(t, filepath.Join(dir, fmt.Sprintf("f%04d.bak", i)), fmt.Sprint(i))
	}
	rec.waitFor(t, "1000 files", 15*time.Second, func() bool { r, _, _ := rec.counts(); return r >= n+1 })
	w.Rescan("")
	barrier(t, rec, dir)
	seen := map[string]int{}
	for _, rel := range rec.rels() {
		seen[rel]++
	}
	for i := range n {
		if rel := fmt.Sprintf("f%04d.bak", i); seen[rel] != 1 {
			t.Errorf("%s reported %d times: %+v", rel, seen[rel], rec.readyFor(rel))
		}
	}
}

func TestUnicodeAndSpaces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	names := []string{"säkerhetskopia_åäö.bak", "sao_lưu_dữ_liệu.xlsx", "day end backup 2026-11-23.zip"}
	writeOld(t, filepath.Join(dir, names[0]), "old")
	_, rec := startSynced(t, Config{Path: dir}, nil)
	for _, n := range names[1:] {
		write(t, filepath.Join(dir, n), "new")
	}
	for _, n := range names {
		f := rec.waitReady(t, n, 1)[0]
		if f.Abs != filepath.Join(dir, n) || f.Watch != "w" {
			t.Errorf("got %+v", f)
		}
	}
}

func TestRecursiveNewSubfolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, rec := startSynced(t, Config{Path: dir, Recursive: true}, nil)

	// Created in place: the watch must be added before the file appears.
	write(t, filepath.Join(dir, "2026", "11", "a.bak"), "a")
	// Built elsewhere and moved in whole: its files predate any watch on it.
	outside := t.TempDir()
	write(t, filepath.Join(outside, "batch", "deep", "b.bak"), "b")
	if err := os.Rename(filepath.Join(outside, "batch"), filepath.Join(dir, "batch")); err != nil {
		t.Fatal(err)
	}
	rec.waitReady(t, "2026/11/a.bak", 1)
	rec.waitReady(t, "batch/deep/b.bak", 1)
	// Files written later into the moved-in folder arrive through its new watch.
	write(t, filepath.Join(dir, "batch", "deep", "c.bak"), "c")
	rec.waitReady(t, "batch/deep/c.bak", 1)
	// Dot-directories are skipped.
	write(t, filepath.Join(dir, ".cache", "d.bak"), "d")
	barrier(t, rec, dir)
	only(t, rec.rels(), "2026/11/a.bak", "batch/deep/b.bak", "batch/deep/c.bak")
}

func TestNonRecursiveIgnoresSubfolders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, "sub", "old.bak"), "x")
	_, rec := startSynced(t, Config{Path: dir}, nil)
	write(t, filepath.Join(dir, "sub", "new.bak"), "x")
	barrier(t, rec, dir)
	only(t, rec.rels())
}

func TestFolderRemovedThenBack(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "backups")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, rec := startSynced(t, Config{Path: dir}, nil)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "Missing", 5*time.Second, func() bool { _, m, _ := rec.counts(); return m == 1 })

	write(t, filepath.Join(dir, "after.bak"), "back again")
	rec.waitReady(t, "after.bak", 1)
	_, m, b := rec.counts()
	if m != 1 || b != 1 {
		t.Fatalf("Missing %d, Back %d; want 1, 1", m, b)
	}
	// Watching resumes on the new directory.
	write(t, filepath.Join(dir, "later.bak"), "x")
	rec.waitReady(t, "later.bak", 1)
	if _, m, _ := rec.counts(); m != 1 {
		t.Fatalf("Missing reported %d times", m)
	}
}

func TestFolderMissingAtStart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "not-yet")
	_, rec := start(t, Config{Path: dir}, nil)
	rec.waitFor(t, "Missing", 5*time.Second, func() bool { _, m, _ := rec.counts(); return m == 1 })
	rec.mu.Lock()
	err := rec.missing[0]
	rec.mu.Unlock()
	if !os.IsNotExist(err) && !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Missing error %v, want not-exist", err)
	}
	write(t, filepath.Join(dir, "x.bak"), "x")
	rec.waitReady(t, "x.bak", 1)
	if _, m, b := rec.counts(); m != 1 || b != 1 {
		t.Fatalf("Missing %d, Back %d; want 1, 1", m, b)
	}
}

func TestPollModeFindsFilesWithoutEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var wt *watch
	_, rec := startSynced(t, Config{Path: dir, Poll: 100 * time.Millisecond}, func(w *watch) { wt = w })
	write(t, filepath.Join(dir, "share.bak"), "over SMB")
	rec.waitReady(t, "share.bak", 1)
	_ = wt // the loop owns wt now; that it never opens fsnotify is checked below
	probe := newWatch(Config{Path: dir, Poll: time.Second}, filter{}, rec, wt.log)
	probe.openNotify()
	if probe.fsw != nil {
		t.Fatal("poll mode opened an fsnotify watcher")
	}
}

func TestIncludeExclude(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := Config{Path: dir, Recursive: true, Include: []string{"*.bak", "exports/*.zip"}, Exclude: []string{"old_*", "archive"}}
	_, rec := start(t, cfg, nil)
	for _, n := range []string{"a.bak", "A.BAK", "b.txt", "old_c.bak", "exports/e.zip", "other/e.zip", "archive/x.bak", "sub/d.bak"} {
		write(t, filepath.Join(dir, n), "x")
	}
	rec.waitReady(t, "sub/d.bak", 1)
	barrier(t, rec, dir)
	only(t, rec.rels(), "a.bak", "A.BAK", "exports/e.zip", "sub/d.bak")
}

func TestConfigIgnorePaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	state := filepath.Join(dir, "offsite-state")
	_, rec := startSynced(t, Config{Path: dir, Recursive: true, Ignore: []string{state, filepath.Join(dir, "queue.db")}}, nil)
	write(t, filepath.Join(state, "spool", "x.bak"), "x")
	write(t, filepath.Join(dir, "queue.db"), "x")
	barrier(t, rec, dir)
	only(t, rec.rels())
}

// An event the kernel lost is found by the next rescan, whether asked for or caused by
// a watcher error such as an overflow.
func TestLostEventFoundByRescan(t *testing.T) {
	t.Parallel()
	for name, recover := range map[string]func(*Watcher, *watch){
		"Rescan":   func(w *Watcher, _ *watch) { w.Rescan("w") },
		"overflow": func(_ *Watcher, wt *watch) { wt.pend.fail(fsnotify.ErrEventOverflow) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var wt *watch
			w, rec := startSynced(t, Config{Path: dir}, func(x *watch) { wt = x })
			wt.pend.dropEvents.Store(true)
			write(t, filepath.Join(dir, "lost.bak"), "x")
			time.Sleep(testSettle * 2)
			if got := rec.readyFor("lost.bak"); len(got) != 0 {
				t.Fatalf("reported without its event: %+v", got)
			}
			recover(w, wt)
			rec.waitReady(t, "lost.bak", 1)
		})
	}
}

func TestRecheckReportsAgain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w, rec := startSynced(t, Config{Path: dir}, nil)
	w.Recheck("w", "sentinel.bak")
	w.Recheck("nope", "sentinel.bak") // unknown watch: ignored
	got := rec.waitReady(t, "sentinel.bak", 2)
	if got[0].Size != got[1].Size || !got[0].ModTime.Equal(got[1].ModTime) {
		t.Fatalf("got %+v", got)
	}
}

func TestStartupOldFilesNeedOnlyQuickCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, "old.bak"), "x")
	future := filepath.Join(dir, "future.bak")
	write(t, future, "x")
	ahead := time.Now().Add(time.Hour)
	if err := os.Chtimes(future, ahead, ahead); err != nil {
		t.Fatal(err)
	}
	const settle = 2 * time.Second
	begin := time.Now()
	_, rec := start(t, Config{Path: dir, Settle: settle}, nil)
	rec.waitReady(t, "old.bak", 1)
	if d := time.Since(begin); d >= settle {
		t.Errorf("old file took %v, want well under settle %v", d, settle)
	}
	if got := rec.readyFor("future.bak"); len(got) != 0 {
		t.Fatalf("future-dated file reported before settle")
	}
	rec.waitReady(t, "future.bak", 1)
	if d := time.Since(begin); d < settle {
		t.Errorf("future-dated file took %v, want at least settle %v", d, settle)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	abs := t.TempDir()
	for name, cfgs := range map[string][]Config{
		"relative path": {{Name: "a", Path: "backups"}},
		"no name":       {{Path: abs}},
		"duplicate":     {{Name: "a", Path: abs}, {Name: "a", Path: abs}},
		"bad pattern":   {{Name: "a", Path: abs, Include: []string{"[a-"}}},
		"negative":      {{Name: "a", Path: abs, Settle: -time.Second}},
	} {
		if _, err := New(cfgs, newRecorder(), nil); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfgs)
		}
	}
	if _, err := New([]Config{{Name: "a", Path: abs}}, nil, nil); err == nil {
		t.Error("New accepted a nil sink")
	}
}

// Without events (a network share) only the second stat can tell a growing file from a
// complete one.
func TestSlowWriterPollMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Polls rarer than settle, so deadlines fall between polls and only the gate's own
	// second stat sees the growth.
	_, rec := startSynced(t, Config{Path: dir, Settle: 400 * time.Millisecond, Poll: 600 * time.Millisecond}, nil)
	f, err := os.Create(filepath.Join(dir, "share.bak"))
	if err != nil {
		t.Fatal(err)
	}
	for range 30 {
		if _, err := f.WriteString("0123456789"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	rec.waitReady(t, "share.bak", 1)
	barrier(t, rec, dir)
	if got := rec.readyFor("share.bak"); len(got) != 1 || got[0].Size != 300 {
		t.Fatalf("Ready calls %+v, want one with size 300", got)
	}
}

// A folder renamed away and replaced by a new one of the same name: the OS watch
// followed the old directory, so the new one must be watched and scanned afresh.
func TestFolderReplaced(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "backups")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, rec := startSynced(t, Config{Path: dir}, nil)
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "new.bak"), "x")
	rec.waitReady(t, "new.bak", 1)
	write(t, filepath.Join(dir, "newer.bak"), "x")
	rec.waitReady(t, "newer.bak", 1)
	write(t, filepath.Join(dir+".old", "stray.bak"), "x")
	barrier(t, rec, dir)
	only(t, rec.rels(), "new.bak", "newer.bak")
}

func TestForgetReportsAgainAtNextScan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w, rec := startSynced(t, Config{Path: dir}, nil)
	w.Rescan("w")
	time.Sleep(200 * time.Millisecond)
	if got := rec.readyFor("sentinel.bak"); len(got) != 1 {
		t.Fatalf("an unchanged file was reported %d times by a rescan, want once", len(got))
	}
	w.Forget("w", "sentinel.bak")
	w.Forget("nope", "sentinel.bak") // unknown watch: ignored
	w.Rescan("w")
	rec.waitReady(t, "sentinel.bak", 2)
}
