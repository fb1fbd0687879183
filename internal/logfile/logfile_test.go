package logfile

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRotatesWhileWritingAndKeepsAFew: a logger that keeps writing rotates
// without a restart, keeps exactly keep old files of at most maxSize bytes,
// and never splits a record.
func TestRotatesWhileWritingAndKeepsAFew(t *testing.T) {
	name := filepath.Join(t.TempDir(), "offsite.log")
	f, err := Open(name, 1000, 3)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(f, nil))
	for i := range 200 {
		log.Info("uploaded", "file", fmt.Sprintf("day-%04d.bak", i))
	}
	f.Close()
	for _, n := range []string{name, name + ".1", name + ".2", name + ".3"} {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(n), err)
		}
		if len(b) > 1000 || len(b) == 0 || !bytes.HasSuffix(b, []byte("\n")) || !bytes.HasPrefix(b, []byte("time=")) {
			t.Fatalf("%s: %d bytes, want whole records within 1000 bytes:\n%s", filepath.Base(n), len(b), b)
		}
	}
	if _, err := os.Stat(name + ".4"); !os.IsNotExist(err) {
		t.Fatalf("more old files kept than asked: %v", err)
	}
	if b, _ := os.ReadFile(name); !bytes.Contains(b, []byte("day-0199.bak")) {
		t.Fatalf("newest record not in the current file:\n%s", b)
	}
}

// TestOpenRotatesAnOversizedFile: a file already past the limit at start
// is moved aside first.
func TestOpenRotatesAnOversizedFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "offsite.log")
	os.WriteFile(name, bytes.Repeat([]byte("x"), 2000), 0o600)
	f, err := Open(name, 1000, 2)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("fresh\n"))
	f.Close()
	if b, _ := os.ReadFile(name); string(b) != "fresh\n" {
		t.Fatalf("current log = %q", b)
	}
	if st, err := os.Stat(name + ".1"); err != nil || st.Size() != 2000 {
		t.Fatalf("old log not kept as .1: %v", err)
	}
}

// TestLoggerKeepsTheLogInTheStateFolder: a daemon's log reaches both the
// console and offsite.log, and -v or log_level picks the level.
func TestLoggerKeepsTheLogInTheStateFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	var console strings.Builder
	log, closeLog := Logger(&console, dir, Level("warn", false))
	log.Info("not shown at warn")
	log.Warn("disk nearly full")
	closeLog()
	b, err := os.ReadFile(filepath.Join(dir, "offsite.log"))
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{"console": console.String(), "offsite.log": string(b)} {
		if !strings.Contains(got, "disk nearly full") || strings.Contains(got, "not shown") {
			t.Errorf("%s: %q", name, got)
		}
	}
	for _, tc := range []struct {
		name    string
		verbose bool
		want    slog.Level
	}{{"", false, slog.LevelInfo}, {"error", false, slog.LevelError}, {"error", true, slog.LevelDebug}, {"debug", false, slog.LevelDebug}} {
		if got := Level(tc.name, tc.verbose); got != tc.want {
			t.Errorf("Level(%q, %v) = %v, want %v", tc.name, tc.verbose, got, tc.want)
		}
	}
}
