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

// CopyGone says a stored copy is no longer at its destination as it was
// uploaded (deleted or changed there). requeued says it is being sent
// again from the watched folder; otherwise that copy is lost. Key:
// "gone/<dest>/<remote>", so each copy alerts once.
func CopyGone(watch, file, dest, remote, why string, requeued bool, at time.Time) Event {
	text := fmt.Sprintf("The copy of '%s' (from '%s') stored at '%s' as '%s' is %s: someone or something removed or changed it there.\n\n", file, watch, dest, remote, why)
	if requeued {
		text += "offsite is uploading it again from the watched folder; nothing else is needed. " +
			"What to do: if it happens again, find what deletes files in that folder (a cleanup rule, a sync program, a shared account) and stop it."
	} else {
		text += "The watched folder no longer holds that backup as it was uploaded, so it cannot be sent again: that destination has no copy of it. " +
			"What to do: find what deletes files in that folder and stop it; keep the copies at the other destinations. " +
			"The next backup the program writes is uploaded as usual, and this alert clears once its copy is there."
	}
	subject := fmt.Sprintf("offsite: the copy of '%s' at '%s' is gone; uploading it again", file, dest)
	if !requeued {
		subject = fmt.Sprintf("offsite: the copy of '%s' at '%s' is gone and cannot be sent again", file, dest)
	}
	return Event{
		Kind:    KindFailure,
		Key:     "gone/" + dest + "/" + remote,
		Subject: subject,
		Text:    text,
		Fields:  map[string]string{"watch": watch, "file": file, "destination": dest, "remote": remote, "error": why},
		Time:    at,
	}
}
