package notify

import (
	"errors"
	"net/url"
	"sort"
	"strings"
	"unicode"
)

const hidden = "***"

// Redact returns rawURL with its secrets hidden, for logs, errors and
// `offsite check`: passwords, user parts that are tokens (discord://TOKEN@id),
// token-like host and path segments (Slack, Discord and Telegram webhook
// tokens, healthchecks UUIDs) and query values other than harmless settings
// such as from, to and subject. Hosts, usernames that sit beside a password,
// and plain words in paths stay readable so people can tell channels apart.
func Redact(rawURL string) string {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.Scheme == "" {
		return "<invalid URL>"
	}
	scheme := strings.ToLower(u.Scheme)
	if u.Opaque != "" {
		return scheme + ":" + hidden
	}
	var b strings.Builder
	b.WriteString(scheme + "://")
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			b.WriteString(url.User(u.User.Username()).String() + ":" + hidden)
		} else {
			b.WriteString(hidden)
		}
		b.WriteString("@")
	}
	if hostIsSecret(scheme, u.Hostname()) {
		b.WriteString(hidden)
		if p := u.Port(); p != "" {
			b.WriteString(":" + p)
		}
	} else {
		b.WriteString(u.Host)
	}
	segs := strings.Split(u.EscapedPath(), "/")
	for i, s := range segs {
		plain, err := url.PathUnescape(s)
		if err != nil || tokenLike(plain) {
			segs[i] = hidden
		}
	}
	b.WriteString(strings.Join(segs, "/"))
	if u.ForceQuery || u.RawQuery != "" {
		b.WriteString("?")
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			k, _, hasValue := strings.Cut(p, "=")
			key, _ := url.QueryUnescape(k)
			switch {
			case !hasValue && tokenLike(key):
				parts[i] = hidden
			case hasValue && !safeQueryKeys[strings.ToLower(key)]:
				parts[i] = k + "=" + hidden
			}
		}
		b.WriteString(strings.Join(parts, "&"))
	}
	if u.Fragment != "" {
		b.WriteString("#" + hidden)
	}
	return b.String()
}

// safeQueryKeys are settings, not credentials; everything else is hidden.
// Not "host": Teams puts the whole signed workflow URL there.
var safeQueryKeys = map[string]bool{
	"from": true, "fromaddress": true, "fromname": true, "to": true, "toaddresses": true,
	"subject": true, "title": true, "encryption": true, "usestarttls": true, "starttls": true,
	"requirestarttls": true, "skiptlsverify": true, "auth": true, "usehtml": true,
	"clienthost": true, "timeout": true, "chats": true, "channel": true,
	"priority": true, "tags": true, "color": true, "status": true, "msg": true, "ping": true,
	"parsemode": true, "notification": true, "preview": true, "username": true,
	"disabletls": true, "scheme": true,
}

// hostIsSecret: chat URLs put tokens and webhook IDs where a host would be
// (slack://T00/B00/XXX, discord://token@ID); real host names have dots.
func hostIsSecret(scheme, host string) bool {
	if scheme == "http" || scheme == "https" || scheme == "smtp" {
		return false
	}
	return !strings.Contains(host, ".") && tokenLike(host)
}

// tokenLike guesses whether a URL part is a generated secret rather than a
// word a person chose: long, or mixing digits with letters, or with capitals
// inside it ("Webc4MAvo...", "T0123ABCD", a UUID).
func tokenLike(s string) bool {
	if len(s) >= 16 {
		return true
	}
	var letter, digit, innerUpper, lower bool
	for i, r := range s {
		switch {
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsLetter(r):
			letter = true
			if unicode.IsUpper(r) && i > 0 {
				innerUpper = true
			}
			if unicode.IsLower(r) {
				lower = true
			}
		}
	}
	return len(s) >= 6 && letter && digit || len(s) >= 8 && innerUpper && lower
}

// secretsOf lists the parts of rawURL that Redact hides, so they can be cut
// out of error messages from libraries that quote the URL they called
// (Telegram's "…/bot<token>/sendMessage", net/http's `Post "<url>"`).
func secretsOf(rawURL string) []string {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return []string{rawURL}
	}
	var out []string
	add := func(s string) {
		if len(s) < 4 {
			return
		}
		out = append(out, s, url.PathEscape(s), url.QueryEscape(s))
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		} else {
			add(u.User.Username())
		}
	}
	if hostIsSecret(strings.ToLower(u.Scheme), u.Hostname()) {
		add(u.Hostname())
	}
	for _, s := range strings.Split(u.Path, "/") {
		if tokenLike(s) {
			add(s)
		}
	}
	for k, vs := range u.Query() {
		if !safeQueryKeys[strings.ToLower(k)] {
			for _, v := range vs {
				add(v)
			}
		}
		if tokenLike(k) {
			add(k)
		}
	}
	add(u.Fragment)
	// Longest first, so a token is not half-replaced by a shorter one inside it.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// scrub rewrites err so that no secret of rawURL survives in its text. The
// result keeps only the message: nothing downstream inspects send errors.
func scrub(err error, rawURL string) error {
	if err == nil {
		return nil
	}
	msg := strings.ReplaceAll(err.Error(), strings.TrimSpace(rawURL), Redact(rawURL))
	for _, s := range secretsOf(rawURL) {
		msg = strings.ReplaceAll(msg, s, hidden)
	}
	return errors.New(msg)
}
