package config

import (
	"net"
	"net/url"
	"os"
	"strings"
	"unicode"
)

// validateSecure refuses settings that would let another user of the PC
// or the network take over offsite: a state folder others may write to, a
// login sent in clear text, a token_file that is a folder.
func (c *Config) validateSecure(p *problems) {
	if fi, err := os.Stat(c.StateDir); err == nil && fi.IsDir() {
		if who := writableByOthers(fi); who != "" {
			p.add("state_dir", "run: chmod go-w "+shellQuote(c.StateDir)+" (offsite creates it as 0700)",
				"is %s, which %s may change: they could replace the queue or the saved logins", c.StateDir, who)
		}
	}
	for i := range c.Destinations {
		d := &c.Destinations[i]
		at := index("destinations", i)
		if d.Type != TypeGDrive && d.Type != TypeDropbox && d.Type != TypeOneDrive {
			continue
		}
		if d.Endpoint != "" {
			if u, err := url.Parse(d.Endpoint); err == nil && cleartextToNetwork(u) {
				p.add(at+".endpoint", "use https://, or http://127.0.0.1:PORT for an emulator on this computer",
					"is http://%s, another computer: the login tokens would cross the network unencrypted", u.Host)
			}
		}
		tok := d.TokenPath(c.StateDir)
		if fi, err := os.Stat(tok); err == nil && fi.IsDir() {
			p.add(at+".token_file", "set token_file to a file name such as "+d.Name+"-token.json, or remove the folder",
				"is %s, which is a folder; the login is saved in a file", tok)
		}
	}
	for i, n := range c.Notify {
		checkCleartextSecret(p, index("notify", i)+".url", n.URL)
	}
	for i, u := range c.Healthcheck {
		checkCleartextSecret(p, index("healthcheck", i), u)
	}
}

// checkCleartextSecret refuses an http:// URL to another computer that
// carries a credential: a login, a query, or a generated token in its path
// (webhook and ping URLs are their own password).
func checkCleartextSecret(p *problems, at, raw string) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !cleartextToNetwork(u) || !carriesSecret(u) {
		return
	}
	p.add(at, "use https://; plain http:// is only allowed to this computer (127.0.0.1 or localhost)",
		"is an http:// URL to %s with a login or token in it, which would cross the network unencrypted", u.Hostname())
}

// cleartextToNetwork reports whether u is plain http to a host other than
// this computer. Only names that cannot resolve elsewhere count as local.
func cleartextToNetwork(u *url.URL) bool {
	if !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

func carriesSecret(u *url.URL) bool {
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return true
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if generated(seg) {
			return true
		}
	}
	return false
}

// generated guesses whether a path segment is a token rather than a word a
// person chose: long, or mixing letters and digits.
func generated(s string) bool {
	if len(s) >= 16 {
		return true
	}
	var letter, digit bool
	for _, r := range s {
		letter = letter || unicode.IsLetter(r)
		digit = digit || unicode.IsDigit(r)
	}
	return len(s) >= 6 && letter && digit
}

// shellQuote quotes a path for a POSIX shell command in a hint.
func shellQuote(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("/._-+", r))
	}) {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}

// checkConfigFile refuses a config file other users may change: whoever
// edits it decides where the backups go and which URLs get the logins.
func checkConfigFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil // reading it already failed or will say why
	}
	if who := writableByOthers(fi); who != "" {
		return &Error{File: path, Msg: "may be changed by " + who + ", who could send the backups and logins elsewhere",
			Hint: "run: chmod go-w " + shellQuote(path)}
	}
	return nil
}
