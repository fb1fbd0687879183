// Package providertest is the conformance suite every Provider adapter
// runs from its own test, unchanged:
//
//	func TestConformance(t *testing.T) {
//		providertest.Run(t, providertest.Options{New: func(t *testing.T) providers.Provider { … }})
//	}
//
// Each case gets a fresh, empty destination from New.
package providertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/retry"
)

// Options configure the suite for one adapter.
type Options struct {
	// New returns a provider rooted at a fresh, empty destination.
	New func(t *testing.T) providers.Provider
	// ChunkSize is the adapter's chunk size as configured by New, or 0 when
	// it uploads in one request. With it the suite also checks multi-chunk
	// uploads and resuming a saved session.
	ChunkSize int64
	// Arrived, when set, makes the suite treat the destination as
	// write-only (a mailbox): it returns the contents delivered so far
	// under name, one per delivery, read at the far end. Reads through
	// the provider (Stat, List, Get, Delete) must then fail Permanent,
	// and the cases that need them check what arrived instead or skip.
	Arrived func(t *testing.T, name string) [][]byte
}

// writeOnly skips a case that needs to read the destination back.
func writeOnly(t *testing.T, o Options) {
	t.Helper()
	if o.Arrived != nil {
		t.Skip("write-only destination: nothing to read back")
	}
}

// Run runs every conformance case.
func Run(t *testing.T, o Options) {
	cases := []struct {
		name string
		fn   func(t *testing.T, p providers.Provider, o Options)
	}{
		{"RoundTrip", testRoundTrip},
		{"Replace", testReplace},
		{"PutSameContentTwice", testPutSameTwice},
		{"ZeroLength", testZeroLength},
		{"ReaderFailsHalfway", testReaderFails},
		{"ShortEOF", testShortEOF},
		{"CancelReturnsPromptly", testCancel},
		{"ConcurrentPuts", testConcurrent},
		{"UnicodeAndSpaces", testNames},
		{"CaseOnlyDifference", testCaseOnly},
		{"NormalizationOnlyDifference", testNormalizationOnly},
		{"InvalidUTF8Names", testInvalidUTF8},
		{"Absent", testAbsent},
		{"WriteOnlyRefusesReads", testWriteOnly},
		{"ChecksumMismatchLeavesNothing", testChecksumMismatch},
		{"MultiChunk", testMultiChunk},
		{"ResumeSavedSession", testResume},
		{"ModTimeKept", testModTime},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := o.New(t)
			c.fn(t, p, o)
		})
	}
}

