package daemon

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/watcher"
)

// seen records every byte any Put was given.
type seen struct {
	providers.Provider
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *seen) Put(ctx context.Context, p string, r io.ReadSeeker, size int64, o providers.PutOptions) (providers.RemoteFile, error) {
	b, _ := io.ReadAll(r)
	s.mu.Lock()
	s.buf.Write(b)
	s.mu.Unlock()
	return s.Provider.Put(ctx, p, bytes.NewReader(b), size, o)
}

// swapFixture is a daemon whose destination records what it was sent, a
// secret outside the backup folder, and a decoy backup of the secret's
// size and mtime: what a user who may write the backup folder prepares.
func swapFixture(t *testing.T) (f *fixture, rec *seen, secret []byte, decoy string) {
	f = newFixture(t, func(int) error { return nil })
	rec = &seen{Provider: f.prov}
	f.d.dests["usb"].Provider = retry.New(rec, retry.Policy{Initial: time.Millisecond, Attempts: 1}, nil)
	secret = []byte("root:$6$secret-hash:19000:0:99999:7:::\n")
	secretPath := filepath.Join(t.TempDir(), "shadow")
	os.WriteFile(secretPath, secret, 0o600)
	decoy = filepath.Join(f.src, "day.bak")
	os.WriteFile(decoy, bytes.Repeat([]byte("x"), len(secret)), 0o644)
	mt := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(secretPath, mt, mt)
	os.Chtimes(decoy, mt, mt)
	t.Cleanup(func() {
		if bytes.Contains(rec.buf.Bytes(), secret) {
			t.Error("the secret was sent to the destination")
		}
		filepath.Walk(f.dst, func(p string, fi os.FileInfo, err error) error {
			if b, _ := os.ReadFile(p); err == nil && !fi.IsDir() && bytes.Contains(b, secret) {
				t.Errorf("the secret is at the destination: %s", p)
			}
			return nil
		})
	})
	if err := os.Symlink(secretPath, filepath.Join(t.TempDir(), "probe")); err != nil {
		t.Skip("cannot create symlinks here:", err)
	}
	return f, rec, secret, secretPath
}

// ready is the watcher's report of decoy: its stat and identity.
func ready(t *testing.T, decoy string) watcher.File {
	fh, err := os.Open(decoy)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	id, err := watcher.HandleID(fh)
	if err != nil {
		t.Fatal(err)
	}
	return watcher.File{Watch: "pos", Rel: "day.bak", Abs: decoy, Size: st.Size(), ModTime: st.ModTime(), ID: id}
}

