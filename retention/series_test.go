package retention

import (
	"path"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSeriesName(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		// Names without stamps are their own series.
		{"stock.xlsx", "stock.xlsx"},
		{"accounts.xlsx", "accounts.xlsx"},
		{".bak", ".bak"},
		{"README", "README"},
		// offsite's own version stamp for a rewritten file.
		{"data.2026-11-23T180501Z.xlsx", "data.xlsx"},
		{"data.2026-11-23T180501Z-2.xlsx", "data.xlsx"},
		{"pos/data.2026-11-23T180501Z.xlsx", "pos/data.xlsx"},
		{"day.2026-11-23T180501Z.bak.zst.age", "day.bak.zst.age"},
		{"dagsavslut 2026-11-20.2026-11-21T080000Z.bak", "dagsavslut <date>.bak"},
		// Dates, with and without a time, wherever they stand.
		{"dagsavslut 2026-11-20.bak", "dagsavslut <date>.bak"},
		{"dagsavslut 2026_11_20.bak", "dagsavslut <date>.bak"},
		{"dagsavslut 20.11.2026.bak", "dagsavslut <date>.bak"},
		{"dagsavslut 20.11.2026", "dagsavslut <date>"},
		{"dagsavslut 20.11.2026-11-23T180501Z.2026", "dagsavslut <date>"},
		{"dagsavslut 11-20-2026.bak", "dagsavslut <date>.bak"},
		{"Backup 20261120 2215.zip", "Backup <date>.zip"},
		{"pos-2026-11-20_22-15.bak", "pos-<date>.bak"},
		{"pos-2026-11-20_22.15.30.bak", "pos-<date>.bak"},
		{"db_20261120T221500Z.sql.gz", "db_<date>.sql.gz"},
		{"db_202611202215.sql", "db_<date>.sql"},
		{"backup20261120.zip", "backup<date>.zip"},
		{"2024-01-01.bak", "<date>.bak"},
		{"kassa 02 2026-11-20.bak", "kassa 02 <date>.bak"}, // a dated name's other numbers name it
		{"2026/11/20/db.bak", "2026/11/20/db.bak"},         // folders are never merged
		// Not dates: impossible days, numbers glued to a date.
		{"backup 2026-02-30.bak", "backup <n>-<n>-<n>.bak"},
		{"backup 20261320.bak", "backup <n>.bak"},
		// Counters: two or more digits standing apart, in names without a date.
		{"backup_0042.zip", "backup_<n>.zip"},
		{"backup_42.zip", "backup_<n>.zip"},
		{"pos-01.bak", "pos-<n>.bak"},
		{"0042.zip", "<n>.zip"},
		{"backup (12).zip", "backup (<n>).zip"},
		{"backup_0042.tar.gz", "backup_<n>.tar.gz"},
		// Part of the name: glued to letters, a single digit, an extension.
		{"pos2000.bak", "pos2000.bak"},
		{"pos2001.bak", "pos2001.bak"},
		{"kassa 1.bak", "kassa 1.bak"},
		{"stock (1).xlsx", "stock (1).xlsx"},
		{"backup_0042a.zip", "backup_0042a.zip"},
		{"backup.7z.001", "backup.7z.001"},
		{"daglig åtgärd 2026-11-20.bak", "daglig åtgärd <date>.bak"},
	} {
		if got := SeriesName(c.name); got != c.want {
			t.Errorf("SeriesName(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestSeriesPairs states the rule as "same backup or not" for the names the
// rule must get right.
func TestSeriesPairs(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"dagsavslut 2026-11-20.bak", "dagsavslut 2026-11-21.bak", true},
		{"backup_0042.zip", "backup_0043.zip", true},
		{"Backup 20261120 2215.zip", "Backup 20261121 0005.zip", true},
		{"pos-2026-11-20_22-15.bak", "pos-2026-11-21_22-16.bak", true},
		{"data.xlsx", "data.2026-11-23T180501Z.xlsx", true},
		{"pos-09.bak", "pos-10.bak", true},
		{"stock.xlsx", "accounts.xlsx", false},
		{"stock.xlsx", "dagsavslut 2026-11-20.bak", false},
		{"pos2000.bak", "pos2001.bak", false},
		{"kassa 1.bak", "kassa 2.bak", false},
		{"kassa 01 2026-11-20.bak", "kassa 02 2026-11-20.bak", false},
		{"a/backup_0042.zip", "b/backup_0043.zip", false},
		{"backup.7z.001", "backup.7z.002", false},
		{"dagsavslut 2026-11-20.bak", "dagsavslut 2026-11-20.zip", false},
		{"Stock.xlsx", "stock.xlsx", false},
	} {
		if got := SeriesName(c.a) == SeriesName(c.b); got != c.same {
			t.Errorf("%q and %q same series = %v, want %v (%q, %q)", c.a, c.b, got, c.same, SeriesName(c.a), SeriesName(c.b))
		}
	}
}

// TestPlanKeepsEachSeries is the folder of issue 11: two workbooks saved
// once and a day-end file per day. keep last 2 must only thin the day-end
// files.
func TestPlanKeepsEachSeries(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 22, 15, 0, 0, time.UTC) }
	items := []Item{
		{Path: "pos/stock.xlsx", Time: day(2)},
		{Path: "pos/accounts.xlsx", Time: day(3)},
		{Path: "pos/data.xlsx", Time: day(4)},
		{Path: "pos/data.2026-11-05T221500Z.xlsx", Time: day(5)},
		{Path: "pos/data.2026-11-06T221500Z.xlsx", Time: day(6)},
	}
	for d := 20; d <= 24; d++ {
		items = append(items, Item{Path: "pos/dagsavslut 2026-11-" + itoa(d) + ".bak", Time: day(d)})
	}
	items[len(items)-1].Protected = true
	series, why := Plan(items, Policy{Last: 2}, time.UTC)
	var names []string
	var dropped []string
	for _, s := range series {
		names = append(names, s.Name)
		if len(s.Keep) == 0 {
			t.Errorf("series %s keeps nothing", s.Name)
		}
		for _, d := range s.Drop {
			dropped = append(dropped, d.Path)
		}
	}
	if want := []string{"pos/accounts.xlsx", "pos/dagsavslut <date>.bak", "pos/data.xlsx", "pos/stock.xlsx"}; !slices.Equal(names, want) {
		t.Errorf("series %q, want %q", names, want)
	}
	want := []string{"pos/dagsavslut 2026-11-22.bak", "pos/dagsavslut 2026-11-21.bak", "pos/dagsavslut 2026-11-20.bak", "pos/data.xlsx"}
	slices.Sort(dropped)
	slices.Sort(want)
	if !slices.Equal(dropped, want) {
		t.Errorf("dropped %q, want %q", dropped, want)
	}
	for path, w := range map[string]string{
		"pos/stock.xlsx":                "kept: only copy of its series",
		"pos/dagsavslut 2026-11-24.bak": "kept: newest verified copy, last 2",
		"pos/dagsavslut 2026-11-23.bak": "kept: last 2",
		"pos/dagsavslut 2026-11-22.bak": "dropped: not among the copies kept by last 2",
	} {
		if why[path] != w {
			t.Errorf("why[%s] = %q, want %q", path, why[path], w)
		}
	}
	// Item.Name, when given, decides the series instead of Path.
	series, _ = Plan([]Item{
		{Path: "x/1", Name: "stock.xlsx", Time: day(1)},
		{Path: "x/2", Name: "stock.xlsx", Time: day(2)},
		{Path: "x/3", Name: "accounts.xlsx", Time: day(3)},
	}, Policy{Last: 1}, nil)
	if len(series) != 2 || series[1].Name != "stock.xlsx" || len(series[1].Drop) != 1 || series[1].Drop[0].Path != "x/1" {
		t.Errorf("by Name: %+v", series)
	}
}

func itoa(d int) string { return time.Date(2000, 1, d, 0, 0, 0, 0, time.UTC).Format("02") }

// FuzzSeriesName: any name has a series, and offsite's version stamp never
// moves a file out of its series.
func FuzzSeriesName(f *testing.F) {
	for _, s := range []string{"stock.xlsx", "dagsavslut 2026-11-20.bak", "backup_0042.zip", "a/b/20261120T221500Z", "\xff.1", ".2026-11-23T180501Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := SeriesName(name)
		ext := path.Ext(name)
		stem := strings.TrimSuffix(name, ext)
		if strings.Contains(name, "/") || stem == "" || versionStamp.MatchString(name) {
			return // the stamp property holds for the file names the queue stamps
		}
		// As queue.remotePath names a rewritten file's new version.
		stamped := stem + ".2026-11-23T180501Z" + ext
		if s := SeriesName(stamped); s != got {
			t.Errorf("SeriesName(%q) = %q, but SeriesName(%q) = %q", name, got, stamped, s)
		}
	})
}
