package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fixture holds folders a test config can point at.
type fixture struct {
	watch, file, dest string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	tmp := t.TempDir()
	f := fixture{watch: filepath.Join(tmp, "watch"), file: filepath.Join(tmp, "file.txt"), dest: filepath.Join(tmp, "dest")}
	if err := os.Mkdir(f.watch, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixture) fill(s string) string {
	return strings.NewReplacer("{W}", filepath.ToSlash(f.watch), "{F}", filepath.ToSlash(f.file), "{D}", filepath.ToSlash(f.dest)).Replace(s)
}

var testEnv = map[string]string{"SET": "value", "EMPTY": ""}

func lookupTest(k string) (string, bool) { v, ok := testEnv[k]; return v, ok }

// parseTest parses s (after fill) as "offsite.yaml" with testEnv as the environment.
func parseTest(t *testing.T, f fixture, s string) (*Config, []*Error) {
	t.Helper()
	c, err := parse([]byte(f.fill(s)), "offsite.yaml", lookupTest)
	if err == nil {
		return c, nil
	}
	var out []*Error
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Fatalf("error %v is not a *config.Error", e)
		}
		out = append(out, ce)
	}
	return c, out
}

// base is a valid config; cases append to it. Lines 1-7.
const base = `watches:
  - name: pos
    path: {W}
    destinations: [usb]
destinations:
  - name: usb
    type: local
    path: {D}
`

