package config

import (
	"os"
	"path/filepath"
	"runtime"
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

// cloudWith is a valid config with one gdrive destination; extra is
// appended under it (indented as its keys) and top is appended at the end.
func cloudWith(extra, top string) string {
	return `watches:
  - name: pos
    path: {W}
    destinations: [c]
destinations:
  - name: c
    type: gdrive
` + extra + top
}

// problemAt returns the message and hint of the problem at path, or "".
func problemAt(errs []*Error, path string) string {
	for _, e := range errs {
		if e.Path == path {
			return e.Msg + "; " + e.Hint
		}
	}
	return ""
}

func TestCleartextLoginsAreRefused(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, extra, top, path string
		refused                bool
	}{
		{"endpoint on the LAN", "    endpoint: http://192.168.1.20:8790\n", "", "destinations[0].endpoint", true},
		{"endpoint by name", "    endpoint: http://fakecloud.lan:8790\n", "", "destinations[0].endpoint", true},
		{"endpoint on 127.0.0.1", "    endpoint: http://127.0.0.1:8790\n", "", "destinations[0].endpoint", false},
		{"endpoint on localhost", "    endpoint: http://localhost:8790\n", "", "destinations[0].endpoint", false},
		{"endpoint on [::1]", "    endpoint: http://[::1]:8790\n", "", "destinations[0].endpoint", false},
		{"endpoint https", "    endpoint: https://fakecloud.lan:8790\n", "", "destinations[0].endpoint", false},
		{"webhook with token query", "    endpoint: http://127.0.0.1:1\n", "notify:\n  - url: http://hooks.lan/offsite?token=abc\n", "notify[0].url", true},
		{"webhook with login", "    endpoint: http://127.0.0.1:1\n", "notify:\n  - url: http://me:pw@hooks.lan/offsite\n", "notify[0].url", true},
		{"webhook with token path", "    endpoint: http://127.0.0.1:1\n", "notify:\n  - url: http://hooks.lan/services/T0123ABCD/XyZ9aBcDeFgHiJkL\n", "notify[0].url", true},
		{"plain webhook on the LAN", "    endpoint: http://127.0.0.1:1\n", "notify:\n  - url: http://nas.lan/hooks/offsite\n", "notify[0].url", false},
		{"webhook with token on loopback", "    endpoint: http://127.0.0.1:1\n", "notify:\n  - url: http://127.0.0.1:9/x?token=abc\n", "notify[0].url", false},
		{"https webhook with token", "    endpoint: http://127.0.0.1:1\n", "notify:\n  - url: https://hooks.lan/x?token=abc\n", "notify[0].url", false},
		{"smtp with password", "    endpoint: http://127.0.0.1:1\n", "notify:\n  - url: smtp://u:pw@mail.lan:587/?to=a@b.c\n", "notify[0].url", false},
		{"ping uuid over http", "    endpoint: http://127.0.0.1:1\n", "healthcheck:\n  - http://hc-ping.com/0e8c2a4f-6b1d-4f1e-9d3c-2a7b5e8f9a10\n", "healthcheck[0]", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := parseTest(t, f, cloudWith(tc.extra, tc.top))
			got := problemAt(errs, tc.path)
			switch {
			case tc.refused && !strings.Contains(got, "unencrypted"):
				t.Errorf("not refused; problems:\n%s", list(errs))
			case tc.refused && !strings.Contains(got, "https://"):
				t.Errorf("refusal does not say to use https://: %s", got)
			case !tc.refused && got != "":
				t.Errorf("refused: %s", got)
			}
			if strings.Contains(list(errs), "pw") || strings.Contains(list(errs), "abc") || strings.Contains(list(errs), "XyZ9") {
				t.Errorf("a credential shows in the errors:\n%s", list(errs))
			}
		})
	}
}

func TestTokenFileThatIsAFolder(t *testing.T) {
	f := newFixture(t)
	state := t.TempDir()
	if err := os.Mkdir(filepath.Join(state, "c-token.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, errs := parseTest(t, f, cloudWith("    endpoint: http://127.0.0.1:1\n", "state_dir: "+filepath.ToSlash(state)+"\n"))
	got := problemAt(errs, "destinations[0].token_file")
	if !strings.Contains(got, "is a folder") || !strings.Contains(got, "c-token.json") {
		t.Fatalf("token_file problem = %q; all:\n%s", got, list(errs))
	}
}

func TestLooseStateDirAndConfigFileAreRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows guards files with ACLs")
	}
	f := newFixture(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	os.Mkdir(state, 0o700)
	file := filepath.Join(dir, "offsite.yaml")
	body := f.fill(base + "state_dir: " + filepath.ToSlash(state) + "\n")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(file); err != nil {
		t.Fatalf("private config refused: %v", err)
	}

	os.Chmod(state, 0o777)
	_, err := Load(file)
	if err == nil || !strings.Contains(err.Error(), "state_dir") || !strings.Contains(err.Error(), "chmod go-w "+state) {
		t.Errorf("world-writable state_dir: %v", err)
	}
	os.Chmod(state, 0o700)

	os.Chmod(file, 0o666)
	_, err = Load(file)
	if err == nil || !strings.Contains(err.Error(), "every user of this computer") || !strings.Contains(err.Error(), "chmod go-w "+file) {
		t.Errorf("world-writable config file: %v", err)
	}
}
