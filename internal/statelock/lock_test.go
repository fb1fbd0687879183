package statelock

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestSecondAcquireNamesHolder(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "run")
	if err != nil {
		t.Fatal(err)
	}
	// flock locks are per open file description, so a second open in the
	// same process conflicts just as another process would.
	_, err = Acquire(dir, "once")
	if !errors.Is(err, ErrHeld) || !strings.Contains(err.Error(), "offsite run (pid") {
		t.Fatalf("second acquire = %v", err)
	}
	l.Release()
	l2, err := Acquire(dir, "once")
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	l2.Release()
}

// TestLockDiesWithHolder: a holder killed with SIGKILL leaves the file but
// not the lock, so the next start takes over at once.
func TestLockDiesWithHolder(t *testing.T) {
	if os.Getenv("STATELOCK_CHILD") != "" {
		if _, err := Acquire(os.Getenv("STATELOCK_CHILD"), "run"); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		select {}
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=TestLockDiesWithHolder")
	cmd.Env = append(os.Environ(), "STATELOCK_CHILD="+dir)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("child: %q %v", buf, err)
	}
	if _, err := Acquire(dir, "once"); !errors.Is(err, ErrHeld) {
		t.Fatalf("lock not held by the live child: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Acquire(dir, "run")
	if err != nil {
		t.Fatalf("lock left behind by a killed holder: %v", err)
	}
	l.Release()
}
