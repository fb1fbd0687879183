// Package status is the status object: what `offsite status`, its --json
// form, /healthz and the status page show. It holds the verdict (Health)
// worked out from the object alone, and its text form (Print); filling it
// in is a read-only query of the queue and the folders, done by the wiring.
package status

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/offsite-backup/offsite/internal/termsafe"
	"github.com/offsite-backup/offsite/notify"
)

// Status is what `offsite status` shows; its JSON form is documented in
// docs/status.md and is a contract for scripts and monitoring. Times are
// UTC, lists are never null, and a time that is not set is left out.
type Status struct {
	Time     time.Time `json:"time"`
	StateDir string    `json:"state_dir"`
	// OK is the green light: true only while every backup is offsite or on
	// its way. Concerns says why not; /healthz answers 503 while !OK.
	OK           bool          `json:"ok"`
	Concerns     []Concern     `json:"concerns"`
	Destinations []Destination `json:"destinations"`
	Watches      []Watch       `json:"watches"`
	Uploading    []Job         `json:"uploading"`
	Problems     []Job         `json:"problems"`
	// Removed lists backups deleted from their folder before they reached a
	// destination, until `offsite ack`. They are alerted, not retried.
	Removed []Job `json:"removed"`
	// Refused lists backup files seen but not queued (replaced by a link,
	// unreadable) while they are still in their folder: nothing is on its
	// way for them, so each keeps the light red until it is queued or
	// `offsite ack` is run.
	Refused []Refused `json:"refused"`
	Recent  []Job     `json:"recent"`
	// Daemon says whether offsite runs to send what waits; while it does
	// not, backups waiting or not yet queued are on no way.
	Daemon *Running `json:"daemon"`
	// Intake is set while ready backups cannot be recorded in the queue
	// (state folder's disk full, database unwritable): they are not on
	// their way anywhere yet. Only the running daemon knows it.
	Intake *Intake `json:"intake,omitempty"`
	// Days is the last 30 calendar days in the PC's time zone, oldest
	// first: what was uploaded each day and what failed.
	Days []Day `json:"uploads_by_day"`
	// TestRestore is the newest test restore: a stored copy read back and
	// checked against the backup. Nil until one has run.
	TestRestore *TestRestore `json:"last_test_restore,omitempty"`
}

// Day is one day of uploads (queue.Day).
type Day struct {
	Date    string `json:"date"` // YYYY-MM-DD
	Files   int    `json:"files"`
	Bytes   int64  `json:"bytes"`
	Retried int    `json:"retried"` // of files, those that failed at first
	Failing int    `json:"failing"` // uploads that failed and have not gone through yet, on the day of their latest attempt
}

// TestRestore is the outcome of one test restore.
type TestRestore struct {
	At          time.Time `json:"at"`
	Destination string    `json:"destination"`
	Watch       string    `json:"watch,omitempty"`
	File        string    `json:"file"`
	OK          bool      `json:"ok"`
	Message     string    `json:"message,omitempty"` // what went wrong, when !OK
}

// Intake is the "intake" problem: backups found but not queued.
type Intake struct {
	Problem string    `json:"problem"`
	Files   int       `json:"files"`
	Error   string    `json:"error"`
	Since   time.Time `json:"since"`
}

// Refused is one backup file offsite saw and would not queue.
type Refused struct {
	Watch  string    `json:"watch"`
	File   string    `json:"file"`
	Reason string    `json:"reason"` // linked, unreadable, unsettled
	Error  string    `json:"error"`
	Since  time.Time `json:"since"`
}

