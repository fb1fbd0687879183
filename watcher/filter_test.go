package watcher

import "testing"

func TestIgnored(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"~$Book1.xlsx", true},
		{".~lock.Book1.xlsx#", true},
		{"x.tmp", true},
		{"X.TMP", true},
		{"x.temp", true},
		{"movie.part", true},
		{"a.partial", true},
		{"setup.exe.crdownload", true},
		{"f.download", true},
		{".pos.bak.Xa81Qz", true},
		{".offsite-spool", true},
		{".DS_Store", true},
		{"desktop.ini", true},
		{"Desktop.INI", true},
		{"Thumbs.db", true},
		{"Kassa.laccdb", true},
		{"kassa.LDB", true},
		{"pos.db-journal", true},
		{"pos.sqlite-wal", true},
		{"pos.db-shm", true},
		{"Kassa.accdb", false},
		{"pos.db", false},
		{"year-end-journal", false}, // no database beside it: a name, not a sidecar
		{"backup-wal.zip", false},
		{"Cedd4100", false}, // Excel's temp is caught by the gate, not by name
		{"pos.bak", false},
		{"tmp.bak", false},
		{"report.tmp.zip", false},
		{"säkerhetskopia_åäö.bak", false},
	} {
		if got := Ignored(tc.name); got != tc.want {
			t.Errorf("Ignored(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFilterGlobs(t *testing.T) {
	f, err := newFilter(Config{Include: []string{"*.bak", "exports/*.zip"}, Exclude: []string{"old_*", "archive"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rel  string
		want bool
	}{
		{"a.bak", true},
		{"A.Bak", true},
		{"sub/a.bak", true},
		{"a.zip", false},
		{"exports/a.zip", true},
		{"exports/deeper/a.zip", false},
		{"old_a.bak", false},
		{"sub/old_a.bak", false},
	} {
		if got := f.file(tc.rel, "/w/"+tc.rel); got != tc.want {
			t.Errorf("file(%q) = %v, want %v", tc.rel, got, tc.want)
		}
	}
	if f.dir("archive", "/w/archive") || !f.dir("exports", "/w/exports") || f.dir(".git", "/w/.git") {
		t.Error("dir pruning wrong")
	}
}
