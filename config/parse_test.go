package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	f := newFixture(t)
	c, errs := parseTest(t, f, base+`  - name: cloud
    type: onedrive
    client_id: id
schedules:
  - {name: weekly, cron: "@weekly", copy_latest: pos, destinations: [cloud]}
notify:
  - url: https://hooks.example.com/x
`)
	if errs != nil {
		t.Fatal(list(errs))
	}
	w, d := c.Watches[0], c.Destination("cloud")
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"log_level", c.LogLevel, DefaultLogLevel},
		{"workers", c.Workers, DefaultWorkers},
		{"report", c.Report, DefaultReport},
		{"bandwidth", c.Bandwidth, Rate(0)},
		{"state_dir", c.StateDir, DefaultStateDir()},
		{"retry.initial", c.Retry.Initial, Duration(2 * time.Second)},
		{"retry.max", c.Retry.Max, Duration(time.Hour)},
		{"retry.alert_after", c.Retry.AlertAfter, 5},
		{"settle", w.Settle, Duration(5 * time.Second)},
		{"rescan", w.Rescan, Duration(10 * time.Minute)},
		{"poll", w.Poll, Duration(0)},
		{"min_size_ratio", w.MinSizeRatio, 0.2},
		{"onedrive chunk_size", d.ChunkSize, 10 * MiB},
		{"onedrive tenant", d.Tenant, "common"},
		{"onedrive timeout", d.Timeout, Duration(time.Minute)},
		{"local timeout", c.Destination("usb").Timeout, Duration(0)},
		{"token_file", d.TokenFile, "cloud-token.json"},
		{"local chunk_size", c.Destination("usb").ChunkSize, Size(0)},
		{"notify on", c.Notify[0].On, []string{"failure", "recovered", "missed", "weekly"}},
		{"schedule folder", c.Schedules[0].Folder, "weekly"},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if got, want := d.TokenPath(c.StateDir), filepath.Join(c.StateDir, "cloud-token.json"); got != want {
		t.Errorf("TokenPath = %q, want %q", got, want)
	}
	for typ, want := range map[string]Size{TypeGDrive: 8 * MiB, TypeDropbox: 8 * MiB, TypeOneDrive: 10 * MiB} {
		if got := DefaultChunkSize(typ); got != want {
			t.Errorf("DefaultChunkSize(%s) = %v, want %v", typ, got, want)
		}
	}
}

// TestExplicitZeroKept: a key written as 0 is not replaced by its default.
func TestExplicitZeroKept(t *testing.T) {
	c, errs := parseTest(t, newFixture(t), `watches:
  - name: pos
    path: {W}
    min_size_ratio: 0
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`)
	if errs != nil {
		t.Fatal(list(errs))
	}
	if c.Watches[0].MinSizeRatio != 0 {
		t.Errorf("min_size_ratio = %v, want the written 0", c.Watches[0].MinSizeRatio)
	}
}

