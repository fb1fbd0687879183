package notify

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/providers"
)

// Every alert says what happened, to what, and what to do.
func TestMessagesArePlainAndActionable(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	last := time.Date(2026, 11, 23, 18, 5, 0, 0, berlin)
	now := last.Add(27 * time.Hour)
	authErr := providers.Errorf(providers.Fatal, providers.ReasonAuth, "", "invalid_grant")
	quotaErr := providers.Errorf(providers.Fatal, providers.ReasonQuota, "", "insufficient_space")
	for _, tc := range []struct {
		name    string
		e       Event
		kind    Kind
		key     string
		subject string
		text    []string
	}{
		{"auth", DestinationFailed("cloud", Service{Type: "dropbox", Name: "Dropbox"}, providers.ReasonAuth, "", authErr), KindFailure, "dest/cloud/auth",
			"offsite: Dropbox refused the login for 'cloud'",
			[]string{"run `offsite auth cloud`", "nothing is lost", "invalid_grant"}},
		{"quota", DestinationFailed("drive", Service{Type: "gdrive", Name: "Google Drive"}, providers.ReasonQuota, "", quotaErr), KindFailure, "dest/drive/quota",
			"offsite: The storage behind 'drive' (Google Drive) is full",
			[]string{"free some space", "paused"}},
		{"missing disk", DestinationFailed("usb", Service{Type: "local", Name: "the backup disk or folder", Local: true}, providers.ReasonMissing, "", errors.New("stat /media/usb: no such file")), KindFailure, "dest/usb/missing",
			"offsite: The folder for 'usb' (the backup disk or folder) is not there",
			[]string{"plug the disk in"}},
		{"hint wins", DestinationFailed("od", Service{Type: "onedrive", Name: "OneDrive"}, providers.ReasonAuth, "run `offsite auth od` and use the shop account", nil), KindFailure, "dest/od/auth",
			"offsite: OneDrive refused the login for 'od'",
			[]string{"What to do: run `offsite auth od` and use the shop account."}},
		{"recovered", DestinationRecovered("cloud"), KindRecovered, "dest/cloud/recovered",
			"offsite: uploads to 'cloud' work again", []string{"Nothing needs to be done"}},
		{"upload failing", UploadFailing("pos", "day.bak", "cloud", 5, providers.Errorf(providers.Temporary, "", "check the proxy", "503")),
			KindFailure, "upload/pos/cloud/day.bak", "offsite: 'day.bak' has not reached 'cloud' yet",
			[]string{"tried 5 times", "stays in the queue", "What to do: check the proxy.", "503"}},
		{"folder missing", FolderMissing("pos", `D:\POS\Backup`), KindFailure, "watch/pos/missing",
			"offsite: the backup folder of 'pos' is gone", []string{`D:\POS\Backup`, "network share"}},
		{"folder back", FolderBack("pos", `D:\POS\Backup`), KindRecovered, "watch/pos/back",
			"offsite: the backup folder of 'pos' is back", []string{"watches it again"}},
		{"missed", Missed("pos", last, 26*time.Hour, now), KindMissed, "missed/pos/2026-11-24T19:05:00Z/0",
			"offsite: no new backup from 'pos' since yesterday",
			[]string{"since Mon 23 Nov 2026 18:05 CET (1 day 3 hours ago)", "every 1 day 2 hours", "repeats once a day"}},
		{"missed next day", Missed("pos", last, 26*time.Hour, now.Add(25*time.Hour)), KindMissed, "missed/pos/2026-11-24T19:05:00Z/1",
			"offsite: no new backup from 'pos' since Monday", nil},
		{"missed deadline", MissedDeadline("pos", last, time.Date(2026, 11, 25, 0, 30, 0, 0, berlin), now), KindMissed,
			"missed/pos/2026-11-24T23:30:00Z/0", "offsite: no new backup from 'pos' since yesterday",
			[]string{"due by Wed 25 Nov 2026 00:30 CET has not arrived", "newest one is from Mon 23 Nov 2026 18:05 CET"}},
		{"missed, nothing ever", Missed("pos", time.Time{}, 26*time.Hour, now), KindMissed, "missed/pos/never/2026-11-24",
			"offsite: no backup from 'pos' yet", []string{"No backup has arrived in the folder of 'pos' yet."}},
		{"missed deadline, nothing ever", MissedDeadline("pos", time.Time{}, time.Date(2026, 11, 25, 0, 30, 0, 0, berlin), now.Add(48*time.Hour)),
			KindMissed, "missed/pos/2026-11-24T23:30:00Z/1", "offsite: no backup from 'pos' yet", []string{"due by Wed 25 Nov 2026 00:30 CET"}},
		{"small", Small("pos", "day.bak", 1200, 48<<20), KindMissed, "small/pos/day.bak/1200",
			"offsite: the new backup 'day.bak' is much smaller than usual", []string{"is 1.2 KiB", "about 48 MiB", "incomplete"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.e.Kind != tc.kind || tc.e.Key != tc.key || tc.e.Subject != tc.subject {
				t.Errorf("got %s %q %q\nwant %s %q %q", tc.e.Kind, tc.e.Key, tc.e.Subject, tc.kind, tc.key, tc.subject)
			}
			for _, w := range tc.text {
				if !strings.Contains(tc.e.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, tc.e.Text)
				}
			}
		})
	}
}

