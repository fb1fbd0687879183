package config

import (
	"fmt"
	"unicode"
)

// quoteHint is the fix for a Windows path whose backslashes a double-quoted
// YAML string read as escapes ("C:\POS\Nightly" holds \P and \N).
const quoteHint = `write Windows paths in single quotes ('C:\POS\Nightly') or with forward slashes (C:/POS/Nightly): ` +
	`inside double quotes YAML reads a backslash as an escape`

// checkPathChars reports a path holding control or line/paragraph separator
// characters. No real folder name has them; they are what YAML escapes in a
// double-quoted Windows path turn into. It reports whether the path is clean.
func checkPathChars(p *problems, at, v string) bool {
	for _, r := range v {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			p.add(at, quoteHint, "holds the character %s (%q), which no folder name has", runeName(r), v)
			return false
		}
	}
	return true
}

func runeName(r rune) string {
	switch r {
	case '\t':
		return "tab"
	case '\n':
		return "new line"
	case '\r':
		return "carriage return"
	}
	return fmt.Sprintf("U+%04X", r)
}
