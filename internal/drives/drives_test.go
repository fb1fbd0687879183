package drives

import (
	"strings"
	"testing"
)

func TestLetter(t *testing.T) {
	for _, tc := range []struct {
		in, letter, rest string
		ok               bool
	}{
		{`E:\Backups`, "E:", `\Backups`, true},
		{`e:/Backups`, "E:", `/Backups`, true},
		{`Z:`, "Z:", ``, true},
		{`\\nas\backups`, "", "", false},
		{`/mnt/usb`, "", "", false},
		{`C:relative`, "", "", false},
		{`1:\x`, "", "", false},
		{``, "", "", false},
	} {
		l, r, ok := Letter(tc.in)
		if l != tc.letter || r != tc.rest || ok != tc.ok {
			t.Errorf("Letter(%q) = %q, %q, %v; want %q, %q, %v", tc.in, l, r, ok, tc.letter, tc.rest, tc.ok)
		}
	}
}

// TestAdvice: a mapped drive gets the share's own path to write instead, a
// missing drive says to plug it in, local and USB disks and UNC paths get
// nothing.
func TestAdvice(t *testing.T) {
	drives := map[string]Drive{
		"C:": {Kind: Fixed},
		"E:": {Kind: Removable},
		"S:": {Kind: Remote, UNC: `\\nas\shop`},
		"T:": {Kind: Remote},
	}
	look := func(l string) Drive {
		if d, ok := drives[l]; ok {
			return d
		}
		return Drive{Kind: Missing}
	}
	for _, tc := range []struct{ path, want string }{
		{`C:\POS\Backup`, ""},
		{`E:\Backups`, ""},
		{`\\nas\shop\backups`, ""},
		{`s:\backups\pos`, `\\nas\shop\backups\pos`},
		{`S:\`, `write the share's own path instead, \\nas\shop`},
		{`T:\x`, `\\server\share`},
		{`F:\Backups`, "there is no drive F:"},
	} {
		got := advise(tc.path, look)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("advise(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
	if got := advise(`S:\x`, nil); got != "" {
		t.Errorf("no lookup (not Windows) gave advice %q", got)
	}
}
