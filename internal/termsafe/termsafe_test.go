package termsafe

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"day.bak", "day.bak"},
		{"Kassa 2026-11-23.bak", "Kassa 2026-11-23.bak"},
		{"café/Ümlaut ß.bak", "café/Ümlaut ß.bak"},
		{"日本語.zip", "日本語.zip"},
		{"it's \"fine\".bak", "it's \"fine\".bak"},
		{"a\x1b[31mred\nFAKE LINE.bak", `"a\x1b[31mred\nFAKE LINE.bak"`},
		{"tab\there", `"tab\there"`},
		{"cr\rover", `"cr\rover"`},
		{"del\x7f", `"del\x7f"`},
		{"c1\u009bm", `"c1\u009bm"`},
		{"evil\u202Ekab.exe", `"evil\u202ekab.exe"`},
		{"iso\u2066x\u2069", `"iso\u2066x\u2069"`},
		{"zw\u200bsp", `"zw\u200bsp"`},
		{"ls\u2028next", `"ls\u2028next"`},
		{"latin1 \xe9t\xe9.bak", `"latin1 \xe9t\xe9.bak"`},
		{`"quoted"`, `"\"quoted\""`},
	} {
		if got := Quote(c.in); got != c.want {
			t.Errorf("Quote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestErrorLinesKeepsStructureEscapesNames(t *testing.T) {
	name := "a\x1b[31mred\nFAKE LINE.bak"
	err := fmt.Errorf("2 upload(s) not done:\n%w", errors.Join(
		fmt.Errorf("pos/%s → usb: not uploaded yet", name),
		errors.New("pos/b.bak → usb: disk full"),
	))
	got := ErrorLines(err)
	want := []string{
		"2 upload(s) not done:",
		`"pos/a\x1b[31mred\nFAKE LINE.bak → usb: not uploaded yet"`,
		"pos/b.bak → usb: disk full",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for _, l := range got {
		if strings.ContainsAny(l, "\n\x1b") {
			t.Errorf("raw control character in %q", l)
		}
	}
	if got := ErrorLines(fmt.Errorf("restore %s: not found", name)); len(got) != 1 || strings.ContainsAny(got[0], "\n\x1b") {
		t.Errorf("single error: %q", got)
	}
	one := fmt.Errorf("1 upload(s) not done:\n%w", errors.Join(fmt.Errorf("pos/%s → usb: not uploaded yet", name)))
	if got := ErrorLines(one); !slices.Equal(got, []string{"1 upload(s) not done:", want[1]}) {
		t.Errorf("one wrapped error: %q", got)
	}
	if got := ErrorLines(errors.New("plain")); !slices.Equal(got, []string{"plain"}) {
		t.Errorf("plain error: %q", got)
	}
}

func TestPrintErrorPrefixesTheFirstLineOnly(t *testing.T) {
	var out strings.Builder
	PrintError(&out, "offsite: ", errors.Join(errors.New("config: 2 problems"), errors.New("watch \"x\x1b[31m\": gone")))
	want := "offsite: config: 2 problems\n" + Quote("watch \"x\x1b[31m\": gone") + "\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