// Data returns n deterministic pseudo-random bytes.
func Data(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// HashOf computes data's hash the way p's service reports it.
func HashOf(t testing.TB, p providers.Provider, data []byte) string {
	t.Helper()
	h, _, err := providers.HashReader(bytes.NewReader(data), p.HashKind())
	if err != nil {
		t.Fatal(err)
	}
	return h[p.HashKind()]
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// Put stores data at name with the expected hash and checks the result.
func Put(t *testing.T, p providers.Provider, name string, data []byte) providers.RemoteFile {
	t.Helper()
	want := HashOf(t, p, data)
	rf, err := p.Put(ctx(t), name, bytes.NewReader(data), int64(len(data)), providers.PutOptions{ModTime: time.Now(), Hash: want})
	if err != nil {
		t.Fatalf("Put %q: %v", name, err)
	}
	if rf.Size != int64(len(data)) {
		t.Errorf("Put %q: size %d, want %d", name, rf.Size, len(data))
	}
	if !providers.SameHash(p.HashKind(), rf.Hash, want) {
		t.Errorf("Put %q: hash %q, want %q", name, rf.Hash, want)
	}
	if rf.Path != name {
		t.Errorf("Put %q: path %q", name, rf.Path)
	}
	return rf
}

// Content reads name back through Get.
func Content(t *testing.T, p providers.Provider, name string) []byte {
	t.Helper()
	return content(t, p, Options{}, name)
}

// content reads name back through Get, or from what arrived at a
// write-only destination, where it must have arrived exactly once.
func content(t *testing.T, p providers.Provider, o Options, name string) []byte {
	t.Helper()
	if o.Arrived != nil {
		got := o.Arrived(t, name)
		if len(got) != 1 {
			t.Fatalf("%q arrived %d times, want once", name, len(got))
		}
		return got[0]
	}
	rc, err := p.Get(ctx(t), name)
	if err != nil {
		t.Fatalf("Get %q: %v", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get %q: read: %v", name, err)
	}
	return b
}

// Names lists dir and returns the sorted names of its entries.
func Names(t *testing.T, p providers.Provider, dir string) []string {
	t.Helper()
	list, err := p.List(ctx(t), dir)
	if err != nil {
		t.Fatalf("List %q: %v", dir, err)
	}
	var names []string
	for _, f := range list {
		n := path.Base(f.Path)
		if f.Dir {
			n += "/"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func expectNames(t *testing.T, p providers.Provider, dir string, want ...string) {
	t.Helper()
	got := Names(t, p, dir)
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List %q = %q, want %q", dir, got, want)
	}
}

func expectAbsent(t *testing.T, p providers.Provider, o Options, name string) {
	t.Helper()
	if o.Arrived != nil {
		if got := o.Arrived(t, name); len(got) != 0 {
			t.Errorf("%q arrived %d times after a failed Put", name, len(got))
		}
		return
	}
	if rf, err := p.Stat(ctx(t), name); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Stat %q after a failed Put = %+v, %v; want ErrNotFound", name, rf, err)
	}
}

func testRoundTrip(t *testing.T, p providers.Provider, o Options) {
	data := Data(1, 100_000)
	name := "pos/2026/day-end.bak"
	Put(t, p, name, data)
	if o.Arrived != nil {
		if got := content(t, p, o, name); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes arrived that differ from the %d put", len(got), len(data))
		}
		return
	}
	st, err := p.Stat(ctx(t), name)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if st.Size != int64(len(data)) || !providers.SameHash(p.HashKind(), st.Hash, HashOf(t, p, data)) || st.Dir {
		t.Errorf("Stat = %+v", st)
	}
	expectNames(t, p, "pos/2026", "day-end.bak")
	expectNames(t, p, "pos", "2026/")
	if got := Content(t, p, name); !bytes.Equal(got, data) {
		t.Fatalf("Get returned %d bytes that differ from the %d put", len(got), len(data))
	}
	if err := p.Delete(ctx(t), name); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	expectAbsent(t, p, o, name)
	if err := p.Delete(ctx(t), name); err != nil {
		t.Errorf("Delete of an absent file = %v, want nil", err)
	}
}

func testReplace(t *testing.T, p providers.Provider, o Options) {
	writeOnly(t, o)
	name := "a/file.zip"
	Put(t, p, name, Data(2, 5000))
	v2 := Data(3, 7000)
	Put(t, p, name, v2)
	if got := Content(t, p, name); !bytes.Equal(got, v2) {
		t.Fatal("Get after replace does not return the new content")
	}
	expectNames(t, p, "a", "file.zip")
}

func testPutSameTwice(t *testing.T, p providers.Provider, o Options) {
	writeOnly(t, o)
	data := Data(4, 3000)
	Put(t, p, "x/same.bak", data)
	Put(t, p, "x/same.bak", data)
	expectNames(t, p, "x", "same.bak")
}

func testZeroLength(t *testing.T, p providers.Provider, o Options) {
	Put(t, p, "empty.bak", nil)
	if o.Arrived != nil {
		if got := content(t, p, o, "empty.bak"); len(got) != 0 {
			t.Fatalf("%d bytes arrived", len(got))
		}
		return
	}
	st, err := p.Stat(ctx(t), "empty.bak")
	if err != nil || st.Size != 0 {
		t.Fatalf("Stat = %+v, %v", st, err)
	}
	if got := Content(t, p, "empty.bak"); len(got) != 0 {
		t.Fatalf("Get returned %d bytes", len(got))
	}
}

// failingReader returns an error once n bytes have been read.
type failingReader struct {
	r *bytes.Reader
	n int64
}

var errHalfway = errors.New("disk read error halfway")

func (f *failingReader) Read(p []byte) (int, error) {
	pos, _ := f.r.Seek(0, io.SeekCurrent)
	if pos >= f.n {
		return 0, errHalfway
	}
	if rest := f.n - pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	return f.r.Read(p)
}

func (f *failingReader) Seek(off int64, whence int) (int64, error) { return f.r.Seek(off, whence) }

func testReaderFails(t *testing.T, p providers.Provider, o Options) {
	data := Data(5, int(max(200_000, 2*o.ChunkSize+1000)))
	r := &failingReader{r: bytes.NewReader(data), n: int64(len(data) / 2)}
	_, err := p.Put(ctx(t), "d/broken.bak", r, int64(len(data)), providers.PutOptions{})
	if err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	expectAbsent(t, p, o, "d/broken.bak")
	if o.Arrived != nil {
		return
	}
	for _, n := range Names(t, p, "d") {
		t.Errorf("a failed Put left %q visible", n)
	}
}

func testShortEOF(t *testing.T, p providers.Provider, o Options) {
	data := Data(6, 1000)
	_, err := p.Put(ctx(t), "short.bak", bytes.NewReader(data[:500]), 1000, providers.PutOptions{})
	if err == nil {
		t.Fatal("Put of 500 bytes declared as 1000 succeeded")
	}
	expectAbsent(t, p, o, "short.bak")
	if o.Arrived == nil {
		expectNames(t, p, "")
	}
}

// slowReader trickles 10 bytes every 20 ms, like a stalled disk or network share.
type slowReader struct {
	data *bytes.Reader
}

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(20 * time.Millisecond)
	return s.data.Read(p[:min(len(p), 10)])
}

func (s *slowReader) Seek(off int64, whence int) (int64, error) { return s.data.Seek(off, whence) }

func testCancel(t *testing.T, p providers.Provider, o Options) {
	c, cancel := context.WithCancel(ctx(t))
	data := Data(7, 10_000)
	done := make(chan error, 1)
	go func() {
		_, err := p.Put(c, "slow.bak", &slowReader{data: bytes.NewReader(data)}, int64(len(data)), providers.PutOptions{})
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("cancelled Put succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Put did not return within 5s of its context being cancelled")
	}
	expectAbsent(t, p, o, "slow.bak")
}

func testConcurrent(t *testing.T, p providers.Provider, o Options) {
	var wg sync.WaitGroup
	var want []string
	for i := range 20 {
		name := fmt.Sprintf("many/file-%02d.bak", i)
		want = append(want, path.Base(name))
		wg.Go(func() {
			data := Data(uint64(100+i), 10_000+i)
			rf, err := p.Put(ctx(t), name, bytes.NewReader(data), int64(len(data)), providers.PutOptions{Hash: HashOf(t, p, data)})
			if err != nil {
				t.Errorf("Put %s: %v", name, err)
			} else if rf.Size != int64(len(data)) {
				t.Errorf("Put %s: size %d", name, rf.Size)
			}
		})
	}
	wg.Wait()
	if o.Arrived == nil {
		expectNames(t, p, "many", want...)
	}
	for i := range 20 {
		name := fmt.Sprintf("many/file-%02d.bak", i)
		if got := content(t, p, o, name); !bytes.Equal(got, Data(uint64(100+i), 10_000+i)) {
			t.Errorf("%s: content differs", name)
		}
	}
}

func testNames(t *testing.T, p providers.Provider, o Options) {
	names := []string{
		"Kassa 1/säkerhetskopia_åäö.bak",
		"Kassa 1/sao_lưu_dữ_liệu.xlsx",
		"Kassa 1/name with  spaces (2).zip",
		"Kassa 1/100% done & 'quoted'.bak",
	}
	for i, n := range names {
		data := Data(uint64(200+i), 1000+i)
		Put(t, p, n, data)
		if got := content(t, p, o, n); !bytes.Equal(got, data) {
			t.Errorf("%q: content differs", n)
		}
	}
	if o.Arrived != nil {
		return
	}
	var base []string
	for _, n := range names {
		base = append(base, path.Base(n))
	}
	expectNames(t, p, "Kassa 1", base...)
}

// testCaseOnly puts two files whose names differ only in case.
func testCaseOnly(t *testing.T, p providers.Provider, o Options) {
	writeOnly(t, o)
	twoNames(t, p, "cases/Kassa.bak", "cases/kassa.bak")
}

// testNormalizationOnly puts "Café.bak" written with é as one code point
// (NFC, as Windows writes it) and as e plus a combining accent (NFD, as
// macOS does).
func testNormalizationOnly(t *testing.T, p providers.Provider, o Options) {
	writeOnly(t, o)
	twoNames(t, p, "norm/Caf\u00e9.bak", "norm/Cafe\u0301.bak")
}

// twoNames checks that two names the service may take for one never cost
// a file: when the adapter's NameRules give them two keys, both are
// stored and read back apart; when one key, the second Put may be stored
// apart or refused, but never replaces the first. Either way the declared
// rules are at least as strict as the service.
func twoNames(t *testing.T, p providers.Provider, a, b string) {
	t.Helper()
	rules := providers.RulesOf(p)
	da, db := Data(500, 3000), Data(501, 4000)
	Put(t, p, a, da)
	_, err := p.Put(ctx(t), b, bytes.NewReader(db), int64(len(db)), providers.PutOptions{ModTime: time.Now(), Hash: HashOf(t, p, db)})
	oneKey := rules.Key(a) == rules.Key(b)
	switch {
	case err != nil && !oneKey:
		t.Fatalf("Put %q after %q: %v; the adapter's name rules give them two keys", b, a, err)
	case err != nil:
		if k := providers.KindOf(err); k != providers.Permanent {
			t.Errorf("Put %q refused as %v, want Permanent (it cannot succeed under this name)", b, k)
		}
	default:
		if got := Content(t, p, b); !bytes.Equal(got, db) {
			t.Errorf("Get %q after both were put does not return its own content", b)
		}
	}
	if got := Content(t, p, a); !bytes.Equal(got, da) {
		t.Fatalf("Put %q replaced %q: the service took them for one name, so the adapter's NameRules must give them one key and Put must refuse", b, a)
	}
}

// testInvalidUTF8 puts names that are not UTF-8 (Latin-1 from an old
// program), which JSON APIs would turn into U+FFFD and so into one name,
// and a name that looks like the escape offsite uses for them.
func testInvalidUTF8(t *testing.T, p providers.Provider, o Options) {
	names := []string{"latin1/K\xe4ssa.bak", "latin1/K\xf6ssa.bak", "latin1/\xff\xfe.bak", "latin1/\u201bxE4.bak"}
	for i, n := range names {
		Put(t, p, n, Data(uint64(600+i), 1000+i))
	}
	for i, n := range names {
		if got := content(t, p, o, n); !bytes.Equal(got, Data(uint64(600+i), 1000+i)) {
			t.Errorf("Get %q: content differs", n)
		}
		if o.Arrived != nil {
			continue
		}
		if st, err := p.Stat(ctx(t), n); err != nil || st.Size != int64(1000+i) {
			t.Errorf("Stat %q = %+v, %v", n, st, err)
		}
	}
	if o.Arrived != nil {
		return
	}
	var base []string
	for _, n := range names {
		base = append(base, path.Base(n))
	}
	expectNames(t, p, "latin1", base...)
	if err := p.Delete(ctx(t), names[0]); err != nil {
		t.Fatalf("Delete %q: %v", names[0], err)
	}
	expectNames(t, p, "latin1", base[1:]...)
}

func testAbsent(t *testing.T, p providers.Provider, o Options) {
	writeOnly(t, o)
	expectAbsent(t, p, o, "nope/missing.bak")
	if _, err := p.Get(ctx(t), "nope/missing.bak"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Get of a missing file = %v, want ErrNotFound", err)
	}
	if err := p.Delete(ctx(t), "nope/missing.bak"); err != nil {
		t.Errorf("Delete of a missing file = %v", err)
	}
	if names := Names(t, p, "nope"); len(names) != 0 {
		t.Errorf("List of a missing folder = %q", names)
	}
}

func testChecksumMismatch(t *testing.T, p providers.Provider, o Options) {
	data := Data(8, 4000)
	wrong := HashOf(t, p, Data(9, 4000))
	r := retry.New(p, retry.Policy{Initial: time.Millisecond, Attempts: 2}, nil)
	_, err := r.Put(ctx(t), "bad/sum.bak", bytes.NewReader(data), int64(len(data)), providers.PutOptions{Hash: wrong})
	if providers.ReasonOf(err) != providers.ReasonChecksum {
		t.Fatalf("Put with a wrong expected hash = %v, want a checksum error", err)
	}
	expectAbsent(t, p, o, "bad/sum.bak")
}

func testMultiChunk(t *testing.T, p providers.Provider, o Options) {
	if o.ChunkSize == 0 {
		t.Skip("adapter uploads in one request")
	}
	for _, n := range []int64{2*o.ChunkSize + o.ChunkSize/2, 2 * o.ChunkSize} {
		data := Data(uint64(n), int(n))
		name := fmt.Sprintf("big/%d.bak", n)
		var progress []int64
		rf, err := p.Put(ctx(t), name, bytes.NewReader(data), n, providers.PutOptions{
			Hash:       HashOf(t, p, data),
			OnProgress: func(d int64) { progress = append(progress, d) },
		})
		if err != nil {
			t.Fatalf("Put %d bytes: %v", n, err)
		}
		if rf.Size != n {
			t.Errorf("size %d, want %d", rf.Size, n)
		}
		if len(progress) == 0 || progress[len(progress)-1] != n {
			t.Errorf("progress %v does not end at %d", progress, n)
		}
		if got := Content(t, p, name); !bytes.Equal(got, data) {
			t.Errorf("%d bytes: content differs", n)
		}
	}
}

func testResume(t *testing.T, p providers.Provider, o Options) {
	if o.ChunkSize == 0 {
		t.Skip("adapter uploads in one request")
	}
	n := 3*o.ChunkSize + 1234
	data := Data(10, int(n))
	name := "resume/big.bak"
	var saved []byte
	var acked int64
	// The first attempt dies after a chunk and a half, like a killed process.
	r := &failingReader{r: bytes.NewReader(data), n: o.ChunkSize + o.ChunkSize/2}
	_, err := p.Put(ctx(t), name, r, n, providers.PutOptions{
		Hash:       HashOf(t, p, data),
		OnSession:  func(s []byte) { saved = append([]byte(nil), s...) },
		OnProgress: func(d int64) { acked = d },
	})
	if err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	if saved == nil || acked < o.ChunkSize {
		t.Fatalf("no session state saved after a chunk was acknowledged (acked %d)", acked)
	}
	expectAbsent(t, p, o, name)
	var first int64 = -1
	rf, err := p.Put(ctx(t), name, bytes.NewReader(data), n, providers.PutOptions{
		Hash:    HashOf(t, p, data),
		Session: saved,
		OnProgress: func(d int64) {
			if first < 0 {
				first = d
			}
		},
	})
	if err != nil {
		t.Fatalf("resumed Put: %v", err)
	}
	if rf.Size != n {
		t.Errorf("size %d", rf.Size)
	}
	if first >= 0 && first < o.ChunkSize {
		t.Errorf("resumed upload started over: first progress %d, want ≥ %d", first, o.ChunkSize)
	}
	if got := Content(t, p, name); !bytes.Equal(got, data) {
		t.Fatal("resumed upload stored different bytes")
	}
}

// testModTime: the source's modification time is what Stat reports, so a
// listing or a restore shows when each backup was made, not when it was sent.
func testModTime(t *testing.T, p providers.Provider, o Options) {
	writeOnly(t, o)
	mt := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	for _, n := range []int64{1000, 2*o.ChunkSize + 10} {
		data := Data(uint64(n)+7, int(n))
		name := fmt.Sprintf("times/%d.bak", n)
		if _, err := p.Put(ctx(t), name, bytes.NewReader(data), n, providers.PutOptions{ModTime: mt, Hash: HashOf(t, p, data)}); err != nil {
			t.Fatalf("Put: %v", err)
		}
		st, err := p.Stat(ctx(t), name)
		if err != nil {
			t.Fatalf("Stat: %v", err)
		}
		if d := st.ModTime.Sub(mt); d < -time.Second || d > time.Second {
			t.Errorf("%d bytes: Stat says modified %v, want %v", n, st.ModTime.UTC(), mt)
		}
	}
}

// testWriteOnly: a write-only destination refuses every read as
// Permanent (asking again cannot help), naming what a person does
// instead, and a readable one is not tested here.
func testWriteOnly(t *testing.T, p providers.Provider, o Options) {
	if o.Arrived == nil {
		t.Skip("the destination can be read back")
	}
	Put(t, p, "w/a.bak", Data(11, 100))
	_, statErr := p.Stat(ctx(t), "w/a.bak")
	_, listErr := p.List(ctx(t), "w")
	_, getErr := p.Get(ctx(t), "w/a.bak")
	delErr := p.Delete(ctx(t), "w/a.bak")
	for op, err := range map[string]error{"Stat": statErr, "List": listErr, "Get": getErr, "Delete": delErr} {
		if providers.KindOf(err) != providers.Permanent || providers.HintOf(err) == "" || errors.Is(err, providers.ErrNotFound) {
			t.Errorf("%s = %v (kind %v), want Permanent with a hint, not ErrNotFound", op, err, providers.KindOf(err))
		}
	}
	if got := o.Arrived(t, "w/a.bak"); len(got) != 1 {
		t.Errorf("after the refused reads, %d copies arrived; want the one sent", len(got))
	}
}
