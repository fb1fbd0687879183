package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers/dropbox/fakedropbox"
)

// TestNamesTheServiceFoldsStayApart: a shop's folder on a Linux PC holds
// Kassa.bak and kassa.bak, and two Latin-1 names from an old program.
// Dropbox and a local USB disk ignore case, and JSON APIs (Dropbox, Drive)
// would turn the Latin-1 bytes into U+FFFD. Every file must arrive as its
// own file everywhere, verify must find nothing changed, and ls and
// restore must know the Latin-1 names by their original bytes.
func TestNamesTheServiceFoldsStayApart(t *testing.T) {
	cloud := fakecloud.New(0)
	dbx, err := fakedropbox.New(cloud, filepath.Join(t.TempDir(), "dropbox"))
	if err != nil {
		t.Fatal(err)
	}
	dbxSrv := serveEmulator(t, cloud, dbx.Register)
	_, drv, drvSrv := startDrive(t)

	e := newEnv(t, "100ms")
	os.MkdirAll(filepath.Join(e.dir, "state"), 0o700)
	for _, n := range []string{"dbx", "drv"} {
		os.WriteFile(filepath.Join(e.dir, "state", n+"-token.json"),
			[]byte(`{"access_token":"x","refresh_token":"r","expiry":"2001-01-01T00:00:00Z"}`), 0o600)
	}
	cfg, _ := os.ReadFile(e.config)
	s := strings.Replace(string(cfg), "destinations: [usb]", "destinations: [usb, dbx, drv]", 1)
	s = strings.Replace(s, "retry:", `  - name: dbx
    type: dropbox
    folder: Backups
    endpoint: `+dbxSrv.URL+`
  - name: drv
    type: gdrive
    folder: Backups
    endpoint: `+drvSrv.URL+`
retry:`, 1)
	os.WriteFile(e.config, []byte(s), 0o600)

	files := map[string][]byte{
		"Kassa.bak":    randomData(20, 3000),
		"kassa.bak":    randomData(21, 4000),
		"K\xe4ssa.bak": randomData(22, 5000), // "Kässa" in Latin-1
		"K\xf6ssa.bak": randomData(23, 6000), // "Kössa"
	}
	want := map[string]bool{}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(e.watch, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		want[sha(data)] = true
	}
	if out, err := e.run("once"); err != nil {
		t.Fatalf("once: %v\n%s", err, out)
	}

	held := func(where string, sums []string) {
		t.Helper()
		got := map[string]bool{}
		for _, s := range sums {
			got[s] = true
		}
		for s := range want {
			if !got[s] {
				t.Errorf("%s lacks one of the four files (holds %d files): one overwrote another", where, len(sums))
				return
			}
		}
	}
	var sums []string
	for _, s := range e.destFiles() {
		sums = append(sums, s)
	}
	held("the local destination", sums)
	for where, list := range map[string][]fakecloud.File{"Dropbox": dbx.Files(), "Drive": drv.Files()} {
		sums = nil
		for _, f := range list {
			sums = append(sums, f.SHA256)
		}
		held(where, sums)
	}
	if out, err := e.run("verify"); err != nil {
		t.Errorf("verify after the upload: %v\n%s", err, out)
	}

	for _, dest := range []string{"dbx", "drv", "usb"} {
		out, err := e.run("ls", dest, "pos")
		if err != nil {
			t.Fatalf("ls %s: %v\n%s", dest, err, out)
		}
		for _, n := range []string{"K\xe4ssa.bak", "K\xf6ssa.bak"} {
			// Raw, or quoted where names are escaped for the terminal.
			if q := strconv.Quote(n); !strings.Contains(out, n) && !strings.Contains(out, q[1:len(q)-1]) {
				t.Errorf("ls %s does not show %q by its own name:\n%s", dest, n, out)
			}
		}
		// Kassa.bak or kassa.bak, whichever came second, carries a
		// timestamp; the Latin-1 names keep theirs.
		for i, n := range []string{"K\xe4ssa.bak", "K\xf6ssa.bak"} {
			to := filepath.Join(e.dir, dest+strconv.Itoa(i)+".restored")
			if out, err := e.run("restore", dest, "pos/"+n, "--to", to); err != nil {
				t.Errorf("restore %s pos/%q: %v\n%s", dest, n, err, out)
				continue
			}
			if got, _ := os.ReadFile(to); sha(got) != sha(files[n]) {
				t.Errorf("restore %s pos/%q gave other bytes", dest, n)
			}
		}
	}
}