func TestValidationErrors(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		yaml string
		line int
		path string
		want string // in the message or hint
	}{
		{"unknown top key", base + "retires: 3\n", 9, "retires", "did you mean retry?"},
		{"unknown watch key", `watches:
  - name: pos
    path: {W}
    setle: 5s
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 4, "watches[0].setle", "did you mean settle?"},
		{"key at the wrong level", `watches:
  - name: pos
    path: {W}
    chunk_size: 8MiB
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 4, "watches[0].chunk_size", "belongs under destinations[]"},
		{"unknown key lists known ones", base + "zzzzzzzzzz: 1\n", 9, "zzzzzzzzzz", "the keys here are state_dir, log_level"},
		{"bad duration", `watches:
  - name: pos
    path: {W}
    settle: 5 seconds
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 4, "watches[0].settle", `"5 seconds" is not a duration`},
		{"duration in days", `watches:
  - name: pos
    path: {W}
    expect_every: 2d
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 4, "watches[0].expect_every", "no day unit"},
		{"duration without unit", base + "retry:\n  initial: 5\n", 10, "retry.initial", "it needs a unit"},
		{"negative duration", base + "retry:\n  max: -1h\n", 10, "retry.max", "negative"},
		{"bad size", base + `  - name: cloud
    type: gdrive
    client_id: id
    client_secret: s
    chunk_size: 8M
`, 13, "destinations[1].chunk_size", "ambiguous"},
		{"chunk_size_max off the unit", base + `  - name: cloud
    type: onedrive
    client_id: id
    chunk_size_max: 32MiB
`, 12, "destinations[1].chunk_size_max", "a multiple of 320KiB"},
		{"chunk_size_max where chunks do not grow", base + `  - name: box
    type: dropbox
    client_id: id
    chunk_size_max: 32MiB
`, 12, "destinations[1].chunk_size_max", "only gdrive and onedrive"},
		{"bad rate", base + "bandwidth: 2MiB\n", 9, "bandwidth", "with /s"},
		{"rate in bits", base + "bandwidth: 8Mbps\n", 9, "bandwidth", "in bits"},
		{"watch path missing", `watches:
  - name: pos
    path: {W}/nope
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 3, "watches[0].path", "does not exist"},
		{"watch path is a file", `watches:
  - name: pos
    path: {F}
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 3, "watches[0].path", "is a file, not a folder"},
		{"watch path left out", `watches:
  - name: pos
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 2, "watches[0].path", "is missing"},
		{"duplicate watch", base + `  - name: usb2
    type: local
    path: {D}/2
`, 0, "", ""}, // placeholder replaced below
		{"duplicate destination", base + `  - name: usb
    type: local
    path: {D}/2
`, 9, "destinations[1].name", `which destinations[0] on line 6 also uses`},
		{"duplicate schedule", base + `schedules:
  - {name: w, cron: "@weekly", copy_latest: pos, destinations: [usb]}
  - {name: w, cron: "@daily", copy_latest: pos, destinations: [usb]}
`, 11, "schedules[1].name", "schedules[0] on line 10 also uses"},
		{"undefined destination", `watches:
  - name: pos
    path: {W}
    destinations:
      - usb
      - clod
destinations:
  - {name: usb, type: local, path: {D}}
`, 6, "watches[0].destinations[1]", `"clod", which is not a defined destination`},
		{"destination listed twice", `watches:
  - name: pos
    path: {W}
    destinations: [usb, usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 4, "watches[0].destinations[1]", "twice"},
		{"unused destination", base + `  - name: spare
    type: local
    path: {D}/spare
`, 9, "destinations[1].name", "which no watch or schedule uses"},
		{"watch without destinations", `watches:
  - name: pos
    path: {W}
destinations: []
`, 2, "watches[0].destinations", "uploads nowhere"},
		{"unknown type", `watches:
  - name: pos
    path: {W}
    destinations: [usb]
destinations:
  - name: usb
    type: gdrvie
`, 7, "destinations[0].type", "did you mean gdrive?"},
		{"type left out", `watches:
  - name: pos
    path: {W}
    destinations: [usb]
destinations:
  - name: usb
    path: {D}
`, 6, "destinations[0].type", "is missing"},
		{"local without path", `watches:
  - name: pos
    path: {W}
    destinations: [usb]
destinations:
  - name: usb
    type: local
`, 6, "destinations[0].path", "is missing"},
		{"local with a cloud key", base + "    folder: Backups\n", 9, "destinations[0].folder", "applies only to cloud destinations"},
		{"cloud with path", `watches:
  - name: pos
    path: {W}
    destinations: [c]
destinations:
  - name: c
    type: dropbox
    client_id: id
    path: /x
`, 9, "destinations[0].path", "applies only to local destinations"},
		{"tenant on gdrive", `watches:
  - name: pos
    path: {W}
    destinations: [c]
destinations:
  - name: c
    type: gdrive
    endpoint: http://127.0.0.1:8790
    tenant: common
`, 9, "destinations[0].tenant", "applies only to onedrive"},
		{"cloud without client_id", `watches:
  - name: pos
    path: {W}
    destinations: [c]
destinations:
  - name: c
    type: onedrive
`, 6, "destinations[0].client_id", "is missing"},
		{"gdrive without client_secret", `watches:
  - name: pos
    path: {W}
    destinations: [c]
destinations:
  - name: c
    type: gdrive
    client_id: id
`, 6, "destinations[0].client_secret", "is missing"},
		{"bad endpoint", `watches:
  - name: pos
    path: {W}
    destinations: [c]
destinations:
  - name: c
    type: gdrive
    endpoint: ftp://127.0.0.1:8790
`, 8, "destinations[0].endpoint", "use an http:// or https:// URL"},
		{"state folder is the watched folder", `state_dir: {W}
watches:
  - name: pos
    path: {W}
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 1, "state_dir", "would skip every backup there"},
		{"local destination inside watch", `watches:
  - name: pos
    path: {W}
    destinations: [usb]
destinations:
  - name: usb
    type: local
    path: {W}/copies
`, 8, "destinations[0].path", "would upload its own copies"},
		{"local destination is the watch", `watches:
  - name: pos
    path: {W}
    destinations: [usb]
destinations:
  - name: usb
    type: local
    path: {W}
`, 8, "destinations[0].path", "would upload its own copies"},
		{"gdrive chunk multiple", `watches:
  - name: pos
    path: {W}
    destinations: [c]
destinations:
  - name: c
    type: gdrive
    endpoint: http://127.0.0.1:1
    chunk_size: 1000KiB
`, 9, "destinations[0].chunk_size", "multiple of 256KiB such as 768KiB or 1MiB"},
		{"dropbox chunk multiple", `watches:
  - name: pos
    path: {W}
    destinations: [c]
destinations:
  - name: c
    type: dropbox
    endpoint: http://127.0.0.1:1
    chunk_size: 10MiB
`, 9, "destinations[0].chunk_size", "multiple of 4MiB"},
		{"timeout too short", `watches:
  - name: pos
    path: {W}
    destinations: [c]
destinations:
  - name: c
    type: dropbox
    endpoint: http://127.0.0.1:1
    timeout: 10ms
`, 9, "destinations[0].timeout", "too short"},
		{"timeout on a local destination", `watches:
  - name: pos
    path: {W}
    destinations: [usb]
destinations:
  - name: usb
    type: local
    path: {D}
    timeout: 1m
`, 9, "destinations[0].timeout", "only to cloud destinations"},
		{"onedrive chunk multiple", `watches:
  - name: pos
    path: {W}
    destinations: [c]
destinations:
  - name: c
    type: onedrive
    endpoint: http://127.0.0.1:1
    chunk_size: 8MiB
`, 9, "destinations[0].chunk_size", "multiple of 320KiB"},
		{"onedrive chunk too large", `watches:
  - name: pos
    path: {W}
    destinations: [c]
destinations:
  - name: c
    type: onedrive
    endpoint: http://127.0.0.1:1
    chunk_size: 60MiB
`, 9, "destinations[0].chunk_size", "above onedrive's limit"},
		{"bad window", base + `    window: 19-07
`, 9, "destinations[0].window", `"19" is not HH:MM`},
		{"empty window", base + `    window: "07:00-07:00"
`, 9, "destinations[0].window", "starts when it ends"},
		{"bad timezone", base + "    timezone: Europe/Berln\n", 9, "destinations[0].timezone", "not a known time zone"},
		{"negative keep", base + "    keep:\n      daily: -1\n", 10, "destinations[0].keep.daily", "is -1"},
		{"bad schedule cron", base + `schedules:
  - name: weekly
    cron: "61 * * * *"
    copy_latest: pos
    destinations: [usb]
`, 11, "schedules[0].cron", "not a valid cron expression"},
		{"bad expect_cron", `watches:
  - name: pos
    path: {W}
    expect_cron: "every day"
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 4, "watches[0].expect_cron", "not a valid cron expression"},
		{"expect_every and expect_cron", `watches:
  - name: pos
    path: {W}
    expect_every: 26h
    expect_cron: "@daily"
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 5, "watches[0].expect_cron", "together with expect_every"},
		{"expect_every shorter than settle", `watches:
  - name: pos
    path: {W}
    settle: 1m
    expect_every: 30s
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 5, "watches[0].expect_every", "shorter than settle (1m0s)"},
		{"copy_latest unknown", base + `schedules:
  - name: weekly
    cron: "@weekly"
    copy_latest: poss
    destinations: [usb]
`, 12, "schedules[0].copy_latest", "did you mean pos?"},
		{"schedule folder escapes", base + `schedules:
  - name: weekly
    cron: "@weekly"
    copy_latest: pos
    destinations: [usb]
    folder: ../up
`, 14, "schedules[0].folder", `contains ".."`},
		{"notify url does not parse", base + `notify:
  - url: "smtp://user:hunter2@host:port/"
`, 10, "notify[0].url", "does not parse as a URL"},
		{"notify url without scheme", base + `notify:
  - url: mail.example.com
`, 10, "notify[0].url", "has no scheme"},
		{"unknown notify event", base + `notify:
  - url: https://hooks.example.com/x
    on: [failure, faliure]
`, 11, "notify[0].on[1]", "did you mean failure?"},
		{"empty notify events", base + `notify:
  - url: https://hooks.example.com/x
    on: []
`, 11, "notify[0].on", "nothing would be sent"},
		{"healthcheck not http", base + "healthcheck:\n  - ftp://x/y\n", 10, "healthcheck[0]", "http:// or https://"},
		{"unset variable", base + `  - name: cloud
    type: gdrive
    client_id: id
    client_secret: ${GDRIVE_CLIENT_SECRET}
`, 12, "destinations[1].client_secret", "uses ${GDRIVE_CLIENT_SECRET}, which is not set; set it in the service's environment or write the value here"},
		{"two unset variables", base + "state_dir: /${A}/${B}\n", 9, "state_dir", "uses ${A} and ${B}, which are not set"},
		{"bad variable syntax", base + "state_dir: /x/${1A}\n", 9, "state_dir", "not a variable name"},
		{"unclosed variable", base + "state_dir: /x/${A\n", 9, "state_dir", "without a closing }"},
		{"http not loopback", base + "http: 0.0.0.0:8742\n", 9, "http", "not a loopback address"},
		{"http without port", base + "http: localhost\n", 9, "http", "not HOST:PORT"},
		{"bad log level", base + "log_level: warning\n", 9, "log_level", "did you mean warn?"},
		{"bad report", base + "report: weekly\n", 9, "report", "use run, daily, off"},
		{"zero workers", base + "workers: 0\n", 9, "workers", "use 1 to 64"},
		{"workers not a number", base + "workers: two\n", 9, "workers", "must be a whole number"},
		{"retry max below initial", base + "retry:\n  initial: 10m\n  max: 1m\n", 11, "retry.max", "shorter than retry.initial"},
		{"alert_after zero", base + "retry:\n  alert_after: 0\n", 10, "retry.alert_after", "1 or more"},
		{"bool not a bool", `watches:
  - name: pos
    path: {W}
    recursive: yes
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 4, "watches[0].recursive", "must be true or false"},
		{"ratio out of range", `watches:
  - name: pos
    path: {W}
    min_size_ratio: 1.5
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 4, "watches[0].min_size_ratio", "is 1.5"},
		{"bad include pattern", `watches:
  - name: pos
    path: {W}
    include: ["*.bak", "[x"]
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 4, "watches[0].include[1]", "not a valid pattern"},
		{"settle too short", `watches:
  - name: pos
    path: {W}
    settle: 0s
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 4, "watches[0].settle", "too short"},
		{"bad name", `watches:
  - name: my/pos
    path: {W}
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 2, "watches[0].name", "not a usable name"},
		{"list written as a value", `watches:
  - name: pos
    path: {W}
    destinations: usb
destinations:
  - {name: usb, type: local, path: {D}}
`, 4, "watches[0].destinations", "must be a list"},
		{"mapping written as a list", base + "retry: [1, 2]\n", 9, "retry", "must be a mapping"},
		{"value written as a list", base + "log_level: [info]\n", 9, "log_level", "must be a single value"},
		{"tab indentation", "watches:\n\t- name: pos\n", 2, "", "indent with spaces"},
		{"yaml syntax", base + "workers: [1, 2\n", 9, "", "is not valid YAML"},
		{"unknown alias", base + "log_level: *lvl\n", 9, "log_level", "no anchor defines"},
		{"second document", base + "---\nworkers: 3\n", 10, "", "second YAML document"},
		{"not a mapping", "- a\n- b\n", 1, "", "is not a YAML mapping"},
		// Backslashes in double quotes are YAML escapes: \P is U+2029, \N U+0085, \t and \n tab and newline.
		{"windows watch path in double quotes", `watches:
  - name: pos
    path: "C:\POS\Nightly"
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 3, "watches[0].path", "holds the character U+2029"},
		{"windows destination path in double quotes", base + `  - name: usb2
    type: local
    path: "E:\temp\new"
`, 11, "destinations[1].path", "single quotes ('C:\\POS\\Nightly') or with forward slashes"},
		{"state_dir in double quotes", base + `state_dir: "C:\new\temp"` + "\n", 9, "state_dir", "new line"},
		{"token_file in double quotes", base + `  - name: cloud
    type: gdrive
    client_id: id
    client_secret: s
    token_file: "C:\tokens\a.json"
`, 13, "destinations[1].token_file", "tab"},
		{"unknown escape in double quotes", `watches:
  - name: pos
    path: "C:\Backup\Shop"
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`, 3, "", "single quotes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "duplicate watch" {
				tc.yaml = `watches:
  - name: pos
    path: {W}
    destinations: [usb]
  - name: pos
    path: {W}
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`
				tc.line, tc.path, tc.want = 5, "watches[1].name", "which watches[0] on line 2 also uses"
			}
			c, errs := parseTest(t, f, tc.yaml)
			if c != nil || len(errs) == 0 {
				t.Fatalf("parse succeeded, want an error at line %d %s", tc.line, tc.path)
			}
			for _, e := range errs {
				if e.Line == tc.line && e.Path == tc.path && strings.Contains(e.Msg+"; "+e.Hint, tc.want) {
					prefix := "offsite.yaml:" + strconv.Itoa(tc.line) + ": " + tc.path
					if !strings.HasPrefix(e.Error(), prefix) {
						t.Errorf("Error() = %q, want prefix %q", e.Error(), prefix)
					}
					return
				}
			}
			t.Errorf("no error at line %d, path %q containing %q; got:\n%s", tc.line, tc.path, tc.want, list(errs))
		})
	}
}

