package drives

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSameDisk(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if same, known := SameDisk(a, b); !same || !known {
		t.Errorf("two temp folders: same %v known %v, want the same disk", same, known)
	}
	if _, known := SameDisk(a, filepath.Join(b, "not-plugged-in")); known {
		t.Error("a folder that does not exist gave a verdict")
	}
	f := filepath.Join(a, "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, known := SameDisk(f, b); known {
		t.Error("a file gave a verdict; only folders are compared")
	}
	// Another file system, where this machine has one.
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		shm, err := os.MkdirTemp("/dev/shm", "offsite-disk")
		if err != nil {
			t.Skip("cannot write /dev/shm:", err)
		}
		defer os.RemoveAll(shm)
		if strings.HasPrefix(a, "/dev/shm") {
			t.Skip("the temp folder is itself on /dev/shm")
		}
		if same, known := SameDisk(a, shm); !known || same {
			t.Errorf("%s and %s (another mount): same %v known %v", a, shm, same, known)
		}
	}
}
