package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/adhocore/gronx"

	// Windows has no zoneinfo database; embed Go's so every timezone key
	// validates, and works, on every OS.
	_ "time/tzdata"
)

// Bounds that catch typos without getting in a real setup's way.
const (
	maxWorkers = 64
	minSettle  = Duration(100 * time.Millisecond)
	minRescan  = Duration(10 * time.Second)
	minPoll    = Duration(time.Second)
)

func (c *Config) validate(p *problems, folders bool) {
	c.validateTop(p)
	c.validateWatches(p)
	if folders {
		c.validateFolders(p)
	}
	c.validateDestinations(p)
	c.validateSchedules(p)
	c.validateUse(p)
	c.validateNotify(p)
	c.validateSecure(p)
}

func (c *Config) validateTop(p *problems) {
	oneOf(p, "log_level", c.LogLevel, []string{"debug", "info", "warn", "error"})
	oneOf(p, "report", c.Report, []string{ReportRun, ReportDaily, ReportOff})
	if c.HTTP != "" {
		checkListen(p, "http", c.HTTP)
	}
	if c.Workers < 1 || c.Workers > maxWorkers {
		p.add("workers", fmt.Sprintf("use 1 to %d; %d is the default", maxWorkers, DefaultWorkers), "is %d", c.Workers)
	}
	if checkPathChars(p, "state_dir", c.StateDir) {
		if fi, err := os.Stat(c.StateDir); err == nil && !fi.IsDir() {
			p.add("state_dir", "point it at a folder; offsite creates it when missing", "is %s, which is a file", c.StateDir)
		}
		for _, w := range c.Watches {
			// The watcher skips the state folder (its queue, log and spool
			// change all the time); one that is the watched folder itself
			// would make it skip every backup there.
			if w.Path != "" && inside(c.StateDir, w.Path) && inside(w.Path, c.StateDir) {
				p.add("state_dir", "give offsite a folder of its own; leave state_dir out for the default, "+DefaultStateDir(),
					"is watch %q's folder %s itself, so offsite would skip every backup there as its own files", w.Name, w.Path)
				break
			}
		}
	}
	r := c.Retry
	if r.Initial <= 0 {
		p.add("retry.initial", "use a duration such as 2s", "must be more than 0")
	}
	if r.Max < r.Initial {
		p.add("retry.max", "make it at least retry.initial ("+r.Initial.String()+")", "is %s, shorter than retry.initial", r.Max)
	}
	if r.AlertAfter < 1 {
		p.add("retry.alert_after", "use 1 to notify on the first failure", "is %d; it must be 1 or more", r.AlertAfter)
	}
	for i, u := range c.Healthcheck {
		checkURL(p, index("healthcheck", i), u, true)
	}
	if d := c.Drill.Every; d != 0 && d < Duration(time.Hour) {
		p.add("drill.every", "use 0 to turn test restores off, or at least 1h; 720h (30 days) is the default",
			"is %s: each drill downloads backups, too much to repeat that often", d)
	}
	if c.Drill.Sample < 0 || c.Drill.Sample > 100 {
		p.add("drill.sample", "use 0 to 100; 2 is the default", "is %d", c.Drill.Sample)
	}
}

func (c *Config) validateWatches(p *problems) {
	if len(c.Watches) == 0 {
		// An empty file would otherwise pass, and `run` would watch nothing.
		p.add("watches", "add a watch naming the folder your program writes its backups to (see config.example.yaml), or run `offsite init`",
			"is empty: there is nothing to back up")
	}
	names := map[string]string{}
	for i := range c.Watches {
		w := &c.Watches[i]
		at := index("watches", i)
		checkName(p, at, "watch", w.Name, names)
		checkPatterns(p, at+".include", w.Include)
		checkPatterns(p, at+".exclude", w.Exclude)
		checkPathChars(p, at+".path", w.Path)
		if w.Path == "" {
			p.add(at+".path", "add path: /the/backup/folder", "is missing")
		}
		if w.Settle < minSettle {
			p.add(at+".settle", "use at least 100ms (a few seconds for network shares); 5s is the default", "is %s, too short to tell a finished file from one being written", w.Settle)
		}
		if w.Rescan < minRescan {
			p.add(at+".rescan", "use at least 10s; 10m is the default", "is %s", w.Rescan)
		}
		if w.Poll != 0 && w.Poll < minPoll {
			p.add(at+".poll", "use 0 for filesystem events, or at least 1s", "is %s", w.Poll)
		}
		if w.ExpectEvery != 0 && w.ExpectEvery < w.Settle {
			p.add(at+".expect_every", "make it longer than the time between two backups, such as 26h for a daily backup",
				"is %s, shorter than settle (%s)", w.ExpectEvery, w.Settle)
		}
		if w.ExpectCron != "" {
			if w.ExpectEvery != 0 {
				p.add(at+".expect_cron", "keep either expect_every or expect_cron", "is set together with expect_every")
			}
			checkCron(p, at+".expect_cron", w.ExpectCron)
		}
		checkZone(p, at+".timezone", w.Timezone)
		if w.MinSizeRatio < 0 || w.MinSizeRatio >= 1 {
			p.add(at+".min_size_ratio", "use a fraction such as 0.2, or 0 to turn the check off", "is %g", w.MinSizeRatio)
		}
		if len(w.Destinations) == 0 {
			p.add(at+".destinations", "add destinations: [NAME], naming entries under destinations", "is empty, so watch %q uploads nowhere", w.Name)
		}
		c.checkRefs(p, at+".destinations", w.Destinations)
	}
}

