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
