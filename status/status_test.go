package status

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)

func tp(t time.Time) *time.Time { return &t }

func reasons(cs []Concern) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Subject+"/"+c.Reason)
	}
	return out
}

// TestHealthNamesEveryCondition: each condition that raises an alert is one
// concern, with the newest error of the destination in its message.
func TestHealthNamesEveryCondition(t *testing.T) {
	s := &Status{Time: now, StateDir: "/var/lib/offsite",
		Destinations: []Destination{
			{Name: "usb", Waiting: 3, Paused: &Pause{Reason: "missing", Message: "/media/usb does not exist", Fix: "plug it in"}},
			{Name: "cloud", Alerting: 2, GivenUp: 1, RestoreFailed: 1, RestoreError: "pos/day.bak: differs"},
			{Name: "nas", Failing: 4}, // failing, but not yet long enough to alert
		},
		Watches: []Watch{
			{Name: "pos", Path: "/srv/pos", State: WatchMissing, Error: "the folder does not exist"},
			{Name: "books", Path: "/srv/books", State: WatchOverdue, Expect: "at least every 24h0m0s"},
			{Name: "ok", State: WatchOK},
		},
		Problems: []Job{
			{Destination: "cloud", State: "failed", Error: "HTTP 500"},
			{Destination: "cloud", State: "dead", Error: "name refused"},
		},
		Refused: []Refused{{Watch: "pos", File: "x.bak", Reason: "linked"}},
		Intake:  &Intake{Problem: "2 backups could not be queued"},
	}
	got := strings.Join(reasons(s.Health()), " ")
	want := "destination usb/paused destination cloud/failing destination cloud/restore_failed destination cloud/given_up " +
		"watch pos/missing watch books/overdue watch pos/refused_linked intake/intake"
	if got != want {
		t.Fatalf("concerns\n got %s\nwant %s", got, want)
	}
	cs := s.Health()
	for i, want := range []string{"3 upload(s) wait", "last error: HTTP 500", "one: pos/day.bak: differs", "name refused",
		"cannot be read: the folder does not exist", "one is expected at least every 24h0m0s", "replaced by a link", "could not be queued"} {
		if !strings.Contains(cs[i].Message, want) {
			t.Errorf("concern %d %q lacks %q", i, cs[i].Message, want)
		}
	}
	if cs[0].Fix != "plug it in" || !strings.Contains(cs[7].Fix, "/var/lib/offsite") {
		t.Errorf("fixes %q, %q", cs[0].Fix, cs[7].Fix)
	}
	if s.Healthy() || !(&Status{}).Healthy() {
		t.Error("Healthy disagrees with Health")
	}
}

// TestWordsForTheConcernStayOutOfTheJSON: the concern's detail is not a
// field of the documented JSON form.
func TestWordsForTheConcernStayOutOfTheJSON(t *testing.T) {
	b, err := json.Marshal(Status{Destinations: []Destination{{Name: "cloud", RestoreError: "secret-ish detail"}},
		Watches: []Watch{{Name: "pos", Expect: "by the schedule 0 3 * * *"}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "secret-ish") || strings.Contains(string(b), "by the schedule") {
		t.Errorf("JSON has the concern's words: %s", b)
	}
}

func TestPrintSaysTheVerdictFirst(t *testing.T) {
	s := &Status{Time: now,
		Destinations: []Destination{{Name: "usb", Type: "local", Done: 2, BytesDone: 2 << 20, LastSuccess: tp(now.Add(-90 * time.Minute)),
			Paused: &Pause{Message: "disk \x1b[31mgone", NextTry: now.Add(5 * time.Minute)}, RetiredKey: 3}},
		Watches: []Watch{{Name: "pos", Path: "/srv/pos", State: WatchOverdue, LastArrival: tp(now.Add(-72 * time.Hour)),
			Newest: &Newest{File: "day.bak", Copies: []Copy{{Destination: "usb", State: "pending"}}}}},
	}
	s.Concerns = s.Health()
	s.OK = len(s.Concerns) == 0
	var b strings.Builder
	s.Print(&b)
	out := b.String()
	if !strings.HasPrefix(out, "NOT OK: 2 thing(s) need attention\n  ✗ destination usb: ") {
		t.Errorf("verdict not first:\n%s", out)
	}
	for _, want := range []string{"1h30m ago", "next try in 5m", "3 stored backup(s) can only be opened with a key no longer in encrypt",
		"3d ago", "not verified yet (usb pending)", "OVERDUE"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	// The table quotes what a service said, so it cannot drive the terminal.
	if !strings.Contains(out, `PAUSED: "disk \x1b[31mgone"`) {
		t.Errorf("the pause message is not quoted in the table:\n%q", out)
	}
	b.Reset()
	(&Status{Time: now, OK: true}).Print(&b)
	if !strings.HasPrefix(b.String(), "OK: every backup is offsite or on its way\n") {
		t.Errorf("green status:\n%s", b.String())
	}
}

func TestAgo(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "30s ago"}, {5 * time.Minute, "5m ago"}, {25*time.Hour + 5*time.Minute, "25h05m ago"},
		{72 * time.Hour, "3d ago"}, {-10 * time.Minute, "in 10m"},
	} {
		if got := ago(now, now.Add(-tc.d)); got != tc.want {
			t.Errorf("ago(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestPauseWordsFollowTheDestination: a disk and a cloud account are
// fixed differently, and a login by URL is not fixed with `offsite auth`.
func TestPauseWordsFollowTheDestination(t *testing.T) {
	if p := PauseProblem(true, "quota"); p != "the backup disk is full" {
		t.Errorf("local quota: %q", p)
	}
	if p := PauseProblem(false, "quota"); p != "the storage account is full" {
		t.Errorf("cloud quota: %q", p)
	}
	if f := PauseFix("cloud", false, true, "auth"); !strings.HasPrefix(f, "run `offsite auth cloud`") || !strings.Contains(f, "`offsite retry --to cloud`") {
		t.Errorf("login fix: %q", f)
	}
	if f := PauseFix("mail", false, false, "auth"); strings.Contains(f, "offsite auth") || !strings.Contains(f, "url in the config") {
		t.Errorf("url login fix: %q", f)
	}
	if f := PauseFix("usb", true, false, "missing"); !strings.HasPrefix(f, "plug the backup disk in") {
		t.Errorf("local missing fix: %q", f)
	}
}
