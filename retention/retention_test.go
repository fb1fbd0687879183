package retention

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// history is 400 daily uploads at hh:mm UTC, 2024-01-01 (a Monday) to
// 2025-02-03 (a Monday), each named after its UTC date.
func history(hh, mm int) []Item {
	start := time.Date(2024, 1, 1, hh, mm, 0, 0, time.UTC)
	items := make([]Item, 400)
	for i := range items {
		t := start.AddDate(0, 0, i)
		items[i] = Item{Path: "pos/" + t.Format("2006-01-02") + ".bak", Time: t}
	}
	return items
}

func paths(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(it.Path, "pos/"), ".bak"))
	}
	return out
}

func TestSelect400Days(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		hh, mm  int
		policy  Policy
		loc     *time.Location
		protect string
		want    []string // survivors, newest first, by UTC date in the name
	}{
		{
			name: "last only", hh: 3, policy: Policy{Last: 3},
			want: []string{"2025-02-03", "2025-02-02", "2025-02-01"},
		},
		{
			name: "daily only", hh: 3, policy: Policy{Daily: 5},
			want: []string{"2025-02-03", "2025-02-02", "2025-02-01", "2025-01-31", "2025-01-30"},
		},
		{
			// ISO weeks start on Monday: 2025-02-03 opens W06, W05 ends on
			// Sunday 02-02, W04 on 01-26, W03 on 01-19.
			name: "weekly only", hh: 3, policy: Policy{Weekly: 4},
			want: []string{"2025-02-03", "2025-02-02", "2025-01-26", "2025-01-19"},
		},
		{
			name: "gfs", hh: 3, policy: Policy{Last: 3, Daily: 7, Weekly: 4, Monthly: 6},
			want: []string{
				"2025-02-03", "2025-02-02", "2025-02-01", "2025-01-31", "2025-01-30", "2025-01-29", "2025-01-28",
				"2025-01-26", "2025-01-19",
				"2024-12-31", "2024-11-30", "2024-10-31", "2024-09-30",
			},
		},
		{
			name: "protected old copy survives", hh: 3, policy: Policy{Last: 3, Daily: 7, Weekly: 4, Monthly: 6},
			protect: "2024-03-15",
			want: []string{
				"2025-02-03", "2025-02-02", "2025-02-01", "2025-01-31", "2025-01-30", "2025-01-29", "2025-01-28",
				"2025-01-26", "2025-01-19",
				"2024-12-31", "2024-11-30", "2024-10-31", "2024-09-30", "2024-03-15",
			},
		},
		{
			// Fewer months have items than asked for: every month's newest stays.
			name: "monthly beyond history", hh: 3, policy: Policy{Monthly: 24},
			want: []string{
				"2025-02-03", "2025-01-31", "2024-12-31", "2024-11-30", "2024-10-31", "2024-09-30", "2024-08-31",
				"2024-07-31", "2024-06-30", "2024-05-31", "2024-04-30", "2024-03-31", "2024-02-29", "2024-01-31",
			},
		},
		{
			// 23:30 UTC is already the next day in Berlin (UTC+1 in winter,
			// +2 in summer), so the newest copy of a Berlin month is the
			// one named after the second-to-last UTC day of that month.
			name: "days counted in the shop's zone", hh: 23, mm: 30, loc: berlin, policy: Policy{Daily: 2, Monthly: 4},
			want: []string{"2025-02-03", "2025-02-02", "2025-01-30", "2024-12-30", "2024-11-29"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items := history(c.hh, c.mm)
			for i := range items {
				items[i].Protected = strings.Contains(items[i].Path, c.protect) && c.protect != ""
			}
			// Shuffle deterministically: Select must not rely on input order.
			slices.Reverse(items[100:300])
			keep, drop, why := Select(items, c.policy, c.loc)
			if got := paths(keep); !slices.Equal(got, c.want) {
				t.Errorf("kept\n got %v\nwant %v", got, c.want)
			}
			if len(keep)+len(drop) != len(items) {
				t.Errorf("kept %d + dropped %d != %d items", len(keep), len(drop), len(items))
			}
			for _, d := range drop {
				if d.Protected {
					t.Errorf("dropped protected %s", d.Path)
				}
				if !strings.HasPrefix(why[d.Path], "dropped: ") {
					t.Errorf("why[%s] = %q", d.Path, why[d.Path])
				}
			}
			for _, k := range keep {
				if !strings.HasPrefix(why[k.Path], "kept: ") {
					t.Errorf("why[%s] = %q", k.Path, why[k.Path])
				}
			}
		})
	}
}

func TestSelectReasons(t *testing.T) {
	items := history(3, 0)
	items[0].Protected = true
	_, _, why := Select(items, Policy{Last: 1, Daily: 2, Weekly: 1, Monthly: 2}, time.UTC)
	for path, want := range map[string]string{
		"pos/2025-02-03.bak": "kept: last 1, daily 2025-02-03, weekly 2025-W06, monthly 2025-02",
		"pos/2025-02-02.bak": "kept: daily 2025-02-02",
		"pos/2025-01-31.bak": "kept: monthly 2025-01",
		"pos/2024-01-01.bak": "kept: newest verified copy",
		"pos/2025-01-30.bak": "dropped: not among the copies kept by last 1, daily 2, weekly 1, monthly 2",
	} {
		if got := why[path]; got != want {
			t.Errorf("why[%s] = %q, want %q", path, got, want)
		}
	}
}

func TestZeroPolicyKeepsAll(t *testing.T) {
	items := history(3, 0)
	keep, drop, why := Select(items, Policy{}, nil)
	if len(keep) != len(items) || len(drop) != 0 {
		t.Fatalf("kept %d dropped %d of %d", len(keep), len(drop), len(items))
	}
	if got := why[items[5].Path]; got != "kept: no retention policy" {
		t.Errorf("why = %q", got)
	}
}

func TestSelectSameDayKeepsNewest(t *testing.T) {
	day := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	var items []Item
	for h := range 4 {
		items = append(items, Item{Path: fmt.Sprintf("f%d", h), Time: day.Add(time.Duration(h) * 5 * time.Hour)})
	}
	keep, _, _ := Select(items, Policy{Daily: 1}, time.UTC)
	if len(keep) != 1 || keep[0].Path != "f3" {
		t.Fatalf("kept %v, want only f3 (the newest of the day)", keep)
	}
}
