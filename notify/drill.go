package notify

import (
	"fmt"
	"time"
)

// DrillFailed says a test restore of a stored backup failed: the copy at
// dest is not the original (or could not be read back). Key:
// "drill/<dest>/<remote>@<date>", so each drill alerts once per file.
func DrillFailed(watch, file, dest, remote string, at time.Time, err error) Event {
	text := fmt.Sprintf("offsite downloaded the copy of '%s' (from '%s') stored at '%s' as '%s' to test that it can be restored, and the test failed: the stored copy may be damaged, so it may not restore when it is needed.\n\n"+
		"What to do: run `offsite verify --restore %s` to see it again; if the copy is damaged, `offsite verify --restore %s --repair` replaces it with a new upload while the file is still in the watched folder, and another destination's copy is the one to restore meanwhile.",
		file, watch, dest, remote, dest, dest)
	if e := errText(err); e != "" {
		text += "\n\nError: " + e
	}
	return Event{
		Kind:    KindFailure,
		Key:     "drill/" + dest + "/" + remote + "@" + at.UTC().Format("2006-01-02"),
		Subject: fmt.Sprintf("offsite: test restore of '%s' from '%s' failed", file, dest),
		Text:    text,
		Fields:  map[string]string{"watch": watch, "file": file, "destination": dest, "remote": remote, "error": errText(err)},
		Time:    at,
	}
}