func list(errs []*Error) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString("  " + e.Error() + "\n")
	}
	return b.String()
}

func TestBaseIsValid(t *testing.T) {
	if _, errs := parseTest(t, newFixture(t), base); errs != nil {
		t.Fatalf("base config fails:\n%s", list(errs))
	}
}

// TestAllProblemsAtOnce: the user sees every problem in one run, in file order.
func TestAllProblemsAtOnce(t *testing.T) {
	_, errs := parseTest(t, newFixture(t), `log_level: loud
workers: 0
watches:
  - name: pos
    path: {W}
    settle: soon
    destinations: [nowhere]
destinations:
  - name: usb
    type: tape
`)
	var got []string
	for _, e := range errs {
		got = append(got, e.Path)
	}
	want := []string{"log_level", "workers", "watches[0].settle", "watches[0].destinations[0]", "destinations[0].name", "destinations[0].type"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("problems = %v, want %v", got, want)
	}
	for i := 1; i < len(errs); i++ {
		if errs[i].Line < errs[i-1].Line {
			t.Errorf("problems not in line order: %v", list(errs))
		}
	}
}

// TestErrorsHideSecrets: no error quotes a secret, even when the secret is
// where the error is.
func TestErrorsHideSecrets(t *testing.T) {
	_, errs := parseTest(t, newFixture(t), base+`  - name: cloud
    type: gdrive
    client_id: id
    client_secret: hunter2${oops
notify:
  - url: "smtp://user:hunter3@mail example.com/"
  - url: "mail.example.com/?password=hunter4"
  - url: "ftp://user:hunter5@host/"
    on: [nope]
healthcheck:
  - "ftp://user:hunter6@host/"
  - hunter7
`)
	if len(errs) < 5 {
		t.Fatalf("want at least 5 problems, got:\n%s", list(errs))
	}
	for _, e := range errs {
		if strings.Contains(e.Error(), "hunter") {
			t.Errorf("error leaks a secret: %s", e)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "offsite.yaml"))
	if err == nil || !strings.Contains(err.Error(), "offsite init") || !strings.Contains(err.Error(), "-c FILE") {
		t.Fatalf("Load of a missing file: %v, want a hint naming offsite init and -c FILE", err)
	}
}

