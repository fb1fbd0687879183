package progress

import (
	"strings"
	"testing"
)

func TestBarRedrawsOneLineAndEndsIt(t *testing.T) {
	var out strings.Builder
	p := Bar(&out)
	p(0, 4<<20)
	p(1<<20, 4<<20)
	if strings.Contains(out.String(), "\n") {
		t.Fatalf("the line ended before the upload did: %q", out.String())
	}
	p(4<<20, 4<<20)
	got := out.String()
	for _, want := range []string{
		"\r[" + strings.Repeat(".", 30) + "]   0.0%",
		"\r[#######" + strings.Repeat(".", 23) + "]  25.0%",
		"\r[" + strings.Repeat("#", 30) + "] 100.0%",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%q", want, got)
		}
	}
	if !strings.HasSuffix(got, "\n") {
		t.Errorf("the finished bar does not end its line: %q", got)
	}
}

func TestNoBarOffATerminal(t *testing.T) {
	if For(&strings.Builder{}) != nil {
		t.Error("a bar for a writer that is not a terminal")
	}
}