// Concern is one reason the light is not green, in the words an alert uses.
type Concern struct {
	Subject string `json:"subject"` // "destination usb", "watch pos"
	Reason  string `json:"reason"`  // paused, failing, given_up, missing, unreadable, overdue
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// Destination is one destination: its uploads and whether it is paused.
type Destination struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Done    int    `json:"done"`
	Waiting int    `json:"waiting"`
	Failing int    `json:"failing"`
	// Alerting counts failing uploads tried retry.alert_after times or more:
	// a failure alert went out and the light is not green.
	Alerting    int        `json:"alerting"`
	GivenUp     int        `json:"given_up"`
	BytesDone   int64      `json:"bytes_done"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	Paused      *Pause     `json:"paused,omitempty"`
	// StoredAs is the suffix new uploads get (".zst", ".age", ".zst.age").
	StoredAs string `json:"stored_as,omitempty"`
	// RetiredKey counts stored backups only a key no longer in encrypt:
	// recipients can open.
	RetiredKey int `json:"retired_key_copies,omitempty"`
	// RestoreFailed counts stored copies whose last test restore failed.
	RestoreFailed int `json:"restore_failed,omitempty"`
	// CopiesChecked is when the daemon's daily look last found this
	// destination's newest stored copies there (or found which are gone);
	// left out until it has run, and for local folders and mailboxes.
	CopiesChecked *time.Time `json:"copies_checked,omitempty"`
	// RestoreError is one of them, for the concern; not in the JSON form.
	RestoreError string `json:"-"`
}

// Pause is why a destination is paused, and when it is tried again.
type Pause struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// Problem is the cause in a shop owner's words ("the backup disk is
	// not plugged in"), Fix what to do about it.
	Problem string    `json:"problem"`
	Fix     string    `json:"fix"`
	Since   time.Time `json:"since,omitzero"`
	// NextTry is left out when the probe is due now (after `offsite retry`).
	NextTry time.Time `json:"next_try,omitzero"`
}

// Watch states.
const (
	WatchOK         = "ok"
	WatchMissing    = "missing"    // the folder is not there (disk unplugged, share not mounted)
	WatchUnreadable = "unreadable" // there, but not a readable folder
	WatchOverdue    = "overdue"    // no new backup within expect_every / by expect_cron
)

// Watch is one watched folder and its newest backup.
type Watch struct {
	Name  string `json:"name"`
	Path  string `json:"path"`
	State string `json:"state"`
	// Error says what is wrong with the folder (missing, unreadable).
	Error        string     `json:"error,omitempty"`
	LastArrival  *time.Time `json:"last_arrival,omitempty"`
	OverdueSince *time.Time `json:"overdue_since,omitempty"`
	SilencedTo   *time.Time `json:"alerts_silenced_until,omitempty"`
	HeldTo       *time.Time `json:"uploads_held_until,omitempty"`
	// Newest is the newest backup seen in the folder and where it is.
	Newest *Newest `json:"newest,omitempty"`
	// Expect is the rule, in words, for the concern; not in the JSON form.
	Expect string `json:"-"`
}

// Newest is a watch's newest backup: verified once every destination
// it goes to holds a copy checked against the service's own hash.
type Newest struct {
	File     string    `json:"file"`
	Size     int64     `json:"size"`
	Seen     time.Time `json:"seen"`
	Verified bool      `json:"verified"`
	Copies   []Copy    `json:"copies"`
}

// offsite says where the newest backup is: "verified", or which
// destinations it still waits for.
func (n *Newest) offsite() string {
	if n.Verified {
		return "verified"
	}
	var waiting []string
	for _, c := range n.Copies {
		if c.State != "done" { // the job state queue.Done
			waiting = append(waiting, c.Destination+" "+c.State)
		}
	}
	if len(waiting) == 0 {
		return "not sent yet"
	}
	return "not verified yet (" + strings.Join(waiting, ", ") + ")"
}

// Copy is the newest backup's upload to one destination.
type Copy struct {
	Destination string `json:"destination"`
	State       string `json:"state"` // a job state: pending, uploading, done, failed, ...
}

// Job is one upload of a backup to a destination.
type Job struct {
	Watch       string    `json:"watch"`
	File        string    `json:"file"`
	Destination string    `json:"destination"`
	Remote      string    `json:"remote"`
	State       string    `json:"state"`
	Size        int64     `json:"size"`
	Attempts    int       `json:"attempts"`
	Acked       int64     `json:"acknowledged_bytes,omitempty"` // of a resumable upload in progress
	Error       string    `json:"error,omitempty"`
	NextTry     time.Time `json:"next_try,omitzero"`
	Hash        string    `json:"hash,omitempty"`
	At          time.Time `json:"at,omitzero"`
}

// Health is the verdict, worked out from the status alone so that every
// view (status, status --json, /healthz) says the same: each condition that
// raises an alert is a concern while it lasts. A new condition is a field
// of Status, filled in Status, and a case here.
func (s *Status) Health() []Concern {
	out := []Concern{}
	for _, d := range s.Destinations {
		subject := "destination " + d.Name
		if p := d.Paused; p != nil {
			out = append(out, Concern{Subject: subject, Reason: "paused",
				Message: fmt.Sprintf("uploads to %s are paused: %s; %d upload(s) wait", d.Name, p.Message, d.Waiting),
				Fix:     p.Fix})
		}
		if d.Alerting > 0 {
			msg := fmt.Sprintf("%d upload(s) to %s keep failing", d.Alerting, d.Name)
			if e := s.lastError(d.Name, "failed"); e != "" {
				msg += "; last error: " + e
			}
			out = append(out, Concern{Subject: subject, Reason: "failing", Message: msg,
				Fix: fmt.Sprintf("fix the cause named in the error (`offsite check` tests the destination); the uploads are retried by themselves, or at once with `offsite retry --to %s`", d.Name)})
		}
		if d.RestoreFailed > 0 {
			out = append(out, Concern{Subject: subject, Reason: "restore_failed",
				Message: fmt.Sprintf("%d stored backup(s) at %s failed their test restore or are gone from it; one: %s", d.RestoreFailed, d.Name, d.RestoreError),
				Fix: fmt.Sprintf("run `offsite verify --restore %s --repair` to upload them again from the watched folder; one the folder no longer holds clears once the next backup's copy is there; "+
					"restore from another destination meanwhile", d.Name)})
		}
		if d.GivenUp > 0 {
			msg := fmt.Sprintf("%d upload(s) to %s were given up: they cannot succeed as they are", d.GivenUp, d.Name)
			if e := s.lastError(d.Name, "dead"); e != "" {
				msg += "; " + e
			}
			out = append(out, Concern{Subject: subject, Reason: "given_up", Message: msg,
				Fix: fmt.Sprintf("fix what the error names (for example rename a file the service refuses), then run `offsite retry --to %s`", d.Name)})
		}
	}
	for _, w := range s.Watches {
		subject := "watch " + w.Name
		switch w.State {
		case WatchMissing, WatchUnreadable:
			out = append(out, Concern{Subject: subject, Reason: w.State,
				Message: fmt.Sprintf("the backup folder %s of %s cannot be read: %s", w.Path, w.Name, w.Error),
				Fix:     "connect the disk or network share that holds it, or correct the watch's path in the config"})
		case WatchOverdue:
			since := "yet"
			if w.LastArrival != nil {
				since = "since " + w.LastArrival.Local().Format("Mon 2 Jan 15:04")
			}
			out = append(out, Concern{Subject: subject, Reason: w.State,
				Message: fmt.Sprintf("no new backup in %s %s; one is expected %s", w.Name, since, w.Expect),
				Fix: fmt.Sprintf("check that the program writing these backups still runs and saves into %s; for a closure, `offsite pause --until DATE --watch %s`",
					w.Path, w.Name)})
		}
	}
	for _, r := range s.Refused {
		c := Concern{Subject: "watch " + r.Watch, Reason: "refused_" + r.Reason}
		switch r.Reason {
		case "linked":
			c.Message = fmt.Sprintf("the backup %s in %s was replaced by a link, so it was not read or sent", termsafe.Quote(r.File), r.Watch)
			c.Fix = "find out who replaced the backup with a link, delete the link and let the program write its backup again; `offsite ack` clears this once dealt with"
		case "unsettled":
			c.Message = fmt.Sprintf("the file %s in %s has not become complete since %s (%s), so it is not sent", termsafe.Quote(r.File), r.Watch,
				r.Since.Local().Format("2006-01-02 15:04"), termsafe.Quote(r.Error))
			c.Fix = "if it is the program's live data file, point the watch at the folder of its finished backup copies (or exclude the file); " +
				"if a backup hangs while being written, close the program or restart the PC; it is sent by itself once it stops changing"
		default:
			c.Message = fmt.Sprintf("the backup %s in %s cannot be read, so it is not sent: %s", termsafe.Quote(r.File), r.Watch, termsafe.Quote(r.Error))
			c.Fix = "give the account offsite runs as read access to the file and check no program keeps it locked; it is queued by itself at the next scan once readable"
		}
		out = append(out, c)
	}
	if c, ok := s.notRunning(); ok {
		out = append(out, c)
	}
	if in := s.Intake; in != nil {
		out = append(out, Concern{Subject: "intake", Reason: "intake", Message: in.Problem,
			Fix: "free space on the disk of the state folder " + s.StateDir + " (or make it writable again); the waiting backups are queued by themselves once it works"})
	}
	return out
}

// Healthy is the verdict as one bit: no concern.
func (s *Status) Healthy() bool { return len(s.Health()) == 0 }

// lastError is the newest error of a destination's problem jobs in a state.
func (s *Status) lastError(dest, state string) string {
	for _, p := range s.Problems {
		if p.Destination == dest && p.State == state && p.Error != "" {
			return p.Error
		}
	}
	return ""
}

// PauseProblem says why a destination is paused in a shop owner's words.
func PauseProblem(local bool, reason string) string {
	switch reason {
	case "auth":
		return "the saved sign-in was refused: it expired or was revoked"
	case "quota":
		if local {
			return "the backup disk is full"
		}
		return "the storage account is full"
	case "missing":
		if local {
			return "the backup disk is not plugged in (or the network share is not connected)"
		}
		return "the backup folder is gone from the account"
	case "read-only":
		return "offsite is not allowed to write there"
	case "rate-limited":
		return "the service asked offsite to wait before sending more"
	}
	return "it cannot be used at the moment"
}

// PauseFix is what to do about a paused destination, by the pause's reason.
func PauseFix(name string, local, login bool, reason string) string {
	var fix string
	switch reason {
	case "auth":
		fix = fmt.Sprintf("run `offsite auth %s` and sign in again", name)
		if !login {
			fix = "correct the user and password in the destination's url in the config, and restart offsite"
		}
	case "quota":
		fix = "free some space there (empty the trash too) or buy more storage"
	case "missing":
		fix = "create the destination's folder again, or correct its path"
		if local {
			fix = "plug the backup disk in or connect the network share"
		}
	case "read-only":
		fix = "give the account write permission on the backup folder"
	case "spool-full":
		fix = "free space on the disk of the state folder, or move state_dir to a larger disk: it needs room for one encrypted or compressed copy of the largest backup"
	default:
		fix = "run `offsite check` to see what is wrong and fix it"
	}
	return fix + fmt.Sprintf("; then `offsite retry --to %s` tries it at once (otherwise it is tried again by itself, at least once an hour)", name)
}

// WriteJSON writes s indented, in the form docs/status.md describes, as
// `status --json` prints it (/healthz answers the same object on one line).
func (s *Status) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// Print writes the human-readable form: the verdict first, then the detail.
func (s *Status) Print(w io.Writer) {
	if s.OK {
		fmt.Fprintln(w, "OK: every backup is offsite or on its way")
	} else {
		fmt.Fprintf(w, "NOT OK: %d thing(s) need attention\n", len(s.Concerns))
		for _, c := range s.Concerns {
			fmt.Fprintf(w, "  ✗ %s: %s\n    what to do: %s\n", c.Subject, c.Message, c.Fix)
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "DESTINATION\tTYPE\tUPLOADED\tWAITING\tFAILING\tGIVEN UP\tLAST SUCCESS\tSTATE")
	for _, d := range s.Destinations {
		last := "never"
		if d.LastSuccess != nil {
			last = ago(s.Time, *d.LastSuccess)
		}
		state := "ok"
		switch {
		case d.Paused != nil:
			next := "now"
			if !d.Paused.NextTry.IsZero() {
				next = ago(s.Time, d.Paused.NextTry)
			}
			state = "PAUSED: " + termsafe.Quote(d.Paused.Message) + " (next try " + next + ")"
		case d.Alerting > 0:
			state = "FAILING"
		case d.GivenUp > 0:
			state = "GAVE UP ON SOME"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d (%s)\t%d\t%d\t%d\t%s\t%s\n", d.Name, d.Type, d.Done, notify.HumanBytes(d.BytesDone), d.Waiting, d.Failing, d.GivenUp, last, state)
	}
	tw.Flush()
	for _, d := range s.Destinations {
		if d.RetiredKey > 0 {
			fmt.Fprintf(w, "  %s: %d stored backup(s) can only be opened with a key no longer in encrypt: recipients; keep that key until they are pruned\n", d.Name, d.RetiredKey)
		}
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "WATCH\tFOLDER\tNEWEST BACKUP\tSTATE")
	for _, ws := range s.Watches {
		last := "none yet"
		if ws.LastArrival != nil {
			last = ago(s.Time, *ws.LastArrival)
		}
		if n := ws.Newest; n != nil {
			last += ", " + termsafe.Quote(n.File) + " " + n.offsite()
		}
		if ws.SilencedTo != nil {
			last += " (alerts silenced until " + ws.SilencedTo.Local().Format("2006-01-02") + ")"
		}
		if ws.HeldTo != nil {
			last += " (uploads held until " + ws.HeldTo.Local().Format("2006-01-02") + ")"
		}
		state := ws.State
		switch ws.State {
		case WatchMissing, WatchUnreadable:
			state = strings.ToUpper(ws.State) + ": " + termsafe.Quote(ws.Error)
		case WatchOverdue:
			state = "OVERDUE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ws.Name, termsafe.Quote(ws.Path), last, state)
	}
	tw.Flush()
	if s.Intake != nil {
		fmt.Fprintf(w, "\nNOT QUEUED\n  %s\n", s.Intake.Problem)
	}
	if len(s.Uploading) > 0 {
		fmt.Fprintln(w, "\nUPLOADING NOW")
		for _, u := range s.Uploading {
			done := ""
			if u.Acked > 0 && u.Size > 0 {
				done = fmt.Sprintf(", %d%% acknowledged", u.Acked*100/u.Size)
			}
			fmt.Fprintf(w, "  %s → %s (%s%s)\n", termsafe.Quote(u.Watch+"/"+u.File), u.Destination, notify.HumanBytes(u.Size), done)
		}
	}
	if len(s.Problems) > 0 {
		fmt.Fprintln(w, "\nNEEDS ATTENTION")
		for _, p := range s.Problems {
			next := ""
			if !p.NextTry.IsZero() {
				next = ", next try " + ago(s.Time, p.NextTry)
			}
			fmt.Fprintf(w, "  %s → %s: %s after %d attempt(s)%s\n    %s\n", termsafe.Quote(p.Watch+"/"+p.File), p.Destination, p.State, p.Attempts, next, termsafe.Quote(p.Error))
		}
	}
	if len(s.Removed) > 0 {
		fmt.Fprintln(w, "\nDELETED BEFORE THEY WERE SENT (no copy at the destination; `offsite ack` hides them)")
		for _, r := range s.Removed {
			fmt.Fprintf(w, "  %s  %s/%s → %s\n", r.At.Local().Format("2006-01-02 15:04"), r.Watch, r.File, r.Destination)
		}
	}
	if len(s.Recent) > 0 {
		fmt.Fprintln(w, "\nRECENT UPLOADS")
		for _, r := range s.Recent {
			fmt.Fprintf(w, "  %s  %s → %s:%s (%s)\n", r.At.Local().Format("2006-01-02 15:04"), termsafe.Quote(r.Watch+"/"+r.File), r.Destination, termsafe.Quote(r.Remote), notify.HumanBytes(r.Size))
		}
	}
}

func ago(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		s = fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// Running says whether a daemon (`run`, or an `once` in progress)
// is sending backups now.
type Running struct {
	Running  bool       `json:"running"`
	LastSeen *time.Time `json:"last_seen,omitempty"` // its last heartbeat; left out if none ever ran
	Stopped  *time.Time `json:"stopped,omitempty"`   // set when it stopped cleanly
	// Unqueued lists files in the watched folders that no daemon has
	// queued yet; only looked for while none runs (a running one has them
	// in hand).
	Unqueued []Unqueued `json:"unqueued"`
}

// Unqueued is a backup in a watched folder that is not in the queue.
type Unqueued struct {
	Watch string `json:"watch"`
	File  string `json:"file"`
}

// notRunning is the concern of backups that wait while no daemon runs to
// send them: queued uploads (waiting or failing) and files not queued.
func (s *Status) notRunning() (Concern, bool) {
	d := s.Daemon
	if d == nil || d.Running {
		return Concern{}, false
	}
	waiting := 0
	for _, ds := range s.Destinations {
		if ds.Paused == nil { // a paused destination has its own concern
			waiting += ds.Waiting + ds.Failing
		}
	}
	if waiting == 0 && len(d.Unqueued) == 0 {
		return Concern{}, false
	}
	var what []string
	if waiting > 0 {
		what = append(what, fmt.Sprintf("%d upload(s) wait", waiting))
	}
	if n := len(d.Unqueued); n > 0 {
		names := make([]string, 0, 3)
		for _, f := range d.Unqueued[:min(n, 3)] {
			names = append(names, termsafe.Quote(f.File)+" in "+f.Watch)
		}
		more := ""
		if n > 3 {
			more = fmt.Sprintf(" and %d more", n-3)
		}
		what = append(what, fmt.Sprintf("%d backup(s) are not queued yet (%s%s)", n, strings.Join(names, ", "), more))
	}
	since := "it has never run here"
	switch {
	case d.Stopped != nil:
		since = "it stopped " + ago(s.Time, *d.Stopped)
	case d.LastSeen != nil:
		since = "it was last seen running " + ago(s.Time, *d.LastSeen) + " and did not stop cleanly"
	}
	return Concern{Subject: "service", Reason: "not_running",
		Message: fmt.Sprintf("offsite is not running (%s), so nothing sends them: %s", since, strings.Join(what, "; ")),
		Fix: "start the service: `offsite service start` (`offsite service status` says whether it runs, the log why it stopped); " +
			"if `offsite once` runs on a schedule instead, they go at its next run, or run it now"}, true
}
