package notify

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// Gone is one stored copy found no longer at its destination as it was
// uploaded (deleted or changed there).
type Gone struct {
	Watch, File, Remote string
	Why                 string // "missing at the destination", …
	Requeued            bool   // sent again from the watched folder; else lost there
}

// CopiesGone says stored copies at dest are gone: one alert for all that
// one look found, so a folder moved or emptied at the service is one
// message, not hundreds. Key: "gone/<dest>/<digest of the remote paths>",
// so the same loss found again the next day does not alert again, and a
// new one does.
func CopiesGone(dest string, gone []Gone, at time.Time) Event {
	sorted := slices.Clone(gone)
	slices.SortFunc(sorted, func(a, b Gone) int { return strings.Compare(a.Remote, b.Remote) })
	h := sha256.New()
	requeued, lost := 0, 0
	var lines []string
	for i, g := range sorted {
		fmt.Fprintf(h, "%s\x00", g.Remote)
		what := "uploading it again"
		if g.Requeued {
			requeued++
		} else {
			lost++
			what = "the watched folder no longer holds it as uploaded: cannot be sent again"
		}
		if i < 10 {
			lines = append(lines, fmt.Sprintf("- '%s' (from '%s') stored as '%s': %s; %s", g.File, g.Watch, g.Remote, g.Why, what))
		}
	}
	if n := len(sorted) - len(lines); n > 0 {
		lines = append(lines, fmt.Sprintf("- and %d more (`offsite verify` lists them)", n))
	}
	text := fmt.Sprintf("%d stored cop%s at '%s' %s no longer there as uploaded: someone or something removed or changed %s there.\n\n%s\n\n",
		len(sorted), oneOrMany(len(sorted), "y", "ies"), dest, oneOrMany(len(sorted), "is", "are"), oneOrMany(len(sorted), "it", "them"), strings.Join(lines, "\n"))
	if lost == 0 {
		text += "offsite is uploading " + oneOrMany(len(sorted), "it", "them") + " again from the watched folder; nothing else is needed. " +
			"What to do: if it happens again, find what deletes files in that folder (a cleanup rule, a sync program, a shared account) and stop it."
	} else {
		text += "Those the watched folder no longer holds cannot be sent again: that destination has no copy of them. " +
			"What to do: find what deletes files in that folder and stop it; keep the copies at the other destinations. " +
			"The next backup the program writes is uploaded as usual, and status turns green once its copy is there."
	}
	subject := fmt.Sprintf("offsite: %d backup cop%s gone from '%s'; uploading again", len(sorted), oneOrMany(len(sorted), "y", "ies"), dest)
	if lost > 0 {
		subject = fmt.Sprintf("offsite: %d backup cop%s gone from '%s', %d cannot be sent again", len(sorted), oneOrMany(len(sorted), "y", "ies"), dest, lost)
	}
	fields := map[string]string{"destination": dest, "gone": strconv.Itoa(len(sorted)), "requeued": strconv.Itoa(requeued), "lost": strconv.Itoa(lost)}
	if len(sorted) > 0 {
		fields["watch"], fields["file"], fields["remote"], fields["error"] = sorted[0].Watch, sorted[0].File, sorted[0].Remote, sorted[0].Why
	}
	return Event{
		Kind:    KindFailure,
		Key:     fmt.Sprintf("gone/%s/%x", dest, h.Sum(nil)[:8]),
		Subject: subject,
		Text:    text,
		Fields:  fields,
		Time:    at,
	}
}

// oneOrMany is one when n is 1, else many.
func oneOrMany(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
