package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStatusJSONShape: times are UTC whatever the computer's zone, a time
// that is not set is left out (never 1970), and empty lists are [] so a
// script can iterate them without a null check.
func TestStatusJSONShape(t *testing.T) {
	e := newEnv(t, "200ms")
	st := e.statusJSON(t, "TZ=Asia/Kolkata")
	for _, k := range []string{"concerns", "destinations", "watches", "uploading", "problems", "recent"} {
		if v, ok := st[k].([]any); !ok || v == nil {
			t.Errorf("%s = %#v, want a list ([] when empty)", k, st[k])
		}
	}
	if ok, _ := st["ok"].(bool); !ok {
		t.Errorf("fresh install: ok = %v, concerns %v", st["ok"], st["concerns"])
	}

	// The disk is unplugged: the destination pauses. `retry` makes its probe
	// due now; status then must not print a 1970 next_try.
	os.WriteFile(filepath.Join(e.watch, "a.bak"), []byte("hello"), 0o644)
	os.RemoveAll(e.dest)
	if out, err := e.run("once"); err == nil {
		t.Fatalf("once with the disk gone exited 0:\n%s", out)
	}
	e.run("retry", "--to", "usb")
	raw := e.statusRaw(t, "TZ=Asia/Kolkata")
	if strings.Contains(raw, "1970-01-01") || strings.Contains(raw, "0001-01-01") {
		t.Errorf("status --json prints an unset time:\n%s", raw)
	}
	if strings.Contains(raw, "+05:30") {
		t.Errorf("status --json carries the local offset, want UTC:\n%s", raw)
	}
	st = e.statusJSON(t, "TZ=Asia/Kolkata")
	ts, _ := st["time"].(string)
	if tm, err := time.Parse(time.RFC3339, ts); err != nil || !strings.HasSuffix(ts, "Z") || time.Since(tm) > time.Minute {
		t.Errorf("time = %q, want now in UTC", ts)
	}
	if ok, _ := st["ok"].(bool); ok {
		t.Errorf("paused destination but ok: %v", st)
	}
}

func (e *env) statusRaw(t *testing.T, env ...string) string {
	t.Helper()
	c := e.cmd("status", "--json")
	c.Env = append(os.Environ(), env...)
	out, err := c.Output()
	if err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return string(out)
}

func (e *env) statusJSON(t *testing.T, env ...string) map[string]any {
	t.Helper()
	raw := e.statusRaw(t, env...)
	var st map[string]any
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, raw)
	}
	return st
}
