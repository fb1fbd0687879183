package retention

import (
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A series is one backup's copies over time: the versions of one file name,
// and the files whose names differ only by a date or counter stamp. Keep
// rules count copies within a series, so a newer day-end file never pushes
// out the only copy of a workbook beside it.
//
// SeriesName reads the series from a slash-separated name. The rule, in
// order (docs/config.md, "Retention", shows examples):
//
//  1. The folder is part of the series: files in different folders are
//     different series, even when the folders' names are dates.
//  2. offsite's own version stamp (data.2026-11-23T180501Z.xlsx, with an
//     optional "-2" after it) is removed: every version of data.xlsx is in
//     series data.xlsx.
//  3. The last extension is kept as it is (".bak", ".001" of a split
//     archive: parts are never one another's versions), unless it is the
//     year of a date that ends the name.
//  4. A calendar date, with the time of day when one follows it, is a stamp
//     wherever it stands (2026-11-20, 2026_11_20, 20.11.2026, 20261120,
//     20261120 2215, 2026-11-20_22-15, 20261120T221500Z, backup20261120).
//     It shows as <date>.
//  5. Only when the name holds no date: a number of two or more digits that
//     stands apart (at the start or end of the name or between separators
//     such as space, _ - . # ( ) is a counter and shows as <n>
//     (backup_0042.zip, pos-17.bak). A number glued to letters is part of
//     the name (pos2000.bak and pos2001.bak are two series), and so is a
//     single digit (kassa 1.bak, kassa 2.bak: two tills, not two versions),
//     and so are the other numbers of a dated name (kassa 02 2026-11-20.bak).
//
// When in doubt the rule splits rather than joins: a file wrongly given a
// series of its own is only kept longer, a file wrongly joined to another
// series could lose its only copy.
func SeriesName(name string) string {
	dir, file := path.Split(name)
	file = stripVersionStamp(file)
	ext := path.Ext(file)
	stem := strings.TrimSuffix(file, ext)
	if stem == "" { // a dot-file such as ".bak"
		stem, ext = file, ""
	}
	if endsInDate(file) { // "dagsavslut 20.11.2026": the year is no extension
		stem, ext = file, ""
	}
	return dir + stampStem(stem) + ext
}

// versionStamp is what queue.remotePath puts before the extension of a
// rewritten file's new version.
var versionStamp = regexp.MustCompile(`\.\d{4}-\d{2}-\d{2}T\d{6}Z(?:-\d+)?`)

// stripVersionStamp removes offsite's version stamp from a file name where
// an extension or the end of the name follows it.
func stripVersionStamp(file string) string {
	locs := versionStamp.FindAllStringIndex(file, -1)
	for i := len(locs) - 1; i >= 0; i-- {
		s, e := locs[i][0], locs[i][1]
		if e == len(file) || file[e] == '.' {
			if s == 0 {
				continue // nothing before it: it is the name, not a stamp
			}
			return file[:s] + file[e:]
		}
	}
	return file
}

// endsInDate reports whether file ends in a date stamp whose last part
// path.Ext would take for an extension.
func endsInDate(file string) bool {
	ext := path.Ext(file)
	if len(ext) < 2 || strings.Trim(ext[1:], "0123456789") != "" {
		return false
	}
	toks := tokenize(file)
	for i := range toks {
		if n := dateAt(toks, i); n > 0 && i+n == len(toks) {
			return true
		}
	}
	return false
}

// token kinds of a stem.
const (
	tDigits = iota
	tLetters
	tSep
)

type token struct {
	kind int
	s    string
}

func tokenize(s string) []token {
	var out []token
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		k := kindOf(r)
		j := i + n
		for j < len(s) {
			r2, n2 := utf8.DecodeRuneInString(s[j:])
			if kindOf(r2) != k || k == tSep {
				break // separators stay one character each
			}
			j += n2
		}
		out = append(out, token{k, s[i:j]})
		i = j
	}
	return out
}

func kindOf(r rune) int {
	switch {
	case r >= '0' && r <= '9':
		return tDigits
	case unicode.IsLetter(r):
		return tLetters
	}
	return tSep
}