func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "offsite.yaml")
	c, err := parse([]byte(`state_dir: state
watches:
  - {name: pos, path: in, destinations: [usb, c]}
destinations:
  - {name: usb, type: local, path: ../out}
  - {name: c, type: gdrive, folder: /Backups/Shop1/, token_file: /abs/tok.json, endpoint: "http://127.0.0.1:1"}
`), file, lookupTest)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, got, want string }{
		{"state_dir", c.StateDir, filepath.Join(dir, "state")},
		{"watch path", c.Watches[0].Path, filepath.Join(dir, "in")},
		{"local path", c.Destinations[0].Path, filepath.Join(filepath.Dir(dir), "out")},
		{"folder", c.Destinations[1].Folder, "Backups/Shop1"},
		{"absolute token file", c.Destinations[1].TokenPath(c.StateDir), filepath.Clean("/abs/tok.json")},
		{"File", c.File, file},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestEnvExpansion(t *testing.T) {
	f := newFixture(t)
	testEnv["YAMLISH"] = "x: [1, {"
	t.Cleanup(func() { delete(testEnv, "YAMLISH") })
	c, errs := parseTest(t, f, strings.Replace(base, "[usb]", "[usb, cloud]", 1)+`  - name: cloud
    type: gdrive
    client_id: ${SET}-$${SET}-a$b-$
    client_secret: ${YAMLISH}
    folder: "${EMPTY}Backups"
`)
	if errs != nil {
		t.Fatal(list(errs))
	}
	d := c.Destination("cloud")
	if got, want := d.ClientID, "value-${SET}-a$b-$"; got != want {
		t.Errorf("client_id = %q, want %q", got, want)
	}
	if got, want := d.ClientSecret, "x: [1, {"; got != want {
		t.Errorf("client_secret = %q, want the variable verbatim %q", got, want)
	}
	if got, want := d.Folder, "Backups"; got != want {
		t.Errorf("folder = %q, want %q", got, want)
	}
}

func TestExpand(t *testing.T) {
	env := func(k string) (string, bool) { v, ok := map[string]string{"A": "1", "B": "two"}[k]; return v, ok }
	for _, tc := range []struct {
		in, want string
		unset    []string
		err      bool
	}{
		{"plain", "plain", nil, false},
		{"${A}", "1", nil, false},
		{"x${A}y${B}z", "x1ytwoz", nil, false},
		{"$$", "$", nil, false},
		{"$${A}", "${A}", nil, false},
		{"pa$word$", "pa$word$", nil, false},
		{"${C}${A}${D}", "1", []string{"C", "D"}, false},
		{"${", "", nil, true},
		{"${}", "", nil, true},
		{"${A B}", "", nil, true},
		{"${9}", "", nil, true},
	} {
		got, unset, err := expand(tc.in, env)
		if (err != nil) != tc.err || (!tc.err && (got != tc.want || !reflect.DeepEqual(unset, tc.unset))) {
			t.Errorf("expand(%q) = %q, %v, %v; want %q, %v, error %v", tc.in, got, unset, err, tc.want, tc.unset, tc.err)
		}
	}
}

// TestAnchors: x- keys hold anchors; merged keys are overridden by the
// entry's own.
func TestAnchors(t *testing.T) {
	c, errs := parseTest(t, newFixture(t), `x-cloud: &cloud
  type: dropbox
  folder: Backups/Shop1
  endpoint: http://127.0.0.1:1
  chunk_size: 4MiB
x-dests: &dests [a, b]
watches:
  - name: pos
    path: {W}
    destinations: *dests
destinations:
  - <<: *cloud
    name: a
  - <<: *cloud
    name: b
    chunk_size: 12MiB
`)
	if errs != nil {
		t.Fatal(list(errs))
	}
	a, b := c.Destination("a"), c.Destination("b")
	if a.Type != TypeDropbox || a.Folder != "Backups/Shop1" || a.ChunkSize != 4*MiB {
		t.Errorf("a = %+v, want the merged values", a)
	}
	if b.ChunkSize != 12*MiB {
		t.Errorf("b.chunk_size = %v, want its own 12MiB over the merged 4MiB", b.ChunkSize)
	}
	// An error inside merged keys points at the anchor's line.
	_, errs = parseTest(t, newFixture(t), `x-base: &base
  settle: soon
watches:
  - <<: *base
    name: pos
    path: {W}
    destinations: [usb]
destinations:
  - {name: usb, type: local, path: {D}}
`)
	if len(errs) != 1 || errs[0].Line != 2 || errs[0].Path != "watches[0].settle" {
		t.Errorf("errors = %s, want one at line 2 watches[0].settle", list(errs))
	}
}

// TestEmptyFile: a config with nothing to back up is refused, naming the
// key and the fix; it used to pass and leave `run` watching nothing.
func TestEmptyFile(t *testing.T) {
	for _, data := range []string{"", "# nothing yet\n", "workers: 2\n"} {
		_, errs := parseTest(t, newFixture(t), data)
		if len(errs) != 1 || errs[0].Path != "watches" || !strings.Contains(errs[0].Error(), "nothing to back up") ||
			!strings.Contains(errs[0].Error(), "offsite init") {
			t.Errorf("%q: errors = %s, want one on watches naming the fix", data, list(errs))
		}
	}
}

func TestLookups(t *testing.T) {
	c, errs := parseTest(t, newFixture(t), base)
	if errs != nil {
		t.Fatal(list(errs))
	}
	if c.Watch("pos") == nil || c.Watch("nope") != nil || c.Destination("usb") == nil || c.Destination("nope") != nil {
		t.Error("Watch/Destination lookups are wrong")
	}
	c.Destination("usb").Path = "/changed"
	if c.Destinations[0].Path != "/changed" {
		t.Error("Destination does not return a pointer into the config")
	}
}
