package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers/dropbox/fakedropbox"
	"github.com/offsite-backup/offsite/providers/gdrive/fakedrive"
	"github.com/offsite-backup/offsite/providers/onedrive/fakegraph"
)

// storedEnv is an App whose watch goes to every destination type, each in
// every stored form, the clouds on their emulators.
type storedEnv struct {
	a        *App
	dir      string
	watch    string
	identity string // key file of the recipients' first key
	other    string // a key file that opens nothing
	cloud    *fakecloud.Cloud
	dests    []string
}

type storedForm struct{ name, yaml string }

var forms = []storedForm{
	{"plain", ""},
	{"zstd", "    compress: zstd\n"},
	{"age", "    encrypt:\n      recipients: [%[1]s, %[2]s]\n"},
	{"pass", "    encrypt:\n      passphrase: a shop's long passphrase\n"},
	{"zstd-age", "    compress: zstd\n    encrypt:\n      recipients: [%[1]s, %[2]s]\n"},
}

func newStoredEnv(t *testing.T, types ...string) *storedEnv {
	t.Helper()
	return newStoredEnvOf(t, types, forms)
}

func newStoredEnvOf(t *testing.T, types []string, forms []storedForm) *storedEnv {
	t.Helper()
	dir := t.TempDir()
	e := &storedEnv{dir: dir, watch: filepath.Join(dir, "backups"), cloud: fakecloud.New(0)}
	state := filepath.Join(dir, "state")
	os.MkdirAll(e.watch, 0o755)
	os.MkdirAll(state, 0o700)
	mux := http.NewServeMux()
	mux.Handle("/_fakecloud/", e.cloud.ControlHandler())
	drv, err := fakedrive.New(e.cloud, filepath.Join(dir, "drive"))
	if err != nil {
		t.Fatal(err)
	}
	drv.Register(mux)
	dbx, err := fakedropbox.New(e.cloud, filepath.Join(dir, "dropbox"))
	if err != nil {
		t.Fatal(err)
	}
	dbx.Register(mux)
	gr, err := fakegraph.New(e.cloud, filepath.Join(dir, "graph"))
	if err != nil {
		t.Fatal(err)
	}
	gr.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	shop, _ := age.GenerateX25519Identity()
	tech, _ := age.GenerateX25519Identity()
	stranger, _ := age.GenerateX25519Identity()
	e.identity, e.other = filepath.Join(dir, "shop-key.txt"), filepath.Join(dir, "stranger-key.txt")
	os.WriteFile(e.identity, []byte(shop.String()+"\n"), 0o600)
	os.WriteFile(e.other, []byte(stranger.String()+"\n"), 0o600)

	var dests strings.Builder
	for _, typ := range types {
		for _, f := range forms {
			name := typ + "-" + f.name
			e.dests = append(e.dests, name)
			fmt.Fprintf(&dests, "  - name: %s\n    type: %s\n", name, typ)
			if typ == "local" {
				fmt.Fprintf(&dests, "    path: %s\n", filepath.Join(dir, name))
				os.MkdirAll(filepath.Join(dir, name), 0o755)
			} else {
				fmt.Fprintf(&dests, "    folder: Backups/%s\n    endpoint: %s\n", name, srv.URL)
				os.WriteFile(filepath.Join(state, name+"-token.json"), []byte(`{"refresh_token":"r","expiry":"2001-01-01T00:00:00Z"}`), 0o600)
			}
			if strings.Contains(f.yaml, "%") {
				fmt.Fprintf(&dests, f.yaml, shop.Recipient(), tech.Recipient())
			} else {
				dests.WriteString(f.yaml)
			}
		}
	}
	yaml := fmt.Sprintf("state_dir: %s\nwatches:\n  - name: pos\n    path: %s\n    settle: 100ms\n    destinations: [%s]\ndestinations:\n%s",
		state, e.watch, strings.Join(e.dests, ", "), dests.String())
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "offsite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e.a, err = OpenConfig(cfg, slog.New(slog.DiscardHandler), "once")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.a.Close() })
	e.a.workFactor = 10
	return e
}

// backup writes a compressible file with some noise, like a database.
func backupBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, "INSERT INTO sales VALUES(%d,'kassa %d',%d.%02d);\n", r.IntN(1e6), r.IntN(4), r.IntN(200), r.IntN(100))
	}
	return b.Bytes()[:n]
}