func TestValidateAfterChange(t *testing.T) {
	c, errs := parseTest(t, newFixture(t), base)
	if errs != nil {
		t.Fatal(list(errs))
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate of a parsed config: %v", err)
	}
	c.Workers = 0
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "offsite.yaml: workers is 0") {
		t.Fatalf("Validate = %v, want the workers problem", err)
	}
}

// An email destination: the URL and max_size are checked, keys of other
// types and keep are refused with the fix, and no error shows the password.
func TestEmailDestination(t *testing.T) {
	f := newFixture(t)
	const mailbox = `watches:
  - name: pos
    path: {W}
    destinations: [mailbox]
destinations:
  - name: mailbox
    type: email
`
	c, errs := parseTest(t, f, mailbox+"    url: smtp://u:hunter2@mail.example.com:587/?from=a@example.com&to=b@example.com,c@example.com\n")
	if errs != nil {
		t.Fatal(list(errs))
	}
	if d := c.Destination("mailbox"); d.MaxSize != 18*MiB || d.TokenFile != "" || d.Timeout != DefaultTimeout {
		t.Errorf("defaults: max_size %v, token_file %q, timeout %v", d.MaxSize, d.TokenFile, d.Timeout)
	}
	for _, tc := range []struct {
		extra, path, want string
	}{
		{"", "destinations[0].url", "is missing"},
		{"    url: smtp://u:hunter2@mail.example.com:587/?to=b@example.com\n", "destinations[0].url", "no sender"},
		{"    url: smtp://u:hunter2@mail.example.com:587/?from=a@example.com&to=nobody\n", "destinations[0].url", "not an e-mail address"},
		{"    url: https://u:hunter2@mail.example.com/\n", "destinations[0].url", "not smtp"},
		{"    url: smtp://u:hunter2@h/?from=a@example.com&to=b@example.com\n    max_size: 0\n", "destinations[0].max_size", "more than 0"},
		{"    url: smtp://u:hunter2@h/?from=a@example.com&to=b@example.com\n    max_size: 2GiB\n", "destinations[0].max_size", "use a cloud destination"},
		{"    url: smtp://u:hunter2@h/?from=a@example.com&to=b@example.com\n    folder: x\n", "destinations[0].folder", "does not apply to email"},
		{"    url: smtp://u:hunter2@h/?from=a@example.com&to=b@example.com\n    keep: {last: 3}\n", "destinations[0].keep", "cannot prune a mailbox"},
	} {
		_, errs := parseTest(t, f, mailbox+tc.extra)
		found := false
		for _, e := range errs {
			if strings.Contains(e.Error(), "hunter2") {
				t.Errorf("error shows the password: %s", e)
			}
			if e.Path == tc.path && strings.Contains(e.Msg+"; "+e.Hint, tc.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: no error at %s containing %q; got:\n%s", tc.extra, tc.path, tc.want, list(errs))
		}
	}
	_, errs = parseTest(t, f, base+"    max_size: 1MiB\n    url: smtp://x/\n")
	if len(errs) != 2 || !strings.Contains(errs[0].Msg, "applies only to email") {
		t.Errorf("url and max_size on a local destination:\n%s", list(errs))
	}
}
