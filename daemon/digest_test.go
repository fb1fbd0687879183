package daemon

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/retry"
	"github.com/offsite-backup/offsite/queue"
	"github.com/offsite-backup/offsite/watcher"
)

// md5Store is a service whose hash is MD5 (as Drive's): it keeps what it
// is sent and reports the MD5 of it.
type md5Store struct {
	providers.Provider
	mu    sync.Mutex
	files map[string][]byte
}

func (m *md5Store) HashKind() providers.HashKind { return providers.MD5 }

func (m *md5Store) Put(_ context.Context, path string, r io.ReadSeeker, size int64, _ providers.PutOptions) (providers.RemoteFile, error) {
	var buf bytes.Buffer
	h := md5.New()
	if _, err := io.Copy(io.MultiWriter(&buf, h), r); err != nil {
		return providers.RemoteFile{}, err
	}
	m.mu.Lock()
	m.files[path] = buf.Bytes()
	m.mu.Unlock()
	return providers.RemoteFile{Path: path, Size: int64(buf.Len()), Hash: hex.EncodeToString(h.Sum(nil))}, nil
}

func (m *md5Store) Delete(_ context.Context, path string) error {
	m.mu.Lock()
	delete(m.files, path)
	m.mu.Unlock()
	return nil
}

func md5Fixture(t *testing.T) (*fixture, *md5Store) {
	f := newFixture(t, func(int) error { return nil })
	m := &md5Store{Provider: f.prov, files: map[string][]byte{}}
	f.d.dests["usb"].Provider = retry.New(m, retry.Policy{Initial: time.Millisecond, Attempts: 1}, nil)
	return f, m
}

// readBytes is what this process has read through read(2) so far.
func readBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skip("no /proc/self/io here:", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "rchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Skip("no rchar in /proc/self/io")
	return 0
}

// TestUploadReadsTheFileOnceAfterIntake: the service's hash is made in the
// intake pass and kept with the version, so the daemon reads a backup
// twice in all (intake, upload), not three times.
func TestUploadReadsTheFileOnceAfterIntake(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts reads through /proc/self/io")
	}
	f, m := md5Fixture(t)
	const size = 24 << 20
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	before := readBytes(t)
	f.add(t, "day.bak", data)
	f.d.Drain(context.Background())
	read := readBytes(t) - before
	if got := m.files["pos/day.bak"]; !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes, want the %d of the file", len(got), len(data))
	}
	if read < 2*size || read > 2*size+size/2 {
		t.Fatalf("read %d bytes (%.2f× the file) to queue and upload it; want 2× (intake, upload)", read, float64(read)/size)
	}
	jobs, _ := f.store.Jobs(context.Background(), queue.Filter{States: []queue.State{queue.Done}})
	if len(jobs) != 1 || jobs[0].Version.Digests["md5"].Sum == "" {
		t.Fatalf("done jobs %+v, want one whose version keeps its MD5", jobs)
	}
}

// TestRewrittenInPlaceAfterIntakeIsSuperseded: a file rewritten with other
// bytes but the same size and time after intake is sent, found different
// by the service's hash, and then recognised as a changed source (its
// copy removed, the job superseded), not retried as damage in transit.
func TestRewrittenInPlaceAfterIntakeIsSuperseded(t *testing.T) {
	f, m := md5Fixture(t)
	p := filepath.Join(f.src, "day.bak")
	os.WriteFile(p, []byte("monday's backup"), 0o644)
	st, _ := os.Stat(p)
	if err := f.d.Ingest(context.Background(), []watcher.File{{Watch: "pos", Rel: "day.bak", Abs: p, Size: st.Size(), ModTime: st.ModTime()}}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte("tuesday's backup")[:st.Size()], 0o644)
	os.Chtimes(p, st.ModTime(), st.ModTime())
	f.d.Drain(context.Background())
	if s := f.states(t); s[queue.Superseded] != 1 {
		t.Fatalf("states %v, want the job superseded", s)
	}
	if len(m.files) != 0 {
		t.Fatalf("stored %v: the copy of other bytes must not stay", m.files)
	}
}
