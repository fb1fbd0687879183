package notify

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocumentedURLsParse keeps the notify URL examples in docs/config.md
// usable: each one is accepted as a channel, the way the config loader
// checks them, so a shop owner who copies one gets no parse error.
func TestDocumentedURLsParse(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(doc), "<!-- notify-examples")
	block, _, ok2 := strings.Cut(block, "<!-- end notify-examples -->")
	if !ok || !ok2 {
		t.Fatal("docs/config.md has no notify-examples block")
	}
	cell := regexp.MustCompile("\\| `([a-z]+://[^`]+)` \\|")
	env := regexp.MustCompile(`\$\{[A-Z_]+\}`)
	var n int
	for _, line := range strings.Split(block, "\n") {
		m := cell.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n++
		u := env.ReplaceAllString(m[1], "secret") // the config expands ${VAR} before this
		if _, err := ParseChannels([]string{u}, nil); err != nil {
			t.Errorf("documented URL %s is refused: %v", m[1], err)
		}
	}
	if n < 6 {
		t.Fatalf("found %d example URLs in docs/config.md, want the table of at least 6", n)
	}
}
