package codec

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
)

// needTools skips when the age and zstd command-line tools are missing,
// unless OFFSITE_REQUIRE_TOOLS=1 (CI installs them) makes that a failure.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("OFFSITE_REQUIRE_TOOLS") == "1" {
				t.Fatalf("%s is not installed (apt-get install -y age zstd)", tool)
			}
			t.Skipf("%s is not installed; set OFFSITE_REQUIRE_TOOLS=1 to make this a failure", tool)
		}
	}
}

// The stored form must be readable the day offsite is gone:
// age -d -i key.txt day.bak.zst.age | zstd -d
func TestReadableWithAgeAndZstdTools(t *testing.T) {
	needTools(t, "age", "zstd", "sh")
	dir := t.TempDir()
	file, public, err := NewKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "key.txt")
	if err := WriteKeyFile(key, file); err != nil {
		t.Fatal(err)
	}
	orig := sample(2<<20 + 3)
	for _, spec := range []Spec{
		{Compress: true, Recipients: []string{public}},
		{Recipients: []string{public}},
		{Compress: true},
	} {
		t.Run(spec.Suffix(), func(t *testing.T) {
			stored := filepath.Join(dir, "day.bak"+spec.Suffix())
			var b bytes.Buffer
			if _, err := Encode(&b, bytes.NewReader(orig), spec); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(stored, b.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			var script string
			switch spec.Suffix() {
			case ".zst.age":
				script = `age -d -i "$1" "$2" | zstd -d -q`
			case ".age":
				script = `age -d -i "$1" "$2"`
			case ".zst":
				script = `zstd -d -q -c "$2"`
			}
			cmd := exec.Command("sh", "-c", script, "sh", key, stored)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v: %s", script, err, stderr.String())
			}
			if !bytes.Equal(out, orig) {
				t.Fatalf("%s gave %d bytes, not the original %d", script, len(out), len(orig))
			}
		})
	}
}

// What the tools write, offsite restores.
func TestDecodesWhatTheToolsWrite(t *testing.T) {
	needTools(t, "age", "zstd", "sh")
	dir := t.TempDir()
	id := newIdentity(t)
	orig := sample(1<<20 + 9)
	plain := filepath.Join(dir, "day.bak")
	if err := os.WriteFile(plain, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	stored := plain + ".zst.age"
	cmd := exec.Command("sh", "-c", `zstd -q -c "$1" | age -r "$2" -o "$3"`, "sh", plain, id.Recipient().String(), stored)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	f, err := os.Open(stored)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	if _, err := Decode(&out, f, filepath.Base(stored), Keys{Identities: []age.Identity{id}}, sumOf(orig)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), orig) {
		t.Fatal("decoded bytes differ from the original")
	}
}