func TestStoredFormsRoundTripEveryDestinationType(t *testing.T) {
	types := []string{"local", "gdrive", "dropbox", "onedrive"}
	if testing.Short() {
		types = types[:1]
	}
	e := newStoredEnv(t, types...)
	data := backupBytes(3<<20+1234, 1)
	if err := os.WriteFile(filepath.Join(e.watch, "day.bak"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	for _, dest := range e.dests {
		t.Run(dest, func(t *testing.T) {
			remote, err := e.a.Latest(ctx, dest, "pos")
			if err != nil {
				t.Fatal(err)
			}
			suffix := e.a.Cfg.Destination(dest).Codec().Suffix()
			if remote != "pos/day.bak"+suffix {
				t.Fatalf("stored as %s, want pos/day.bak%s", remote, suffix)
			}
			// The plain name finds the stored one.
			if newest, _, err := e.a.Newest(ctx, dest, "pos/day.bak"); err != nil || newest != remote {
				t.Errorf("Newest(pos/day.bak) = %q, %v; want %s", newest, err, remote)
			}
			out := t.TempDir() // a folder: the file keeps its original name
			path, r, err := e.a.RestoreFile(ctx, dest, remote, out, []string{e.identity})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if filepath.Base(path) != "day.bak" || !bytes.Equal(got, data) {
				t.Fatalf("restored %s (%d bytes), want day.bak equal to the original", path, len(got))
			}
			if strings.Contains(dest, "zstd") && r.Stored >= int64(len(data))/2 {
				t.Errorf("compressed copy is %d bytes of %d", r.Stored, len(data))
			}
		})
	}
}

func TestRestoreRefusesWrongKeysAndDamage(t *testing.T) {
	e := newStoredEnv(t, "local")
	data := backupBytes(1<<20, 2)
	os.WriteFile(filepath.Join(e.watch, "day.bak"), data, 0o644)
	ctx := context.Background()
	if err := e.a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	restoreErr := func(dest string, ids ...string) string {
		t.Helper()
		remote, err := e.a.Latest(ctx, dest, "pos")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = e.a.RestoreFile(ctx, dest, remote, filepath.Join(out, "day.bak"), ids)
		if err == nil {
			t.Fatalf("%s: restore succeeded", dest)
		}
		if left, _ := os.ReadDir(out); len(left) != 0 {
			t.Fatalf("%s: a failed restore left %v", dest, left)
		}
		return err.Error()
	}
	if msg := restoreErr("local-zstd-age", e.other); !strings.Contains(msg, "none of the given keys") || !strings.Contains(msg, "age1") {
		t.Errorf("wrong key: %s", msg)
	}
	if msg := restoreErr("local-age"); !strings.Contains(msg, "--identity") {
		t.Errorf("no key: %s", msg)
	}
	// One flipped bit at the destination, in every stored form.
	for _, f := range forms {
		dest := "local-" + f.name
		p := filepath.Join(e.dir, dest, "pos", "day.bak"+e.a.Cfg.Destination(dest).Codec().Suffix())
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/3] ^= 0x04
		os.WriteFile(p, b, 0o644)
		msg := restoreErr(dest, e.identity)
		if !strings.Contains(msg, "day.bak") || !strings.Contains(msg, "not the original") && !strings.Contains(msg, "hash") {
			t.Errorf("%s with a flipped bit: %s", dest, msg)
		}
	}
}

func TestPushSendsTheStoredForm(t *testing.T) {
	e := newStoredEnvOf(t, []string{"local"}, forms[4:5]) // zstd-age
	src := filepath.Join(e.dir, "extra.bak")
	data := backupBytes(300<<10, 9)
	os.WriteFile(src, data, 0o644)
	ctx := context.Background()
	rf, err := e.a.Push(ctx, src, "local-zstd-age", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if rf.Path != "extra.bak.zst.age" {
		t.Fatalf("pushed as %s, want extra.bak.zst.age", rf.Path)
	}
	out := t.TempDir()
	path, _, err := e.a.RestoreFile(ctx, "local-zstd-age", rf.Path, out, []string{e.identity})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, data) || filepath.Base(path) != "extra.bak" {
		t.Fatalf("restored %s: %d bytes", path, len(got))
	}
	if left, _ := os.ReadDir(filepath.Join(e.dir, "state", "spool")); len(left) != 0 {
		t.Fatalf("push left %d spool files", len(left))
	}
}

// Uploads queued before encrypt: was added leave encrypted all the same.
func TestAddingEncryptionCoversWaitingUploads(t *testing.T) {
	e := newStoredEnvOf(t, []string{"local"}, forms[:1]) // plain
	ctx := context.Background()
	os.WriteFile(filepath.Join(e.dir, "local-plain", "pos"), nil, 0o644) // a file where the folder goes: uploads fail
	data := backupBytes(100<<10, 10)
	os.WriteFile(filepath.Join(e.watch, "day.bak"), data, 0o644)
	if err := e.a.Once(ctx); err == nil {
		t.Fatal("the upload did not fail")
	}
	os.Remove(filepath.Join(e.dir, "local-plain", "pos"))
	key, _ := os.ReadFile(e.identity)
	id, _ := age.ParseX25519Identity(strings.TrimSpace(string(key)))
	cfg := e.a.Cfg
	cfg.Destinations[0].Encrypt.Recipients = []string{id.Recipient().String()}
	e.a.Close()
	a, err := OpenConfig(cfg, e.a.Log, "once")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Retry(ctx, "local-plain", io.Discard); err != nil { // due now, whatever the backoff
		t.Fatal(err)
	}
	if err := a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "local-plain", "pos", "day.bak")); err == nil {
		t.Fatal("the upload queued before encrypt was added went out in plaintext")
	}
	path, _, err := a.RestoreFile(ctx, "local-plain", "pos/day.bak.age", t.TempDir(), []string{e.identity})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
		t.Fatal("restored bytes differ")
	}
}
