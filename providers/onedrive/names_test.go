package onedrive

import (
	"bytes"
	"path"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/providertest"
)

func TestEncodeName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain.bak", "plain.bak"},
		{`a:b*c?d"e<f>g|h\i.bak`, "a：b＊c？d＂e＜f＞g｜h＼i.bak"},
		{" lead and trail ", "␠lead and trail␠"},
		{"ends.", "ends．"},
		{"~$book.xlsx", "～$book.xlsx"},
		{"~tilde", "～tilde"},
		{"CON", "‛CON"},
		{"con.txt", "‛con.txt"},
		{"LPT9", "‛LPT9"},
		{"COM10", "COM10"},
		{".lock", "‛.lock"},
		{"Desktop.ini", "‛Desktop.ini"},
		{"a_vti_b", "a＿vti_b"},
		{"already＊full", "already‛＊full"},
		{"‛quote", "‛‛quote"},
		{"säkerhetskopia_åäö.bak", "säkerhetskopia_åäö.bak"},
	}
	for _, c := range cases {
		if got := encodeName(c.in); got != c.want {
			t.Errorf("encodeName(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := decodeName(encodeName(c.in)); got != c.in {
			t.Errorf("decodeName(encodeName(%q)) = %q", c.in, got)
		}
	}
}

func FuzzNameRoundTrip(f *testing.F) {
	for _, s := range []string{"a", " x.", "CON", "~$a", "_vti_", "‛＊", "a:b", "．␠", "K\xe4ssa", "‛xE4", "DESKTOP.INI", "\xff‛‛x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "/") || s == "" {
			return // remoteSegments refuses these before encoding
		}
		enc := encodeName(s)
		if got := decodeName(enc); got != s {
			t.Fatalf("round trip of %q via %q gave %q", s, enc, got)
		}
		if !utf8.ValidString(enc) {
			t.Fatalf("encodeName(%q) = %q is not UTF-8", s, enc)
		}
		if strings.ContainsAny(enc, `"*:<>?\|`) || strings.HasPrefix(enc, " ") || strings.HasSuffix(enc, " ") ||
			strings.HasSuffix(enc, ".") || strings.HasPrefix(enc, "~") || strings.Contains(strings.ToLower(enc), "_vti_") || reservedName(enc) {
			t.Fatalf("encodeName(%q) = %q is still refused by OneDrive", s, enc)
		}
	})
}

func TestNamesRoundTripThroughService(t *testing.T) {
	e := newEnv(t)
	c := e.client("B")
	names := []string{`a:b*c?.bak`, " lead.bak", "trail.", "CON", "~$lock.xlsx", "x_vti_y.bak", "desktop.ini", "full＊width.bak", `q"uote|pipe<>.bak`,
		"K\xe4ssa.bak", "K\xf6ssa.bak", "‛xE4.bak"}
	for i, n := range names {
		data := providertest.Data(uint64(300+i), 100+i)
		rf, err := put(t, c, "odd/"+n, data, providers.PutOptions{})
		if err != nil {
			t.Fatalf("Put %q: %v", n, err)
		}
		if rf.Path != "odd/"+n {
			t.Errorf("Put %q returned path %q", n, rf.Path)
		}
		if got := providertest.Content(t, c, "odd/"+n); !bytes.Equal(got, data) {
			t.Errorf("%q: content differs", n)
		}
	}
	got := providertest.Names(t, c, "odd")
	if len(got) != len(names) {
		t.Fatalf("List = %q", got)
	}
	listed := map[string]bool{}
	for _, n := range got {
		listed[n] = true
	}
	for _, n := range names {
		if !listed[n] {
			t.Errorf("List lacks %q: %q", n, got)
		}
	}
	for _, f := range e.files() {
		if base := path.Base(f.Path); strings.ContainsAny(base, `"*:<>?\|`) {
			t.Errorf("stored name %q has a character OneDrive forbids", base)
		}
	}
}