func TestEpisodeQualifiesKey(t *testing.T) {
	e := DestinationFailed("cloud", Service{Type: "dropbox", Name: "Dropbox"}, providers.ReasonAuth, "", nil)
	a := e.Episode(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	b := e.Episode(time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC))
	if a.Key == b.Key || a.Key != "dest/cloud/auth@2026-03-01T10:00:00Z" || e.Key != "dest/cloud/auth" {
		t.Errorf("keys %q %q (base %q)", a.Key, b.Key, e.Key)
	}
}

func TestReport(t *testing.T) {
	start := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	e := Report(RunReport{
		Start: start, End: start.Add(95 * time.Second),
		Uploads: []Upload{
			{Watch: "pos", File: "day.bak", Version: "v1", Dest: "cloud", Size: 3 << 20, Hash: "9e107d9d372bb6826bd81d3542a419d6", HashKind: "md5"},
			{Watch: "pos", File: "day.bak", Version: "v1", Dest: "usb", Size: 3 << 20, Hash: "ab", HashKind: "sha256"},
		},
		Failures: []Failure{{Watch: "pos", File: "day.bak", Dest: "od", Attempts: 3, Error: "503 from OneDrive", Hint: "wait"}},
		Pruned:   []string{"Backups/pos/old.bak"},
		Notes:    []string{"The USB disk is 91% full."},
	})
	// One file sent to two destinations is one file, in the units status uses.
	if e.Kind != KindReport || e.Key != "report/2026-11-23T18:00:00Z" || e.Subject != "offsite: 1 file uploaded, 1 not yet (pos)" {
		t.Errorf("%s %q %q", e.Kind, e.Key, e.Subject)
	}
	for _, w := range []string{
		"uploaded 1 file (3 MiB) in 1 minute 35 seconds",
		"pos/day.bak, 3 MiB → cloud (md5 9e107d9d372bb682… verified), usb (sha256 ab verified)",
		"pos/day.bak → od: 503 from OneDrive (what to do: wait)",
		"Backups/pos/old.bak", "91% full",
	} {
		if !strings.Contains(e.Text, w) {
			t.Errorf("report lacks %q:\n%s", w, e.Text)
		}
	}
	if e.Fields["uploads"] != "1" || e.Fields["copies"] != "2" || e.Fields["bytes"] != "3145728" {
		t.Errorf("fields %v", e.Fields)
	}
}