// validateFolders checks that each watched folder is there and readable.
// Only the commands that watch (run, once, check) need that; the read-only
// ones must still work when a disk died (see LoadReadOnly).
func (c *Config) validateFolders(p *problems) {
	for i := range c.Watches {
		w := &c.Watches[i]
		at := index("watches", i)
		switch fi, err := os.Stat(w.Path); {
		case w.Path == "":
		case errors.Is(err, fs.ErrNotExist):
			p.add(at+".path", "create the folder or correct the path; a drive or share that is not mounted yet shows up here too",
				"is %s, which does not exist", w.Path)
		case err != nil:
			p.add(at+".path", "check that the service's account may read it", "is %s, which cannot be read: %v", w.Path, unwrapPath(err))
		case !fi.IsDir():
			p.add(at+".path", "point it at the folder the backups are written to", "is %s, which is a file, not a folder", w.Path)
		}
	}
}

// checkRefs checks a list of destination names.
func (c *Config) checkRefs(p *problems, at string, refs []string) {
	var defined []string
	for _, d := range c.Destinations {
		defined = append(defined, d.Name)
	}
	seen := map[string]bool{}
	for j, ref := range refs {
		rp := index(at, j)
		switch {
		case seen[ref]:
			p.add(rp, "list each destination once", "names %q twice", ref)
		case c.Destination(ref) == nil:
			hint := "define it under destinations"
			if s := closest(ref, defined); s != "" {
				hint = "did you mean " + s + "?"
			}
			p.add(rp, hint, "is %q, which is not a defined destination", ref)
		}
		seen[ref] = true
	}
}

// validateUse flags a destination nothing sends files to: almost always a
// name typed differently in the two places.
func (c *Config) validateUse(p *problems) {
	used := map[string]bool{}
	for _, w := range c.Watches {
		for _, d := range w.Destinations {
			used[d] = true
		}
	}
	for _, s := range c.Schedules {
		for _, d := range s.Destinations {
			used[d] = true
		}
	}
	for i, d := range c.Destinations {
		if d.Name != "" && !used[d.Name] {
			p.add(index("destinations", i)+".name", "add it to a watch's or schedule's destinations, or remove it",
				"is %q, which no watch or schedule uses", d.Name)
		}
	}
}

func (c *Config) validateSchedules(p *problems) {
	names := map[string]string{}
	var watches []string
	for _, w := range c.Watches {
		watches = append(watches, w.Name)
	}
	for i := range c.Schedules {
		s := &c.Schedules[i]
		at := index("schedules", i)
		checkName(p, at, "schedule", s.Name, names)
		if s.Cron == "" {
			p.add(at+".cron", `add cron: "0 3 * * SUN" (minute hour day month weekday)`, "is missing")
		} else {
			checkCron(p, at+".cron", s.Cron)
		}
		checkZone(p, at+".timezone", s.Timezone)
		switch {
		case s.CopyLatest == "":
			p.add(at+".copy_latest", "name the watch whose newest file this schedule copies", "is missing")
		case c.Watch(s.CopyLatest) == nil:
			hint := "name one of the watches"
			if m := closest(s.CopyLatest, watches); m != "" {
				hint = "did you mean " + m + "?"
			}
			p.add(at+".copy_latest", hint, "is %q, which is not a defined watch", s.CopyLatest)
		}
		if len(s.Destinations) == 0 {
			p.add(at+".destinations", "add destinations: [NAME]", "is empty, so schedule %q copies nowhere", s.Name)
		}
		c.checkRefs(p, at+".destinations", s.Destinations)
		checkFolder(p, at+".folder", s.Folder)
		checkKeep(p, at+".keep", s.Keep)
	}
}

