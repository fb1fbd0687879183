package dropbox

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/providertest"
)

// TestResumeAfterKill uploads a large file, kills the upload halfway (a
// cancelled context, as a dying process leaves it), and restarts it with a
// new Client from the saved session. The service must receive little more
// than the file once: with the block hashes given (the daemon's way, chunks
// streaming from the source) and without them (chunks read and hashed).
func TestResumeAfterKill(t *testing.T) {
	size := int64(200 << 20)
	if testing.Short() {
		size = 20 << 20
	}
	const chunk = 4 << 20
	hs, err := providers.Hash(providertest.NewPattern(size), providers.ContentHash)
	if err != nil {
		t.Fatal(err)
	}
	want := hs.Sums[providers.ContentHash]
	for _, given := range []bool{true, false} {
		h := newHarness(t)
		o := providers.PutOptions{Hash: want}
		if given {
			o.Parts = hs.Parts[providers.ContentHash]
		}
		var saved []byte
		var once sync.Once
		ctx, cancel := context.WithCancel(t.Context())
		killed := o
		killed.OnSession = func(s []byte) { saved = s }
		killed.OnProgress = func(n int64) {
			// Die a moment later, most likely with a chunk in flight.
			if n >= size/2 {
				once.Do(func() { time.AfterFunc(5*time.Millisecond, cancel) })
			}
		}
		_, err = h.client(t, chunk).Put(ctx, "pos/huge.bak", providertest.NewPattern(size), size, killed)
		if err == nil || saved == nil {
			t.Fatalf("given %v: killed upload: %v (session saved: %v)", given, err, saved != nil)
		}
		var first int64 = -1
		resumed := o
		resumed.Session = saved
		resumed.OnProgress = func(n int64) {
			if first < 0 {
				first = n
			}
		}
		rf, err := h.client(t, chunk).Put(t.Context(), "pos/huge.bak", providertest.NewPattern(size), size, resumed)
		if err != nil {
			t.Fatalf("given %v: resumed upload: %v", given, err)
		}
		if rf.Size != size || rf.Hash != want {
			t.Fatalf("given %v: stored %+v", given, rf)
		}
		if first < size/2 {
			t.Errorf("given %v: resumed upload started at %d, want ≥ %d", given, first, size/2)
		}
		sent := h.stats(t).UploadBytes
		if sent > size+2*chunk {
			t.Errorf("given %v: service received %d upload bytes for a %d-byte file, more than size + 2 chunks", given, sent, size)
		}
		t.Logf("given %v: %d MiB uploaded with %d MiB of upload traffic", given, size>>20, sent>>20)
	}
}

// rawUpload sends n pattern bytes to path in one files/upload request.
func rawUpload(b *testing.B, url, access, path string, n int64) {
	req, _ := http.NewRequest("POST", url+"/2/files/upload", io.LimitReader(providertest.NewPattern(n), n))
	req.ContentLength = n
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Dropbox-API-Arg", fmt.Sprintf(`{"path":%q,"mode":"add"}`, path))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("raw upload: %s", resp.Status)
	}
}

// BenchmarkUpload compares Put to fakedropbox with a raw single-request
// upload of the same bytes to the same server (files/upload, which the
// emulator stores and hashes the same way), in the same run.
func BenchmarkUpload(b *testing.B) {
	size := providertest.BenchBytes(64 << 20)
	// The daemon hands every upload the expected hash and its parts,
	// computed in its own pass over the source (which also proves the file
	// is still the queued version); so does the benchmark, outside the
	// timing.
	hs, err := providers.Hash(providertest.NewPattern(size), providers.ContentHash)
	if err != nil {
		b.Fatal(err)
	}
	opts := providers.PutOptions{Hash: hs.Sums[providers.ContentHash], Parts: hs.Parts[providers.ContentHash]}
	h := newHarness(b)
	c := h.client(b, DefaultChunkSize)
	access, _ := h.cloud.IssueToken("dropbox")
	// One request may carry at most 150 MiB: the raw uploads send the same
	// bytes in requests of up to 128 MiB.
	rawSize := min(size, 128<<20)
	// Each file is deleted once measured, and one untimed round goes
	// first: then every upload writes into memory the machine has used
	// before. Otherwise whichever upload first grows the page cache pays
	// for it (on a virtual machine, several times the cost of the copy).
	// Peak RSS is taken over the Put alone, starting from what is live
	// (memory the earlier rounds freed is handed back first), as in a
	// daemon whose last upload ended a while ago.
	var peak float64
	put := func(name string, o providers.PutOptions) time.Duration {
		start := time.Now()
		if _, err := c.Put(b.Context(), name, providertest.NewPattern(size), size, o); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		if err := c.Delete(b.Context(), name); err != nil {
			b.Fatal(err)
		}
		return took
	}
	rawAll := func(i int) (took time.Duration) {
		// The raw files stay until all are sent, so the emulator holds as
		// much as it does for one Put.
		var rels []string
		for k := int64(0); k*rawSize < size; k++ {
			rel := fmt.Sprintf("raw/%d-%d.bin", i, k)
			start := time.Now()
			rawUpload(b, h.url, access, "/Backups/Shop1/"+rel, min(rawSize, size-k*rawSize))
			took += time.Since(start)
			rels = append(rels, rel)
		}
		for _, rel := range rels {
			if err := c.Delete(b.Context(), rel); err != nil {
				b.Fatal(err)
			}
		}
		return took
	}
	// A round sends raw, then Put, then raw again: the baseline is the
	// mean of the two, so a machine that speeds up or slows down during
	// the round weighs on both sides alike.
	round := func(i int) (given, self, raw time.Duration) {
		raw = rawAll(i)
		debug.FreeOSMemory()
		providertest.ResetPeakRSS()
		given = put(fmt.Sprintf("bench/%d.bak", i), opts)
		if i >= 0 {
			peak = max(peak, providertest.PeakRSSMiB())
		}
		// Without the parts, as a caller that has only the hash: Put
		// hashes every chunk itself.
		self = put(fmt.Sprintf("bench/%d-self.bak", i), providers.PutOptions{Hash: opts.Hash})
		raw = (raw + rawAll(i)) / 2
		return given, self, raw
	}
	round(-1)
	var givenTime, selfTime, rawTime time.Duration
	for i := 0; b.Loop(); i++ {
		g, sh, r := round(i)
		givenTime, selfTime, rawTime = givenTime+g, selfTime+sh, rawTime+r
	}
	rate := func(d time.Duration) float64 { return float64(size) / 1e6 * float64(b.N) / d.Seconds() }
	b.ReportMetric(rate(givenTime), "put-MB/s")
	b.ReportMetric(rate(rawTime), "raw-MB/s")
	b.ReportMetric(rate(givenTime)/rate(rawTime), "x-raw")
	b.ReportMetric(rate(selfTime)/rate(rawTime), "x-raw-selfhash")
	b.ReportMetric(peak, "peakRSS-MiB") // the emulator is in this process too
}