// TestReportOfAScheduleOnlyRun: a run that only copied a schedule says what
// the schedule did, not "0 files uploaded".
func TestReportOfAScheduleOnlyRun(t *testing.T) {
	start := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	e := Report(RunReport{Start: start, End: start.Add(4 * time.Second),
		Notes: []string{"schedule weekly copied usb:Weekly/pos/day.bak"}})
	if e.Subject != "offsite: schedule weekly copied usb:Weekly/pos/day.bak" {
		t.Errorf("subject %q", e.Subject)
	}
	if strings.Contains(e.Text, "0 files") || strings.Contains(e.Subject, "0 files") {
		t.Errorf("a schedule-only run reads as an empty upload run:\n%s\n%s", e.Subject, e.Text)
	}
}

// TestReportOfRemovedAndGivenUp: a removed file is said to have no copy,
// and a given-up file is not said to be retried.
func TestReportOfRemovedAndGivenUp(t *testing.T) {
	start := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	e := Report(RunReport{Start: start, End: start.Add(time.Second),
		Failures: []Failure{{Watch: "pos", File: "a:b.bak", Dest: "od", Error: "name refused", GivenUp: true}},
		Removed:  []Failure{{Watch: "pos", File: "old.bak", Dest: "usb"}, {Watch: "pos", File: "old.bak", Dest: "cloud"}}})
	if e.Subject != "offsite: 0 files uploaded, 1 not yet, 1 removed before sending (pos)" {
		t.Errorf("subject %q", e.Subject)
	}
	if strings.Contains(e.Text, "keeps trying") || !strings.Contains(e.Text, "does not retry") {
		t.Errorf("a given-up file is described as retried:\n%s", e.Text)
	}
	if !strings.Contains(e.Text, "1 file was removed from the backup folder") || !strings.Contains(e.Text, "pos/old.bak → cloud") {
		t.Errorf("removed file not told:\n%s", e.Text)
	}
}

func TestWeekly(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) // ISO week 48
	w := WeeklyProof{Time: now, Watches: []WatchProof{
		{Watch: "pos", Copies: []Copy{
			{Dest: "cloud", File: "day.bak", Time: now.Add(-10 * time.Hour), Size: 1 << 20, Hash: "abc123", HashKind: "md5"},
			{Dest: "usb", File: "day.bak", Time: now.Add(-10 * 24 * time.Hour), Size: 1 << 20},
		}},
		{Watch: "office", Copies: []Copy{{Dest: "cloud"}}},
	}}
	e := Weekly(w)
	if e.Kind != KindWeekly || e.Key != "weekly/2026-W48" {
		t.Errorf("%s %q", e.Kind, e.Key)
	}
	if e.Subject != "offsite: weekly proof of backup, 2 destinations without a recent copy" {
		t.Errorf("subject %q", e.Subject)
	}
	for _, w := range []string{"pos→usb, office→cloud", "- cloud: day.bak, 1 MiB, from Sun 22 Nov 2026 22:00 UTC, md5 abc123 verified",
		"- usb: OLD: day.bak", "- cloud: NO COPY YET"} {
		if !strings.Contains(e.Text, w) {
			t.Errorf("weekly lacks %q:\n%s", w, e.Text)
		}
	}
	w.Watches = w.Watches[:1]
	w.Watches[0].Copies = w.Watches[0].Copies[:1]
	if e := Weekly(w); !strings.Contains(e.Subject, "every backup has a recent copy") {
		t.Errorf("all-good subject %q", e.Subject)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		12 * time.Second:              "12 seconds",
		45 * time.Minute:              "45 minutes",
		26 * time.Hour:                "1 day 2 hours",
		24 * time.Hour:                "1 day",
		50*time.Hour + 30*time.Minute: "2 days 2 hours",
		time.Hour + 30*time.Second:    "1 hour",
		-3 * time.Hour:                "3 hours",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