func oneOf(p *problems, at, v string, allowed []string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	hint := "use " + strings.Join(allowed, ", ")
	if s := closest(v, allowed); s != "" {
		hint = "did you mean " + s + "? " + hint
	}
	p.add(at, hint, "is %q", v)
}

// checkName checks a watch, destination or schedule name and that it is
// unique; names appear in remote paths, token file names and commands.
func checkName(p *problems, at, what, name string, seen map[string]string) {
	np := at + ".name"
	if name == "" {
		p.add(np, "give every "+what+" a name", "is missing")
		return
	}
	if !validName(name) {
		p.add(np, "use letters, digits, -, _ and ., such as shop-pos", "is %q, which is not a usable name", name)
	}
	if first, dup := seen[name]; dup {
		p.add(np, "give each "+what+" its own name", "is %q, which %s on line %d also uses", name, first, p.line(first+".name"))
		return
	}
	seen[name] = at
}

func validName(s string) bool {
	if len(s) > 64 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return false
		}
	}
	return true
}

func checkPatterns(p *problems, at string, pats []string) {
	for i, pat := range pats {
		if _, err := filepath.Match(pat, ""); err != nil || pat == "" {
			p.add(index(at, i), "use * ? and [abc] in a file-name pattern, such as *.bak", "is %q, which is not a valid pattern", pat)
		}
	}
}

func checkCron(p *problems, at, expr string) {
	if !gronx.IsValid(expr) {
		p.add(at, `write minute hour day month weekday, such as "30 0 * * MON-SAT", or a tag such as @daily`,
			"is %q, which is not a valid cron expression", expr)
	}
}

func checkZone(p *problems, at, name string) {
	if name == "" || name == "Local" {
		return
	}
	if _, err := time.LoadLocation(name); err != nil {
		p.add(at, "use an IANA name such as Europe/Berlin or America/New_York, or leave it out for the computer's zone",
			"is %q, which is not a known time zone", name)
	}
}

func checkKeep(p *problems, at string, k Keep) {
	for _, f := range []struct {
		key string
		v   int
	}{{"last", k.Last}, {"daily", k.Daily}, {"weekly", k.Weekly}, {"monthly", k.Monthly}} {
		if f.v < 0 {
			p.add(at+"."+f.key, "use 0 or more; leave keep out to keep every file", "is %d", f.v)
		}
	}
}

func checkFolder(p *problems, at, folder string) {
	for _, seg := range strings.Split(strings.ReplaceAll(folder, `\`, "/"), "/") {
		if seg == ".." || seg == "." {
			p.add(at, "write a folder path under the account root, such as Backups/Shop1", "contains %q", seg)
			return
		}
	}
}

// checkListen accepts only loopback addresses: /metrics and /healthz have
// no authentication.
func checkListen(p *problems, at, addr string) {
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 1 || n > 65535 {
		p.add(at, "write HOST:PORT, such as 127.0.0.1:8742", "is %q, which is not HOST:PORT", addr)
		return
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		p.add(at, "use 127.0.0.1:"+port+"; it has no login, so it must not be reachable from the network",
			"listens on %q, which is not a loopback address", host)
	}
}

// checkURL checks a URL. It prints at most the scheme and host: a URL can
// hold a password or a token anywhere (user, path, query), and one without
// a scheme may be a token pasted on its own.
func checkURL(p *problems, at, raw string, httpOnly bool) *url.URL {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		p.add(at, "write the full URL", "is empty")
	case err != nil:
		p.add(at, "check it for spaces and characters that need %-escaping, such as @ or / in a password", "does not parse as a URL")
	case u.Scheme == "":
		p.add(at, "write the full URL, such as https://host/path", "has no scheme (such as https://)")
	case httpOnly && u.Scheme != "http" && u.Scheme != "https":
		p.add(at, "use an http:// or https:// URL", "is a %s:// URL", u.Scheme)
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host == "":
		p.add(at, "write the full URL, such as https://host/path", "has no host")
	default:
		return u
	}
	return nil
}

// inside reports whether path is dir or somewhere below it.
func inside(path, dir string) bool {
	path, dir = realPath(path), realPath(dir)
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		// Both usually have case-insensitive file systems.
		path, dir = strings.ToLower(path), strings.ToLower(dir)
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// realPath resolves symlinks of the longest existing prefix of p, so a
// destination that does not exist yet still compares correctly.
func realPath(p string) string {
	p = filepath.Clean(p)
	var rest []string
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(append([]string{p}, rest...)...)
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
