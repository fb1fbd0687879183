package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A program that writes its backup in two passes (open, write, close; a
// pause longer than settle; open, append, close) gets its first half sent:
// no gate can tell that from a finished file of unknown format. When the
// complete file follows, a restore of the plain name brings it back, not
// the partial copy, and ls marks the partial one.
func TestRestoreOfPlainNameFindsTheCompleteFileAfterATornOne(t *testing.T) {
	e := newEnv(t, "300ms")
	c := e.cmd("run")
	var log syncBuffer
	c.Stderr = &log
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Signal(syscall.SIGTERM); c.Wait() }()
	full := randomData(21, 60000)
	p := filepath.Join(e.watch, "day.bak")
	if err := os.WriteFile(p, full[:20000], 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(e.destFiles()) == 1 }, &log)
	time.Sleep(1100 * time.Millisecond) // the second pass, a new mtime second
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(full[20000:])
	f.Close()
	waitFor(t, 10*time.Second, func() bool { return len(e.storedFiles()) == 2 }, &log)
	if got := e.destFiles(); got["pos/day.bak"] != sha(full[:20000]) {
		t.Fatalf("setup: the plain name does not hold the partial copy: %v", got)
	}
	c.Process.Signal(syscall.SIGTERM)
	c.Wait()

	out := filepath.Join(e.dir, "restored.bak")
	msg, err := e.run("restore", "usb", "pos/day.bak", "--to", out)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, msg)
	}
	if b, _ := os.ReadFile(out); sha(b) != sha(full) {
		t.Fatalf("restore of pos/day.bak brought back %d bytes, not the complete %d-byte file:\n%s", len(b), len(full), msg)
	}
	if !strings.Contains(msg, "restoring the newest") {
		t.Errorf("restore does not say it chose the newest version:\n%s", msg)
	}
	exact := filepath.Join(e.dir, "exact.bak")
	if msg, err := e.run("restore", "usb", "pos/day.bak", "--to", exact, "--exact"); err != nil {
		t.Fatalf("restore --exact: %v\n%s", err, msg)
	}
	if b, _ := os.ReadFile(exact); sha(b) != sha(full[:20000]) {
		t.Fatalf("restore --exact did not restore the name itself")
	}
	ls, err := e.run("ls", "usb", "pos")
	if err != nil {
		t.Fatalf("ls: %v\n%s", err, ls)
	}
	for _, line := range strings.Split(ls, "\n") {
		if strings.Contains(line, "pos/day.bak") {
			if !strings.Contains(line, "may be incomplete") {
				t.Fatalf("ls does not mark the partial copy:\n%s", ls)
			}
			return
		}
	}
	t.Fatalf("ls does not list pos/day.bak:\n%s", ls)
}
