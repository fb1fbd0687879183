package config

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse: Parse never panics, and a failure is always a list of
// *Error with a message.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../config.example.yaml"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		base, "a: &a [*a]\n", "x: &x {<<: *x}\nwatches: [*x]\n", "workers: [1, 2\n", "\t- a\n",
		"watches:\n  - <<: [*a, *b]\n", "notify:\n  - url: \"%zz\"\n", "state_dir: ${\n", "---\n---\n", "? [a]\n: b\n",
		"destinations: [{name: x, type: onedrive, chunk_size: 9999999999999TiB}]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse(data, "fuzz.yaml", lookupTest)
		if err == nil {
			if c == nil {
				t.Fatal("nil config without an error")
			}
			return
		}
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var ce *Error
			if !errors.As(e, &ce) || ce.Msg == "" {
				t.Fatalf("problem %v is not a *config.Error with a message", e)
			}
		}
	})
}