// stampStem replaces the date stamps of stem, or, when it has none, its
// counters.
func stampStem(stem string) string {
	toks := tokenize(stem)
	var b strings.Builder
	dated := false
	for i := 0; i < len(toks); {
		if n := dateAt(toks, i); n > 0 {
			b.WriteString("<date>")
			dated = true
			i += n
			continue
		}
		b.WriteString(toks[i].s)
		i++
	}
	if dated {
		return b.String()
	}
	b.Reset()
	for i, t := range toks {
		if t.kind == tDigits && len(t.s) >= 2 && apart(toks, i) {
			b.WriteString("<n>")
			continue
		}
		b.WriteString(t.s)
	}
	return b.String()
}

// apart reports whether token i has no letter directly before or after it.
func apart(toks []token, i int) bool {
	return (i == 0 || toks[i-1].kind == tSep) && (i == len(toks)-1 || toks[i+1].kind == tSep)
}

// dateAt returns how many tokens from i form a date (and time) stamp, or 0.
func dateAt(toks []token, i int) int {
	if toks[i].kind != tDigits {
		return 0
	}
	n := 0
	d := toks[i].s
	switch {
	case len(d) == 8 && ymd(d[:4], d[4:6], d[6:]):
		n = 1
	case (len(d) == 12 || len(d) == 14) && ymd(d[:4], d[4:6], d[6:8]) && hms(d[8:]):
		return 1 // date and time in one run
	case i+4 < len(toks) && toks[i+1].kind == tSep && toks[i+2].kind == tDigits &&
		toks[i+3].s == toks[i+1].s && toks[i+4].kind == tDigits && strings.ContainsAny(toks[i+1].s, "-_."):
		a, m, c := d, toks[i+2].s, toks[i+4].s
		if ymd(a, m, c) || ymd(c, m, a) || ymd(c, a, m) { // y-m-d, d-m-y, m-d-y
			n = 5
		}
	}
	if n == 0 {
		return 0
	}
	return n + timeAfter(toks, i+n)
}

// timeAfter returns how many tokens from i form a time of day that follows
// a date: a separator (or T) and hhmm, hhmmss, hh-mm, hh.mm.ss, with an
// optional Z.
func timeAfter(toks []token, i int) int {
	if i+1 >= len(toks) {
		return 0
	}
	if s := toks[i].s; !(toks[i].kind == tSep && strings.ContainsAny(s, " _-.") || s == "T") {
		return 0
	}
	j := i + 1
	if toks[j].kind != tDigits {
		return 0
	}
	t := toks[j].s
	j++
	if len(t) == 2 { // hh-mm or hh.mm.ss
		for k := 0; k < 2 && j+1 < len(toks) && toks[j].kind == tSep && strings.ContainsAny(toks[j].s, "-._") &&
			toks[j+1].kind == tDigits && len(toks[j+1].s) == 2; k++ {
			t += toks[j+1].s
			j += 2
		}
	}
	if (len(t) != 4 && len(t) != 6) || !hms(t) {
		return 0
	}
	if j < len(toks) && toks[j].s == "Z" {
		j++
	}
	return j - i
}

// ymd reports whether y, m and d are a calendar date of a plausible year.
func ymd(y, m, d string) bool {
	if len(y) != 4 || len(m) < 1 || len(m) > 2 || len(d) < 1 || len(d) > 2 {
		return false
	}
	yy, _ := strconv.Atoi(y)
	mm, _ := strconv.Atoi(m)
	dd, _ := strconv.Atoi(d)
	if yy < 1970 || yy > 2199 || mm < 1 || mm > 12 || dd < 1 {
		return false
	}
	days := [...]int{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	if mm == 2 && !(yy%4 == 0 && (yy%100 != 0 || yy%400 == 0)) {
		return dd <= 28
	}
	return dd <= days[mm-1]
}

// hms reports whether t (hhmm or hhmmss) is a time of day.
func hms(t string) bool {
	for len(t) < 6 {
		t += "00"
	}
	h, _ := strconv.Atoi(t[:2])
	m, _ := strconv.Atoi(t[2:4])
	s, _ := strconv.Atoi(t[4:6])
	return h < 24 && m < 60 && s < 61
}
