package setup

import (
	"fmt"
	"strings"
)

// Plan is what the wizard learned: everything the config it writes says.
type Plan struct {
	StateDir     string
	Watches      []Watch
	Destinations []Destination
	Notify       []string // notification URLs, as written in the config
}

// Watch is one backup folder.
type Watch struct {
	Name        string
	Path        string
	ExpectEvery string // Go duration; "" = no missed-backup alert
}

// Destination is one place copies go.
type Destination struct {
	Name         string
	Type         string // local | gdrive | dropbox | onedrive
	Path         string // local
	Folder       string // cloud
	ClientID     string // cloud; as written in the config ($ escaped, or a ${VAR})
	ClientSecret string // cloud, optional for dropbox and onedrive; as ClientID
}

// Render writes p as a config file whose comments explain every key, like
// config.example.yaml, so a technician can edit it later without the docs.
func Render(p Plan) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	// c writes a line with its comment in the column config.example.yaml uses.
	c := func(line, comment string) { w("%-35s # %s", line, comment) }
	w("# offsite config, written by `offsite init`.")
	w("# Every key is explained in config.example.yaml (`offsite init --example -c FILE`")
	w("# writes it) and docs/config.md. Run `offsite check` after every change.")
	w("# This file may hold passwords: offsite wrote it readable by its owner only.")
	w("")
	w("# Queue database, logins (tokens) and offsite.log live here.")
	w("state_dir: %s", quote(dollars(p.StateDir)))
	w("")
	w("# Backup folders to watch. A file is copied once it has not changed for")
	w("# `settle`; lock and temp files (~$*, *.tmp, dot-files) never are.")
	w("watches:")
	for _, wt := range p.Watches {
		c("  - name: "+wt.Name, "the folder name at the destinations")
		w("    path: %s", quote(dollars(wt.Path)))
		c("    settle: 5s", "unchanged this long = completely written")
		if NetworkPath(wt.Path) {
			c("    poll: 1m", "a network share sends no change events: look every minute")
		}
		if wt.ExpectEvery != "" {
			c("    expect_every: "+wt.ExpectEvery, "alert when no new backup arrives within this time")
		} else {
			c("    # expect_every: 26h", "alert when no new backup arrives within this time")
		}
		c("    destinations: ["+strings.Join(destNames(p.Destinations), ", ")+"]", "where its copies go: names from the list below")
	}
	w("")
	w("# Where copies go. Each file lands at <folder>/<watch name>/<file>; a file")
	w("# rewritten with new content is kept beside the old one, never over it.")
	w("destinations:")
	for _, d := range p.Destinations {
		w("  - name: %s", d.Name)
		switch d.Type {
		case "local":
			c("    type: local", "a folder: USB disk or network share")
			w("    path: %s", quote(dollars(d.Path)))
		default:
			c("    type: "+d.Type, "log in with: offsite auth "+d.Name)
			c("    folder: "+quote(d.Folder), "created when missing")
			if d.ClientID != "" {
				c("    client_id: "+quote(d.ClientID), "the shop's own OAuth app (docs/providers.md)")
			}
			if d.ClientSecret != "" {
				w("    client_secret: %s", quote(d.ClientSecret))
			}
		}
	}
	w("")
	w("# Where alerts go: failures, missed backups, recoveries. Test with")
	w("# `offsite notify test`.")
	if len(p.Notify) == 0 {
		w("# notify:")
		w("#   - url: smtp://user:${SMTP_PASSWORD}@mail.example.com:587/?from=shop@example.com&to=owner@example.com")
	} else {
		w("notify:")
		for _, u := range p.Notify {
			w("  - url: %s", quote(u))
		}
	}
	return b.String()
}

func destNames(ds []Destination) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return out
}

// NetworkPath reports whether path names a network share directly
// (\\server\share or //server/share), where no change events arrive.
func NetworkPath(path string) bool {
	return strings.HasPrefix(path, `\\`) || strings.HasPrefix(path, "//")
}

// quote writes s as a single-quoted YAML scalar: Windows paths keep their
// backslashes and colons, and nothing in s can end the value.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
