package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/local"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/spool"
)

// encrypted turns the fixture's destination into one that compresses and
// encrypts to a new key, which it returns.
func (f *fixture) encrypted(t *testing.T, form string) (*age.X25519Identity, string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	spec := codec.Spec{Recipients: []string{id.Recipient().String()}, Compress: strings.Contains(form, ".zst")}
	f.d.o.Destinations[0].Codec = spec
	dir := filepath.Join(filepath.Dir(f.src), "spool")
	f.d.o.Spool = spool.New(dir)
	f.store.SetForm("usb", spec.Suffix())
	return id, dir
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestEncryptedUploadSendsTheStoredForm(t *testing.T) {
	f := newFixture(t, func(int) error { return nil })
	id, dir := f.encrypted(t, ".zst.age")
	data := bytes.Repeat([]byte("2026-11-23;kassa 1;19.99\n"), 40000)
	f.add(t, "day.bak", data)
	if err := f.d.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	stored, err := os.ReadFile(filepath.Join(f.dst, "pos", "day.bak.zst.age"))
	if err != nil {
		t.Fatalf("stored name: %v", err)
	}
	if bytes.Contains(stored, data[:100]) {
		t.Fatal("plaintext reached the destination")
	}
	f.checkStored(t, id, data, stored)
	if left := spoolFiles(t, dir); len(left) != 0 {
		t.Fatalf("spool not emptied after the upload: %v", left)
	}
}

// age output differs on every run: an upload tried again must send the
// bytes it started with, not a new encryption.
func TestRetriedUploadResendsTheSameSpooledBytes(t *testing.T) {
	f := newFixture(t, func(n int) error {
		if n == 1 {
			return providers.Classify(providers.Temporary, errors.New("connection reset"))
		}
		return nil
	})
	_, dir := f.encrypted(t, ".age")
	f.add(t, "day.bak", []byte("the shop's day"))
	ctx := context.Background()
	f.d.Drain(ctx)
	left := spoolFiles(t, dir)
	if len(left) != 1 {
		t.Fatalf("after a failed upload the spool holds %v, want its one copy", left)
	}
	first, _ := os.ReadFile(filepath.Join(dir, left[0]))
	f.advance(f.d.o.Retry.Max)
	if err := f.d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	stored, _ := os.ReadFile(filepath.Join(f.dst, "pos", "day.bak.age"))
	if !bytes.Equal(stored, first) {
		t.Fatal("the retry sent a new encryption instead of the spooled copy")
	}
}

func TestSpoolOnATooSmallDiskPausesWithTheFix(t *testing.T) {
	f := newFixture(t, func(int) error { return nil })
	f.encrypted(t, ".age")
	f.d.o.Spool.WithFreeSpace(func(string) (int64, error) { return 1 << 20, nil })
	f.add(t, "day.bak", []byte("x"))
	if err := f.d.Drain(context.Background()); err == nil {
		t.Fatal("drain succeeded without room for the encrypted copy")
	}
	if st := f.states(t); st[queue.Pending] != 1 {
		t.Fatalf("states %v, want the job kept", st)
	}
	f.events.mu.Lock()
	defer f.events.mu.Unlock()
	if len(f.events.list) != 1 || f.events.list[0].Kind != notify.KindFailure {
		t.Fatalf("events %v, want one failure alert", f.events.list)
	}
	msg := f.events.list[0].Subject + " " + f.events.list[0].Text
	if !strings.Contains(msg, "state_dir") || !strings.Contains(msg, "free") {
		t.Fatalf("alert does not name the fix: %s", msg)
	}
}

func TestRewrittenSourceDropsItsSpool(t *testing.T) {
	f := newFixture(t, func(int) error { return nil })
	_, dir := f.encrypted(t, ".zst.age")
	f.add(t, "day.bak", []byte("first"))
	// Rewritten (same size, new content) after it was queued.
	if err := os.WriteFile(filepath.Join(f.src, "day.bak"), []byte("secnd"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.d.Drain(context.Background())
	if st := f.states(t); st[queue.Superseded] != 1 {
		t.Fatalf("states %v, want superseded", st)
	}
	if left := spoolFiles(t, dir); len(left) != 0 {
		t.Fatalf("spool keeps %v for a superseded job", left)
	}
}

// A job queued in plaintext before encrypt was added and brought back
// later (retry of a given-up upload, a schedule's next run) is switched to
// the encrypted form by the worker, never sent as it is.
func TestPlainJobBroughtBackAfterEncryptIsSentEncrypted(t *testing.T) {
	f := newFixture(t, func(int) error { return nil })
	ctx := context.Background()
	data := []byte("2026-11-23;kassa 1;19.99\n")
	f.add(t, "day.bak", data) // queued with no stored form
	jobs, _ := f.store.Jobs(ctx, queue.Filter{})
	if len(jobs) != 1 || jobs[0].Form != "" {
		t.Fatalf("jobs %+v", jobs)
	}
	id, _ := f.encrypted(t, ".age")
	if err := f.d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.dst, "pos", "day.bak")); err == nil {
		t.Fatal("sent in plaintext")
	}
	stored, err := os.ReadFile(filepath.Join(f.dst, "pos", "day.bak.age"))
	if err != nil {
		t.Fatalf("no encrypted copy: %v", err)
	}
	var out bytes.Buffer
	if _, err := codec.Decode(&out, bytes.NewReader(stored), "day.bak.age", codec.Keys{Identities: []age.Identity{id}}, codec.Sum{}); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("decoded %q, %v", out.Bytes(), err)
	}
	jobs, _ = f.store.Jobs(ctx, queue.Filter{})
	if j := jobs[0]; j.State != queue.Done || j.Form != ".age" || j.RemotePath != "pos/day.bak.age" || j.Attempts != 0 {
		t.Fatalf("job %+v", j)
	}
}

