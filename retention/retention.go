// Package retention decides which remote copies a grandfather-father-son
// policy keeps. It is pure: callers list what they own, Plan groups the
// copies into series (see SeriesName) and says per series what may go and
// why, and the caller deletes.
package retention

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Policy mirrors config.Keep: the newest Last items, plus the newest item of
// each of the Daily most recent days, Weekly ISO weeks and Monthly months
// that have items. The zero Policy keeps everything.
type Policy struct {
	Last, Daily, Weekly, Monthly int
}

// IsZero reports whether p keeps everything.
func (p Policy) IsZero() bool { return p == Policy{} }

// Item is one stored copy.
type Item struct {
	Path string // where the copy is stored; what the caller deletes
	// Name is the backup file's name that decides its series (the path in
	// its watch); empty: Path.
	Name string
	Time time.Time // the version's time, which places it in a day, week and month
	// Protected items are never dropped (the newest verified copy).
	Protected bool
}

// Series is one series of copies and what a policy does with them.
type Series struct {
	Name       string // SeriesName of its items' names
	Keep, Drop []Item // newest first
}

// Plan groups items into series and applies p within each series, so the
// copies of one backup never count against another's. A series of one copy
// is always kept whole. Series come ordered by name; why is keyed by Path.
func Plan(items []Item, p Policy, loc *time.Location) (series []Series, why map[string]string) {
	groups := map[string][]Item{}
	for _, it := range items {
		name := it.Name
		if name == "" {
			name = it.Path
		}
		k := SeriesName(name)
		groups[k] = append(groups[k], it)
	}
	why = make(map[string]string, len(items))
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		g := groups[k]
		keep, drop, w := Select(g, p, loc)
		if len(g) == 1 && !p.IsZero() {
			reason := "kept: only copy of its series"
			if g[0].Protected {
				reason += ", newest verified copy"
			}
			w[g[0].Path] = reason
		}
		maps.Copy(why, w)
		series = append(series, Series{Name: k, Keep: keep, Drop: drop})
	}
	return series, why
}

// Select splits items, taken as one series, into those p keeps and those it drops, both newest
// first, with the reason for every item keyed by Path. Days, weeks and
// months are counted in loc (nil: UTC), so "daily" means the shop's days.
func Select(items []Item, p Policy, loc *time.Location) (keep, drop []Item, why map[string]string) {
	if loc == nil {
		loc = time.UTC
	}
	sorted := slices.Clone(items)
	// Newest first; ties broken by path so the outcome never depends on
	// the order the caller listed them in.
	slices.SortStableFunc(sorted, func(a, b Item) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Path, b.Path)
	})
	reasons := make([][]string, len(sorted))
	if p.IsZero() {
		for i := range sorted {
			reasons[i] = []string{"no retention policy"}
		}
	}
	for i := range sorted {
		if sorted[i].Protected {
			reasons[i] = append(reasons[i], "newest verified copy")
		}
		if i < p.Last {
			reasons[i] = append(reasons[i], fmt.Sprintf("last %d", p.Last))
		}
	}
	rules := []struct {
		name string
		n    int
		key  func(time.Time) string
	}{
		{"daily", p.Daily, func(t time.Time) string { return t.Format("2006-01-02") }},
		{"weekly", p.Weekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) }},
		{"monthly", p.Monthly, func(t time.Time) string { return t.Format("2006-01") }},
	}
	for _, r := range rules {
		seen := 0
		last := ""
		for i := range sorted {
			if seen >= r.n {
				break
			}
			k := r.key(sorted[i].Time.In(loc))
			if k == last {
				continue // an older item of a period already kept
			}
			last = k
			seen++
			reasons[i] = append(reasons[i], r.name+" "+k)
		}
	}
	why = make(map[string]string, len(sorted))
	for i, it := range sorted {
		if len(reasons[i]) > 0 {
			keep = append(keep, it)
			why[it.Path] = "kept: " + strings.Join(reasons[i], ", ")
			continue
		}
		drop = append(drop, it)
		why[it.Path] = "dropped: " + dropReason(p)
	}
	return keep, drop, why
}

// dropReason names the policy an item fell outside of.
func dropReason(p Policy) string {
	var parts []string
	for _, f := range []struct {
		name string
		n    int
	}{{"last", p.Last}, {"daily", p.Daily}, {"weekly", p.Weekly}, {"monthly", p.Monthly}} {
		if f.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", f.name, f.n))
		}
	}
	return "not among the copies kept by " + strings.Join(parts, ", ")
}
