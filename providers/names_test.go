package providers

import (
	"testing"
	"unicode/utf8"
)

func TestEscapeName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"pos/Kassa.bak", "pos/Kassa.bak"},
		{"pos/K\xe4ssa.bak", "pos/K‛xE4ssa.bak"},
		{"\xff\xfe", "‛xFF‛xFE"},
		{"‛xE4", "‛‛xE4"},
		{"s\xc3", "s‛xC3"}, // a cut-off sequence
		{"säker", "säker"},
	} {
		if got := EscapeName(c.in); got != c.want {
			t.Errorf("EscapeName(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := UnescapeName(c.want); got != c.in {
			t.Errorf("UnescapeName(%q) = %q, want %q", c.want, got, c.in)
		}
	}
	// A quote offsite did not write stays as it is.
	if got := UnescapeName("a‛b‛"); got != "a‛b‛" {
		t.Errorf("UnescapeName of a foreign quote = %q", got)
	}
}

func FuzzEscapeNameRoundTrip(f *testing.F) {
	for _, s := range []string{"a", "K\xe4ssa", "‛", "‛‛x", "‛xE4", "\xe4‛xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := EscapeName(s)
		if !utf8.ValidString(enc) {
			t.Fatalf("EscapeName(%q) = %q is not UTF-8", s, enc)
		}
		if got := UnescapeName(enc); got != s {
			t.Fatalf("round trip of %q via %q gave %q", s, enc, got)
		}
	})
}

func TestNameRulesKey(t *testing.T) {
	fold := NameRules{FoldCase: true, Normalize: true}
	exact := NameRules{}
	for _, c := range []struct {
		a, b       string
		rules      NameRules
		sameForAll bool
	}{
		{"pos/Kassa.bak", "pos/kassa.bak", fold, true},
		{"pos/Caf\u00e9.bak", "pos/Cafe\u0301.bak", fold, true},
		{"pos/CAFÉ.bak", "pos/cafe\u0301.bak", fold, true},
		{"pos/Kassa.bak", "pos/kassa.bak", exact, false},
		{"pos/K\xe4ssa.bak", "pos/K\xf6ssa.bak", fold, false}, // not both U+FFFD
		{"pos/K\xe4ssa.bak", "pos/K\u00e4ssa.bak", fold, false},
	} {
		if got := c.rules.Key(c.a) == c.rules.Key(c.b); got != c.sameForAll {
			t.Errorf("%+v: Key(%q) == Key(%q) is %v, want %v", c.rules, c.a, c.b, got, c.sameForAll)
		}
	}
}
