package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/providers"
)

// serviceName is what people call a destination type.
func serviceName(destType string) string {
	switch destType {
	case "gdrive":
		return "Google Drive"
	case "dropbox":
		return "Dropbox"
	case "onedrive":
		return "OneDrive"
	case "local":
		return "the backup disk or folder"
	}
	return destType
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// DestinationFailed says a destination is unusable until a person acts
// (login refused, storage full, folder gone): uploads to it are paused and
// new backups wait in the queue. Key: "dest/<dest>/<reason>"; use Episode
// for a failure that comes back after it was fixed.
func DestinationFailed(dest, destType string, reason providers.Reason, hint string, err error) Event {
	svc := serviceName(destType)
	var what, todo string
	switch reason {
	case providers.ReasonAuth:
		what = fmt.Sprintf("%s refused the login for '%s'", svc, dest)
		todo = fmt.Sprintf("run `offsite auth %s` on this computer and sign in again", dest)
	case providers.ReasonQuota:
		what = fmt.Sprintf("The storage behind '%s' (%s) is full", dest, svc)
		todo = "free some space there (empty the trash too) or buy more storage"
	case providers.ReasonMissing:
		what = fmt.Sprintf("The folder for '%s' (%s) is not there", dest, svc)
		todo = fmt.Sprintf("check in %s that the backup folder was not moved, renamed or deleted", svc)
		if destType == "local" {
			todo = "plug the disk in or connect the network share, or create the folder again"
		}
	case providers.ReasonReadOnly:
		what = fmt.Sprintf("offsite may not write to '%s' (%s)", dest, svc)
		todo = "give the account write permission on the backup folder"
	default:
		what = fmt.Sprintf("Uploads to '%s' (%s) stopped working", dest, svc)
		todo = "run `offsite check` to see what is wrong"
	}
	if hint != "" {
		todo = hint
	}
	text := fmt.Sprintf("%s. Uploads to '%s' are paused; new backups wait in the queue and are sent once it works again, so nothing is lost.\n\nWhat to do: %s.",
		what, dest, trimDot(todo))
	if e := errText(err); e != "" {
		text += "\n\nDetails: " + e
	}
	r := string(reason)
	if r == "" {
		r = "error"
	}
	return Event{
		Kind:    KindFailure,
		Key:     "dest/" + dest + "/" + r,
		Subject: "offsite: " + what,
		Text:    text,
		Fields: map[string]string{
			"destination": dest, "type": destType, "reason": string(reason),
			"hint": hint, "error": errText(err),
		},
	}
}

// DestinationRecovered says uploads to dest work again.
func DestinationRecovered(dest string) Event {
	return Event{
		Kind:    KindRecovered,
		Key:     "dest/" + dest + "/recovered",
		Subject: fmt.Sprintf("offsite: uploads to '%s' work again", dest),
		Text: fmt.Sprintf("Uploads to '%s' work again. Backups that waited in the queue are being sent now. Nothing needs to be done.",
			dest),
		Fields: map[string]string{"destination": dest},
	}
}

// UploadFailing says one file has failed attempts times and is still
// queued, or, when err is Permanent, that it was given up. Key: "upload/<watch>/<dest>/<file>".
func UploadFailing(watch, file, dest string, attempts int, err error) Event {
	todo := providers.HintOf(err)
	if todo == "" {
		todo = "check that this computer is online; `offsite status` shows the details"
	}
	text := fmt.Sprintf("offsite has tried %d times to upload '%s' from '%s' to '%s', and it has not worked yet. It keeps trying, at least once an hour, and the file stays in the queue.\n\nWhat to do: %s.",
		attempts, file, watch, dest, trimDot(todo))
	subject := fmt.Sprintf("offsite: '%s' has not reached '%s' yet", file, dest)
	if providers.KindOf(err) == providers.Permanent {
		// Given up: promising more tries would be false comfort.
		if providers.HintOf(err) == "" {
			todo = "see the error below; once it is fixed, `offsite retry --to " + dest + "` tries again"
		}
		text = fmt.Sprintf("offsite could not upload '%s' from '%s' to '%s' and has given up on it: this upload cannot succeed as it is, so it is not tried again by itself.\n\nWhat to do: %s.",
			file, watch, dest, trimDot(todo))
		subject = fmt.Sprintf("offsite: gave up sending '%s' to '%s'", file, dest)
	}
	if e := errText(err); e != "" {
		text += "\n\nLast error: " + e
	}
	return Event{
		Kind:    KindFailure,
		Key:     "upload/" + watch + "/" + dest + "/" + file,
		Subject: subject,
		Text:    text,
		Fields: map[string]string{
			"watch": watch, "file": file, "destination": dest,
			"attempts": strconv.Itoa(attempts), "reason": string(providers.ReasonOf(err)),
			"hint": providers.HintOf(err), "error": errText(err),
		},
	}
}

// FolderMissing says a watched folder vanished. offsite never reads that
// as "the folder is empty".
func FolderMissing(watch, path string) Event {
	return Event{
		Kind:    KindFailure,
		Key:     "watch/" + watch + "/missing",
		Subject: fmt.Sprintf("offsite: the backup folder of '%s' is gone", watch),
		Text: fmt.Sprintf("The backup folder of '%s' (%s) is gone. offsite waits for it to come back; nothing already uploaded is touched.\n\nWhat to do: check that the disk or network share is connected and that the folder still exists.",
			watch, path),
		Fields: map[string]string{"watch": watch, "path": path},
	}
}

// FolderBack says a missing watched folder is there again.
func FolderBack(watch, path string) Event {
	return Event{
		Kind:    KindRecovered,
		Key:     "watch/" + watch + "/back",
		Subject: fmt.Sprintf("offsite: the backup folder of '%s' is back", watch),
		Text:    fmt.Sprintf("The backup folder of '%s' (%s) is back and offsite watches it again. Nothing needs to be done.", watch, path),
		Fields:  map[string]string{"watch": watch, "path": path},
	}
}

// Missed says no new backup arrived in watch within window after last (zero
// when none ever arrived). It repeats once a day while it lasts: the Key
// counts whole days since the backup became overdue, so it is the same after
// a restart and changes once every 24 hours.
func Missed(watch string, last time.Time, window time.Duration, now time.Time) Event {
	var text string
	if last.IsZero() {
		text = fmt.Sprintf("No backup has arrived in the folder of '%s' yet.", watch)
	} else {
		text = fmt.Sprintf("No new backup has arrived in the folder of '%s' since %s (%s ago); one was expected at least every %s.",
			watch, when(last), humanDuration(now.Sub(last)), humanDuration(window))
	}
	e := missed(watch, last, last.Add(window), now, text)
	e.Fields["expect_every"] = window.String()
	return e
}

// MissedDeadline is Missed for a schedule (expect_cron): the backup due by
// deadline (the first one missed) did not come.
func MissedDeadline(watch string, last, deadline, now time.Time) Event {
	text := fmt.Sprintf("The backup of '%s' due by %s has not arrived.", watch, when(deadline))
	if !last.IsZero() {
		text += fmt.Sprintf(" The newest one is from %s.", when(last))
	}
	e := missed(watch, last, deadline, now, text)
	e.Fields["deadline"] = deadline.UTC().Format(time.RFC3339)
	return e
}

func missed(watch string, last, overdue, now time.Time, what string) Event {
	key, subject := "", fmt.Sprintf("offsite: no new backup from '%s' since %s", watch, sinceWords(last, now))
	if last.IsZero() {
		subject = fmt.Sprintf("offsite: no backup from '%s' yet", watch)
	}
	if overdue.Year() < 2 {
		// Nothing to count from: repeat by calendar day instead.
		key, overdue = fmt.Sprintf("missed/%s/never/%s", watch, now.UTC().Format(time.DateOnly)), time.Time{}
	} else {
		day := 0
		if now.After(overdue) {
			day = int(now.Sub(overdue) / (24 * time.Hour))
		}
		key = fmt.Sprintf("missed/%s/%s/%d", watch, overdue.UTC().Format(time.RFC3339), day)
	}
	return Event{
		Kind:    KindMissed,
		Key:     key,
		Subject: subject,
		Text: what + " The program that writes these backups may have stopped, or its backup setting changed.\n\n" +
			"What to do: open the program and check that its backup runs and still saves into the watched folder. This reminder repeats once a day until a new backup arrives.",
		Fields: map[string]string{
			"watch": watch, "last": timeField(last), "overdue_since": timeField(overdue),
		},
	}
}

// Small says a new backup is much smaller than usual: often a sign of an
// export that failed halfway or a database that was emptied.
func Small(watch, file string, size, median int64) Event {
	return Event{
		Kind:    KindMissed,
		Key:     fmt.Sprintf("small/%s/%s/%d", watch, file, size), // a file name can be reused daily
		Subject: fmt.Sprintf("offsite: the new backup '%s' is much smaller than usual", file),
		Text: fmt.Sprintf("The new backup '%s' in '%s' is %s; recent backups were about %s. It may be empty or incomplete.\n\nWhat to do: check in the program that wrote it that its backup finished without errors.",
			file, watch, HumanBytes(size), HumanBytes(median)),
		Fields: map[string]string{
			"watch": watch, "file": file,
			"size": strconv.FormatInt(size, 10), "median": strconv.FormatInt(median, 10),
		},
	}
}

func sinceWords(last, now time.Time) string {
	if last.Year() == now.Year() && last.YearDay() == now.YearDay()-1 {
		return "yesterday"
	}
	if now.Sub(last) < 6*24*time.Hour {
		return last.Format("Monday")
	}
	return last.Format("2 Jan")
}

func timeField(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func trimDot(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '.' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}

// BackupsRemoved says backup files were deleted from their folder (the shop
// software rotating old ones out, a person tidying up) before offsite could
// send them: the listed destinations have no copy of them, and none will
// come. One event covers every file found in one run; key names the group
// ("removed/<first job>+<count>") so a repeat of the same group is sent once.
func BackupsRemoved(key string, lost []Failure) Event {
	type file struct {
		watch, name string
		dests       []string
	}
	var files []*file
	idx := map[string]*file{}
	for _, l := range lost {
		k := l.Watch + "\x00" + l.File
		f := idx[k]
		if f == nil {
			f = &file{watch: l.Watch, name: l.File}
			idx[k] = f
			files = append(files, f)
		}
		f.dests = append(f.dests, l.Dest)
	}
	var b strings.Builder
	subject := ""
	if len(files) == 1 {
		f := files[0]
		subject = fmt.Sprintf("offsite: '%s' was deleted before it was sent to %s", f.name, strings.Join(f.dests, ", "))
		fmt.Fprintf(&b, "The backup '%s' in '%s' was deleted from the folder before offsite could send it to %s. There is no copy of it there, and offsite cannot send it any more.\n",
			f.name, f.watch, strings.Join(f.dests, ", "))
	} else {
		subject = fmt.Sprintf("offsite: %d backups were deleted before they were sent", len(files))
		fmt.Fprintf(&b, "%d backups were deleted from their folder before offsite could send them. The destinations named have no copy of them, and offsite cannot send them any more:\n", len(files))
		for _, f := range files {
			fmt.Fprintf(&b, "- %s/%s → %s\n", f.watch, f.name, strings.Join(f.dests, ", "))
		}
	}
	b.WriteString("\nWhat to do: if the program that writes the backups deletes old ones, let it keep more of them, or make offsite's uploads faster (more `workers`, a wider upload window). If a person deleted them, check that newer backups exist. `offsite status` lists these files until you run `offsite ack`.")
	watches, names := map[string]bool{}, make([]string, 0, len(files))
	for _, f := range files {
		watches[f.watch] = true
		names = append(names, f.watch+"/"+f.name)
	}
	return Event{
		Kind:    KindFailure,
		Key:     key,
		Subject: subject,
		Text:    b.String(),
		Fields: map[string]string{
			"reason": "removed", "files": strings.Join(names, "\n"), "count": strconv.Itoa(len(files)),
			"watch": strings.Join(sortedKeys(watches), ","),
		},
	}
}
