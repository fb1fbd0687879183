package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDistArchiveRuns builds this platform's release archive with the same
// script `make dist` runs, checks it against SHA256SUMS, unpacks it as a
// user would, and runs the binary inside: `offsite version` must name the
// commit it was built from, and the archive must carry the docs and the
// example config. One target only: cross-building all six takes minutes.
func TestDistArchiveRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release archive")
	}
	if runtime.GOOS == "windows" {
		t.Skip("scripts/dist.sh is a bash script")
	}
	for _, tool := range []string{"bash", "git", "tar", "gzip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).Output()
		if err != nil {
			t.Skipf("not a git checkout (git %v: %v)", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	wantCommit := git("rev-parse", "HEAD")
	wantVersion := git("describe", "--tags", "--always", "--dirty")
	ct, err := strconv.ParseInt(git("log", "-1", "--format=%ct"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}

	dist := t.TempDir()
	target := runtime.GOOS + "/" + runtime.GOARCH
	cmd := exec.Command("bash", filepath.Join(repo, "scripts", "dist.sh"))
	cmd.Env = append(os.Environ(), "DIST="+dist, "TARGETS="+target)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/dist.sh: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", target, time.Since(start).Round(time.Second))

	name := "offsite_" + wantVersion + "_" + runtime.GOOS + "_" + runtime.GOARCH
	archive := filepath.Join(dist, name+".tar.gz")
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatalf("no archive: %v", err)
	}
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := hex.EncodeToString(sum[:]) + "  " + name + ".tar.gz\n"; string(sums) != want {
		t.Errorf("SHA256SUMS = %q, want %q", sums, want)
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		c := exec.Command("sha256sum", "-c", "SHA256SUMS")
		c.Dir = dist
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c SHA256SUMS: %v\n%s", err, out)
		}
	}

	unpack := t.TempDir()
	if out, err := exec.Command("tar", "-C", unpack, "-xzf", archive).CombinedOutput(); err != nil {
		t.Fatalf("tar -xzf: %v\n%s", err, out)
	}
	dir := filepath.Join(unpack, name)
	for _, f := range []string{"README.md", "LICENSE", "config.example.yaml"} {
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("archive lacks %s: %v", f, err)
			continue
		}
		want, _ := os.ReadFile(filepath.Join(repo, f))
		if !bytes.Equal(got, want) {
			t.Errorf("archive's %s differs from the checkout's", f)
		}
	}

	out, err := exec.Command(filepath.Join(dir, "offsite"), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("offsite version: %v\n%s", err, out)
	}
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "offsite "); ok {
			fields["version"] = v
		} else if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	sec, _ := time.Parse(time.RFC3339, fields["date"])
	if fields["version"] != wantVersion || fields["commit"] != wantCommit || sec.Unix() != ct {
		t.Errorf("offsite version printed\n%s\nwant version %s, commit %s, the commit's time %s", out, wantVersion, wantCommit, time.Unix(ct, 0).UTC().Format(time.RFC3339))
	}
}