func swapForLink(t *testing.T, path, target string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// The gate passed the decoy; it is swapped for a link to the secret before
// intake hashes it.
func TestLinkSwappedInBeforeHashingIsNotRead(t *testing.T) {
	f, _, _, secretPath := swapFixture(t)
	decoy := filepath.Join(f.src, "day.bak")
	rf := ready(t, decoy)
	swapForLink(t, decoy, secretPath)

	if err := f.d.Ingest(context.Background(), []watcher.File{rf}); err != nil {
		t.Fatal(err)
	}
	f.d.Drain(context.Background())
	if d, _ := f.store.Depth(context.Background()); d != 0 || len(f.states(t)) != 0 {
		t.Fatalf("a link was queued: states %v", f.states(t))
	}
	f.events.mu.Lock()
	if len(f.events.list) != 1 || f.events.list[0].Kind != notify.KindFailure || !strings.Contains(f.events.list[0].Subject, "replaced by a link") {
		t.Fatalf("events %+v, want one alert saying the backup was replaced by a link", f.events.list)
	}
	f.events.mu.Unlock()
	// The alert is not the only trace: the refusal is recorded for status,
	// and lasts until the file is queued.
	rs, err := f.store.Refusals(context.Background())
	if err != nil || len(rs) != 1 || rs[0].Rel != "day.bak" || rs[0].Reason != "linked" {
		t.Fatalf("refusals %+v, %v; want day.bak refused as linked", rs, err)
	}
	os.Remove(decoy)
	os.WriteFile(decoy, []byte("the real backup, written again"), 0o644)
	if err := f.d.Ingest(context.Background(), []watcher.File{ready(t, decoy)}); err != nil {
		t.Fatal(err)
	}
	if rs, err := f.store.Refusals(context.Background()); err != nil || len(rs) != 0 {
		t.Fatalf("refusals after the backup was queued: %+v, %v", rs, err)
	}
}

// The decoy was queued; it is swapped for a link to the secret before the
// upload reads it.
func TestLinkSwappedInBeforeUploadFailsTheJob(t *testing.T) {
	f, _, _, secretPath := swapFixture(t)
	decoy := filepath.Join(f.src, "day.bak")
	if err := f.d.Ingest(context.Background(), []watcher.File{ready(t, decoy)}); err != nil {
		t.Fatal(err)
	}
	swapForLink(t, decoy, secretPath)
	f.d.Drain(context.Background())
	if st := f.states(t); st[queue.Dead] != 1 {
		t.Fatalf("states %v, want the job dead", st)
	}
	jobs, _ := f.store.Jobs(context.Background(), queue.Filter{States: []queue.State{queue.Dead}})
	if len(jobs) != 1 || !strings.Contains(jobs[0].LastError, "the file was replaced by a link") {
		t.Fatalf("dead job %+v, want its error to say the file was replaced by a link", jobs)
	}
	if k := f.events.kinds(); len(k) != 1 || k[0] != notify.KindFailure {
		t.Fatalf("events %v, want one failure alert", k)
	}
}

// A folder above the file swapped for a link to another folder holding a
// file of the same name is not followed either.
func TestFolderSwappedForLinkIsNotFollowed(t *testing.T) {
	f, _, secret, secretPath := swapFixture(t)
	f.d.watches["pos"] = Watch{Name: "pos", Path: f.src, Destinations: []string{"usb"}}
	sub := filepath.Join(f.src, "sub")
	os.Mkdir(sub, 0o755)
	decoy := filepath.Join(sub, "shadow")
	os.WriteFile(decoy, bytes.Repeat([]byte("x"), len(secret)), 0o644)
	st, _ := os.Stat(secretPath)
	os.Chtimes(decoy, st.ModTime(), st.ModTime())
	rf := ready(t, decoy)
	rf.Rel = "sub/shadow"
	if err := f.d.Ingest(context.Background(), []watcher.File{rf}); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(sub)
	if err := os.Symlink(filepath.Dir(secretPath), sub); err != nil {
		t.Fatal(err)
	}
	f.d.Drain(context.Background())
	if st := f.states(t); st[queue.Dead] != 1 {
		t.Fatalf("states %v, want the job dead", st)
	}
}

type rechecks struct{ got []string }

func (r *rechecks) Recheck(watch, rel string) { r.got = append(r.got, watch+"/"+rel) }

// Another file renamed over the one the gate passed, with the same size and
// mtime (a hard link to a secret would look like this), is not the file the
// watcher saw: it goes back to the gate instead of being hashed.
func TestOtherFileUnderTheNameGoesBackToTheGate(t *testing.T) {
	f, _, secret, _ := swapFixture(t)
	decoy := filepath.Join(f.src, "day.bak")
	rf := ready(t, decoy)
	other := filepath.Join(f.src, "other")
	os.WriteFile(other, secret, 0o644)
	os.Chtimes(other, rf.ModTime, rf.ModTime)
	if err := os.Rename(other, decoy); err != nil {
		t.Fatal(err)
	}
	r := &rechecks{}
	f.d.SetGate(r)
	f.d.Ingest(context.Background(), []watcher.File{rf})
	if len(f.states(t)) != 0 {
		t.Fatalf("a file the watcher did not pass was queued: %v", f.states(t))
	}
	if len(r.got) != 1 || r.got[0] != "pos/day.bak" {
		t.Fatalf("rechecks %v, want the file sent back to the gate", r.got)
	}
}
