package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offsite-backup/offsite/config"
)

// hostileName could colour a terminal red and forge a line of output.
const hostileName = "a\x1b[31mred\nFAKE LINE.bak"

// rawControl reports the first line of out that carries the name's raw bytes.
func rawControl(out string) string {
	if strings.ContainsRune(out, '\x1b') {
		return "an ESC character"
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "FAKE LINE") {
			return "a forged line: " + l
		}
	}
	return ""
}

// TestHostileNamesPrintEscaped drives ls, status, verify and the logs of
// once with a file whose name holds an escape sequence and a newline: the
// name shows up escaped, never as raw control characters.
func TestHostileNamesPrintEscaped(t *testing.T) {
	e := newEnv(t, "200ms")
	if err := os.WriteFile(filepath.Join(e.watch, hostileName), []byte("hello"), 0o644); err != nil {
		t.Skipf("this file system refuses the name: %v", err)
	}
	out, err := e.run("once")
	if err != nil {
		t.Fatalf("once: %v\n%s", err, out)
	}
	if bad := rawControl(out); bad != "" {
		t.Errorf("once output has %s:\n%s", bad, out)
	}
	// verify prints the names of copies that changed at the destination.
	if err := os.WriteFile(filepath.Join(e.dest, "pos", hostileName), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	const escaped = `a\x1b[31mred\nFAKE LINE.bak`
	for _, args := range [][]string{{"ls", "usb", "pos"}, {"status"}, {"verify"}} {
		out, _ := e.run(args...)
		if bad := rawControl(out); bad != "" {
			t.Errorf("%s output has %s:\n%s", args[0], bad, out)
		}
		if !strings.Contains(out, escaped) {
			t.Errorf("%s output does not show the name escaped:\n%s", args[0], out)
		}
	}
}

// TestLogLinesCannotBeForged checks the console log and offsite.log in the
// state folder: a name with a newline and an escape sequence, as a value
// and inside an error, stays on its one quoted line.
func TestLogLinesCannotBeForged(t *testing.T) {
	cfg := &config.Config{StateDir: t.TempDir()}
	var console bytes.Buffer
	g := &globals{stderr: &console}
	log, closeLog := g.with(daemon("run")).Logger(cfg)
	log.Warn("upload "+hostileName+" failed", "file", hostileName, "err", errors.New("open "+hostileName+": permission denied"))
	closeLog()
	file, err := os.ReadFile(filepath.Join(cfg.StateDir, "offsite.log"))
	if err != nil {
		t.Fatal(err)
	}
	for where, out := range map[string]string{"console": console.String(), "offsite.log": string(file)} {
		if n := strings.Count(out, "\n"); n != 1 {
			t.Errorf("%s: one record took %d lines:\n%s", where, n, out)
		}
		if bad := rawControl(out); bad != "" {
			t.Errorf("%s has %s:\n%s", where, bad, out)
		}
	}
}

// TestLooseConfigIsRefused: what `offsite check` and `offsite run` say
// about a config other users may edit, a login sent in clear text, and a
// bad value that came from the environment.
func TestLooseConfigIsRefused(t *testing.T) {
	e := newEnv(t, "200ms")
	if err := os.Chmod(e.config, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"check", "run"} {
		out, err := e.run(cmd)
		if err == nil || !strings.Contains(out, "chmod go-w "+e.config) {
			t.Errorf("%s with a world-writable config: %v\n%s", cmd, err, out)
		}
	}
	os.Chmod(e.config, 0o600)

	body, _ := os.ReadFile(e.config)
	cloud := strings.NewReplacer("destinations: [usb]", "destinations: [usb, cloud]", "retry:", `  - name: cloud
    type: gdrive
    endpoint: http://192.168.1.20:8790
    chunk_size: ${CHUNK}
retry:`).Replace(string(body))
	os.WriteFile(e.config, []byte(cloud), 0o600)
	c := e.cmd("check")
	c.Env = append(os.Environ(), "CHUNK=sekrit-chunk-value")
	outb, err := c.CombinedOutput()
	out := string(outb)
	if err == nil || !strings.Contains(out, "destinations[1].endpoint") || !strings.Contains(out, "unencrypted") {
		t.Errorf("check with an http:// endpoint on the LAN: %v\n%s", err, out)
	}
	if strings.Contains(out, "sekrit") || !strings.Contains(out, "${CHUNK}") {
		t.Errorf("check echoes the value of ${CHUNK} instead of naming it:\n%s", out)
	}
}
