package check

import (
	"strings"
	"testing"

	"github.com/offsite-backup/offsite/config"
)

// TestCheckWarnsAboutMappedDrives: the state folder, each watch and each
// local destination on a drive the service cannot see get one warning
// line each, naming the key; cloud destinations and good paths none.
func TestCheckWarnsAboutMappedDrives(t *testing.T) {
	cfg := &config.Config{
		StateDir: `S:\offsite-state`,
		Watches:  []config.Watch{{Name: "pos", Path: `S:\pos`}, {Name: "books", Path: `C:\books`}},
		Destinations: []config.Destination{
			{Name: "usb", Type: config.TypeLocal, Path: `E:\Backups`},
			{Name: "share", Type: config.TypeLocal, Path: `S:\copies`},
			{Name: "cloud", Type: config.TypeGDrive, Folder: `S:\looks-like-a-drive`},
		},
	}
	var asked []string
	advice := func(p string) string {
		asked = append(asked, p)
		if strings.HasPrefix(p, `S:`) {
			return "S: is mapped"
		}
		return ""
	}
	var out strings.Builder
	warnDrivesWith(&out, cfg, advice)
	want := "! state_dir: S: is mapped\n! watch pos: S: is mapped\n! destination share: S: is mapped\n"
	if out.String() != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", out.String(), want)
	}
	if len(asked) != 5 {
		t.Errorf("asked about %v; a cloud destination has no local path", asked)
	}
}

// A local destination on the watched folder's own disk is no offsite copy:
// check says so, and says more when nothing else of the watch leaves.
func TestCheckWarnsWhenACopyStaysOnTheSameDisk(t *testing.T) {
	cfg := &config.Config{
		Watches: []config.Watch{
			{Name: "pos", Path: `C:\pos`, Destinations: []string{"here"}},
			{Name: "books", Path: `C:\books`, Destinations: []string{"here", "cloud"}},
			{Name: "till", Path: `C:\till`, Destinations: []string{"usb"}},
		},
		Destinations: []config.Destination{
			{Name: "here", Type: config.TypeLocal, Path: `C:\copies`},
			{Name: "usb", Type: config.TypeLocal, Path: `E:\Backups`},
			{Name: "cloud", Type: config.TypeGDrive},
		},
	}
	same := func(a, b string) (bool, bool) { return a[:2] == b[:2], true }
	var out strings.Builder
	warnSameDisk(&out, cfg, same)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("warnings:\n%s\nwant one for pos and one for books", out.String())
	}
	if !strings.Contains(lines[0], "destination here is on the same disk as watch pos") || !strings.Contains(lines[0], "nothing else of this watch leaves the PC") {
		t.Errorf("pos: %s", lines[0])
	}
	if !strings.Contains(lines[1], "watch books") || strings.Contains(lines[1], "nothing else") {
		t.Errorf("books, which also goes to a cloud: %s", lines[1])
	}
	// A disk that is not there says nothing either way.
	out.Reset()
	warnSameDisk(&out, cfg, func(a, b string) (bool, bool) { return false, false })
	if out.Len() != 0 {
		t.Errorf("unknown disks warned: %s", out.String())
	}
}
