// Package termsafe makes names and messages safe to print on a terminal or
// into a line-based log: a file name is data, and must not move the cursor,
// colour the screen, reorder text or start a new line.
package termsafe

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Quote returns s unchanged when it prints as itself, and as a Go-quoted
// string ("a\x1b[31m.bak", "x\nFAKE") when it holds a control character
// (newlines and escape sequences included), a Unicode format character
// (bidi overrides, zero-width characters), a line or paragraph separator,
// or invalid UTF-8. A name that starts with a double quote is quoted too,
// so a quoted form always means "escaped" and never a name that looks like
// one. Ordinary names, accents and other scripts included, print unchanged.
func Quote(s string) string {
	if !needsQuote(s) {
		return s
	}
	return strconv.Quote(s)
}

func needsQuote(s string) bool {
	if strings.HasPrefix(s, `"`) || !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
			return true
		}
	}
	return false
}

// PrintError writes err to w for a person, as ErrorLines, the first line
// after prefix: the lines the error is built of stay lines, and a file
// name inside it cannot colour the terminal or forge a line of its own.
func PrintError(w io.Writer, prefix string, err error) {
	for i, l := range ErrorLines(err) {
		if i == 0 {
			l = prefix + l
		}
		fmt.Fprintln(w, l)
	}
}

// ErrorLines returns err's message as lines that are each safe to print.
// The newlines an error is built with (errors.Join, or a wrapper that puts
// joined errors on lines of their own) stay line breaks; any other control
// character, a newline inside a file name included, is escaped by Quote.
func ErrorLines(err error) []string {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		errs := m.Unwrap()
		parts := make([]string, 0, len(errs))
		for _, e := range errs {
			if e != nil {
				parts = append(parts, e.Error())
			}
		}
		if len(parts) > 0 && msg == strings.Join(parts, "\n") {
			var out []string
			for _, e := range errs {
				out = append(out, ErrorLines(e)...)
			}
			return out
		}
	}
	if inner := errors.Unwrap(err); inner != nil {
		in := inner.Error()
		// A wrapper that ends its own text with a newline puts what it
		// wraps on a line of its own, even a single error.
		if prefix, ok := strings.CutSuffix(msg, in); ok && (strings.Contains(in, "\n") || strings.HasSuffix(prefix, "\n")) {
			lines := ErrorLines(inner)
			if p, ok := strings.CutSuffix(prefix, "\n"); ok {
				return append([]string{Quote(p)}, lines...)
			}
			lines[0] = Quote(prefix) + lines[0]
			return lines
		}
	}
	return []string{Quote(msg)}
}