// streamingLocal is the local adapter seen as a destination that takes
// streams; during a stream, after its first bytes, it calls during.
type streamingLocal struct {
	*local.Client
	during func()
}

func (s *streamingLocal) PutStream(ctx context.Context, p string, r io.Reader, o providers.PutOptions) (providers.RemoteFile, error) {
	first := make([]byte, 1)
	if _, err := io.ReadFull(r, first); err != nil {
		return providers.RemoteFile{}, err
	}
	if s.during != nil {
		s.during()
	}
	return s.Client.PutStream(ctx, p, io.MultiReader(bytes.NewReader(first), r), o)
}

// streamed makes the fixture's destination one that takes streams, as the
// app's stack over a local folder is.
func (f *fixture) streamed(during func()) {
	f.d.o.Destinations[0].Provider = retry.New(&streamingLocal{Client: local.New(local.Config{Root: f.dst}), during: during},
		retry.Policy{Initial: time.Millisecond, Attempts: 1}, nil)
}

func TestStreamedUploadWritesNoSpoolCopy(t *testing.T) {
	f := newFixture(t, func(int) error { return nil })
	id, dir := f.encrypted(t, ".zst.age")
	// A spool that is looked at would be the wrong path.
	f.d.o.Spool.WithFreeSpace(func(string) (int64, error) {
		t.Error("the spool's free space was checked for a streamed upload")
		return 1 << 40, nil
	})
	f.streamed(func() {
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("spool folder while streaming: %v, want none", spoolFiles(t, dir))
		}
	})
	data := bytes.Repeat([]byte("2026-11-23;kassa 1;19.99\n"), 40000)
	f.add(t, "day.bak", data)
	if err := f.d.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	stored, err := os.ReadFile(filepath.Join(f.dst, "pos", "day.bak.zst.age"))
	if err != nil {
		t.Fatalf("stored name: %v", err)
	}
	f.checkStored(t, id, data, stored)
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("spool folder after the upload: %v, want none", spoolFiles(t, dir))
	}
}

// A backup rewritten in place while it is encoded (same size, and after
// the checks of its size and time before the upload) must not land as
// this version: the stream is cut before its end.
func TestSourceChangedWhileStreamingLeavesNoCopy(t *testing.T) {
	for _, form := range []string{".zst.age", ".age"} {
		t.Run(form, func(t *testing.T) {
			f := newFixture(t, func(int) error { return nil })
			_, dir := f.encrypted(t, form)
			data := make([]byte, 16<<20)
			rand.NewChaCha8([32]byte{1}).Read(data)
			src := filepath.Join(f.src, "day.bak")
			changed := false
			f.streamed(func() {
				// Far beyond what the encoder has read yet.
				w, err := os.OpenFile(src, os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				_, err = w.WriteAt([]byte("rewritten"), int64(len(data)-100))
				w.Close()
				changed = err == nil
			})
			f.add(t, "day.bak", data)
			f.d.Drain(context.Background())
			if !changed {
				t.Fatal("the source was not changed during the stream")
			}
			if st := f.states(t); st[queue.Superseded] != 1 || st[queue.Done] != 0 {
				t.Fatalf("states %v, want superseded", st)
			}
			if left, _ := os.ReadDir(filepath.Join(f.dst, "pos")); len(left) != 0 {
				t.Fatalf("destination holds %v for a version that changed while it was read", left)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("spool folder: %v, want none", spoolFiles(t, dir))
			}
		})
	}
}

// The queue's own rule still holds before the stream starts: a version
// rewritten after it was queued is superseded, and nothing is written.
func TestRewrittenSourceIsNotStreamed(t *testing.T) {
	f := newFixture(t, func(int) error { return nil })
	f.encrypted(t, ".zst.age")
	streamed := false
	f.streamed(func() { streamed = true })
	f.add(t, "day.bak", []byte("first"))
	if err := os.WriteFile(filepath.Join(f.src, "day.bak"), []byte("secnd"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.d.Drain(context.Background())
	if st := f.states(t); st[queue.Superseded] != 1 {
		t.Fatalf("states %v, want superseded", st)
	}
	if left, _ := os.ReadDir(filepath.Join(f.dst, "pos")); len(left) != 0 {
		t.Fatalf("destination holds %v", left)
	}
	if streamed {
		t.Fatal("a superseded version was streamed")
	}
}

// checkStored: the stored copy decodes with id to data, and the job
// records its size, hash and recipients.
func (f *fixture) checkStored(t *testing.T, id *age.X25519Identity, data, stored []byte) {
	t.Helper()
	var out bytes.Buffer
	if _, err := codec.Decode(&out, bytes.NewReader(stored), "day.bak.zst.age", codec.Keys{Identities: []age.Identity{id}}, codec.Sum{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("restored bytes differ")
	}
	jobs, _ := f.store.Jobs(context.Background(), queue.Filter{})
	j := jobs[0]
	if j.State != queue.Done || j.StoredSHA256 != sha(stored) || j.StoredSize != int64(len(stored)) || j.RemoteHash != sha(stored) {
		t.Fatalf("job %+v: want the stored form's size and hash recorded", j)
	}
	if len(j.Recipients) != 1 || j.Recipients[0] != id.Recipient().String() {
		t.Fatalf("recipients %q", j.Recipients)
	}
}
