package onedrive

import (
	"strings"
	"unicode/utf8"

	"github.com/offsite-backup/offsite/providers"
)

// Names OneDrive refuses are stored under a reversible encoding, so any
// local name round-trips:
//
//   - the characters " * : < > ? \ | become their full-width look-alikes
//     ＂ ＊ ： ＜ ＞ ？ ＼ ｜ (as rclone does);
//   - a leading or trailing space becomes ␠ (U+2420), a trailing dot ．
//     (U+FF0E), a leading tilde ～ (U+FF5E; this also covers "~$" names),
//     and the underscore opening "_vti_" ＿ (U+FF3F);
//   - a reserved name (CON, PRN, AUX, NUL, COM0-9, LPT0-9, also before an
//     extension, .lock, desktop.ini) gets the quote ‛ (U+201B) in front;
//   - a look-alike or ‛ that is in the original name is itself preceded by
//     ‛, so decoding knows it was literal;
//   - a byte that is not part of valid UTF-8 is ‛x and its two hex digits
//     (‛xE4), the escape every adapter uses (providers.EscapeName).
//
// Decoding reads ‛xHH as that byte, any other ‛c as c, and every
// look-alike as its ASCII original.
const quote = providers.NameQuote

var toLookalike = map[rune]rune{
	'"': '＂', '*': '＊', ':': '：', '<': '＜', '>': '＞', '?': '？', '\\': '＼', '|': '｜',
	' ': '␠', '.': '．', '~': '～', '_': '＿',
}

var fromLookalike = func() map[rune]rune {
	m := make(map[rune]rune, len(toLookalike))
	for k, v := range toLookalike {
		m[v] = k
	}
	return m
}()

// alwaysReplaced are the characters replaced wherever they stand.
const alwaysReplaced = `"*:<>?\|`

// encodeName maps one path segment onto a name OneDrive accepts.
func encodeName(name string) string {
	vti := vtiStarts(name)
	var b strings.Builder
	if reservedName(name) {
		b.WriteRune(quote)
	}
	for off := 0; off < len(name); {
		r, n := utf8.DecodeRuneInString(name[off:])
		first, last := off == 0, off+n == len(name)
		switch {
		case r == utf8.RuneError && n == 1:
			providers.WriteByteEscape(&b, name[off])
		case r == quote || fromLookalike[r] != 0:
			b.WriteRune(quote)
			b.WriteRune(r)
		case strings.ContainsRune(alwaysReplaced, r),
			r == ' ' && (first || last),
			r == '.' && last,
			r == '~' && first,
			r == '_' && vti[off]:
			b.WriteRune(toLookalike[r])
		default:
			b.WriteString(name[off : off+n])
		}
		off += n
	}
	return b.String()
}

// decodeName reverses encodeName.
func decodeName(name string) string {
	if !strings.ContainsFunc(name, func(r rune) bool { return r == quote || fromLookalike[r] != 0 }) {
		return name
	}
	var b strings.Builder
	escaped := false
	for off := 0; off < len(name); {
		if c, n, ok := providers.ByteEscapeAt(name, off); ok && !escaped {
			b.WriteByte(c)
			off += n
			continue
		}
		r, n := utf8.DecodeRuneInString(name[off:])
		off += n
		switch {
		case escaped:
			b.WriteRune(r)
			escaped = false
		case r == quote:
			escaped = true
		case fromLookalike[r] != 0:
			b.WriteRune(fromLookalike[r])
		default:
			b.WriteRune(r)
		}
	}
	if escaped {
		b.WriteRune(quote) // not produced by encodeName; keep what is there
	}
	return b.String()
}

// vtiStarts marks the byte offsets where "_vti_" begins, in any case.
func vtiStarts(name string) map[int]bool {
	var m map[int]bool
	for i := 0; i+5 <= len(name); i++ {
		if strings.EqualFold(name[i:i+5], "_vti_") {
			if m == nil {
				m = map[int]bool{}
			}
			m[i] = true
		}
	}
	return m
}

func reservedName(name string) bool {
	u := strings.ToUpper(name)
	if u == ".LOCK" || u == "DESKTOP.INI" {
		return true
	}
	stem, _, _ := strings.Cut(u, ".")
	switch stem {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	return len(stem) == 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) &&
		stem[3] >= '0' && stem[3] <= '9'
}

// maxPath is OneDrive's limit on a whole decoded path, in characters.
const maxPath = 400

// remoteSegments checks a caller's path and returns the encoded segments
// below the drive root, the destination folder included. Every problem is
// a Permanent name error, found before any request.
func (c *Client) remoteSegments(p string) ([]string, error) {
	segs := append([]string(nil), c.folder...)
	if p != "" {
		for _, s := range strings.Split(p, "/") {
			if s == "" || s == "." || s == ".." {
				return nil, providers.Errorf(providers.Permanent, providers.ReasonName, "",
					"%s: %q is not a valid file path", c.cfg.Name, p)
			}
			segs = append(segs, encodeName(s))
		}
	}
	if n := utf8.RuneCountInString(strings.Join(segs, "/")); n > maxPath {
		return nil, providers.Errorf(providers.Permanent, providers.ReasonName,
			"shorten the folder or file names; OneDrive allows 400 characters in a whole path",
			"%s: path %q is %d characters long on OneDrive, over its limit of %d", c.cfg.Name, p, n, maxPath)
	}
	return segs, nil
}
