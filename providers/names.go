package providers

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NameRules say how a service compares and limits names, so offsite can
// give two files two names wherever the service would see one. Each
// adapter declares its rules beside its HashKind.
type NameRules struct {
	// FoldCase: names differing only in letter case are one name
	// ("Kassa.bak" and "kassa.bak"); the service keeps the case it was
	// given first.
	FoldCase bool
	// Normalize: canonically equivalent names are one name, such as "é"
	// written as one code point (NFC) or as "e" and a combining accent
	// (NFD, as macOS writes it).
	Normalize bool
	// Forbidden lists characters the service refuses; the adapter stores
	// them under a reversible replacement (see the adapter's names.go).
	Forbidden string
	// MaxName is the longest name of one path segment in characters; 0
	// means no limit offsite knows of.
	MaxName int
	// MaxPath is the longest whole path in characters; 0: no known limit.
	MaxPath int
}

// NameRuler is implemented by providers that declare their name rules.
// One that does not is taken to compare names byte for byte.
type NameRuler interface {
	NameRules() NameRules
}

// RulesOf returns p's name rules, looking through wrappers that have an
// Unwrap method.
func RulesOf(p Provider) NameRules {
	for p != nil {
		if r, ok := p.(NameRuler); ok {
			return r.NameRules()
		}
		u, ok := p.(interface{ Unwrap() Provider })
		if !ok {
			break
		}
		p = u.Unwrap()
	}
	return NameRules{}
}

// Key returns the form under which the service compares a destination
// path: two paths with one key are one file there. Invalid UTF-8 is
// escaped first (see EscapeName), so distinct byte strings keep distinct
// keys instead of all folding to U+FFFD.
func (r NameRules) Key(p string) string {
	k := EscapeName(p)
	if r.Normalize {
		k = norm.NFC.String(k)
	}
	if r.FoldCase {
		// Upper then lower also folds pairs like "ſ"/"s" and "K" (Kelvin)/"k".
		k = strings.ToLower(strings.ToUpper(k))
		if r.Normalize {
			k = norm.NFC.String(k)
		}
	}
	return k
}

// NameQuote starts every escape offsite writes into a stored name: the
// single high-reversed-9 quotation mark ‛ (U+201B), rare in real names.
//
//   - ‛xHH is the byte 0xHH of a name that is not valid UTF-8 (a Latin-1
//     name from an old program: "K\xe4sse.bak" is stored as "K‛xE4sse.bak");
//   - ‛‛ is a ‛ that was in the original name.
//
// OneDrive adds its own escapes for the characters it forbids, with the
// same quote (providers/onedrive/names.go).
const NameQuote = '‛'

const hexDigits = "0123456789ABCDEF"

// EscapeName returns p (a name or a slash path) with every byte that is
// not part of valid UTF-8 written as ‛xHH and every ‛ doubled. Names that
// need neither come back unchanged.
func EscapeName(p string) string {
	if utf8.ValidString(p) && !strings.ContainsRune(p, NameQuote) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			WriteByteEscape(&b, p[i])
		case r == NameQuote:
			b.WriteRune(NameQuote)
			b.WriteRune(NameQuote)
		default:
			b.WriteString(p[i : i+n])
		}
		i += n
	}
	return b.String()
}

// WriteByteEscape writes the escape of one byte that is not UTF-8.
func WriteByteEscape(b *strings.Builder, c byte) {
	b.WriteRune(NameQuote)
	b.WriteByte('x')
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&15])
}

// ByteEscapeAt reports whether s[i:] starts with a byte escape (‛xHH) and
// returns the byte and the escape's length.
func ByteEscapeAt(s string, i int) (byte, int, bool) {
	const q = len(string(NameQuote))
	if !strings.HasPrefix(s[i:], string(NameQuote)+"x") || len(s) < i+q+3 {
		return 0, 0, false
	}
	hi := strings.IndexByte(hexDigits, s[i+q+1])
	lo := strings.IndexByte(hexDigits, s[i+q+2])
	if hi < 0 || lo < 0 {
		return 0, 0, false
	}
	return byte(hi<<4 | lo), q + 3, true
}

// UnescapeName reverses EscapeName. A quote it did not write (a name
// stored by someone else) is kept as it is.
func UnescapeName(p string) string {
	if !strings.ContainsRune(p, NameQuote) {
		return p
	}
	const q = len(string(NameQuote))
	var b strings.Builder
	for i := 0; i < len(p); {
		if c, n, ok := ByteEscapeAt(p, i); ok {
			b.WriteByte(c)
			i += n
			continue
		}
		if strings.HasPrefix(p[i:], string(NameQuote)+string(NameQuote)) {
			b.WriteRune(NameQuote)
			i += 2 * q
			continue
		}
		b.WriteByte(p[i])
		i++
	}
	return b.String()
}
