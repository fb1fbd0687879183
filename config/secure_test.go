package config

import (
	"strconv"
	"strings"
	"testing"
)

// TestErrorsNameTheVariableNotItsValue: a value that came from ${VAR} is a
// secret as far as the errors know; each names the variable instead.
func TestErrorsNameTheVariableNotItsValue(t *testing.T) {
	f := newFixture(t)
	secrets := map[string]string{
		"WORKERS": "hunter2-workers",
		"LEVEL":   "s3cr3t",
		"KIND":    "tok-ABCdef123",
		"SETTLE":  "pw\"quoted\\",
		"ZONE":    "Secret/Zone9",
		"TARGET":  "longer-secret-name",
	}
	for k, v := range secrets {
		testEnv[k] = v
	}
	t.Cleanup(func() {
		for k := range secrets {
			delete(testEnv, k)
		}
	})
	_, errs := parseTest(t, f, `workers: ${WORKERS}
log_level: ${LEVEL}
watches:
  - name: pos
    path: {W}
    settle: ${SETTLE}
    timezone: ${ZONE}
    destinations: [usb, "${TARGET}"]
destinations:
  - name: usb
    type: local
    path: {D}
  - name: other
    type: ${KIND}
`)
	if len(errs) == 0 {
		t.Fatal("config with bad values accepted")
	}
	text := list(errs)
	for k, v := range secrets {
		if strings.Contains(text, v) || strings.Contains(text, strings.Trim(quote(v), `"`)) {
			t.Errorf("the value of ${%s} shows in the errors:\n%s", k, text)
		}
		if !strings.Contains(text, "${"+k+"}") {
			t.Errorf("the errors do not name ${%s}:\n%s", k, text)
		}
	}
}

func quote(s string) string { return strconv.Quote(s) }
