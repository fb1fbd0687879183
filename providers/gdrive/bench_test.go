package gdrive

import (
	"net/http"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/providertest"
)

// BenchmarkUpload compares a Put of 64 MiB to fakedrive on loopback (8 MiB
// chunks, hashes, files on disk) with one raw single-request upload of the
// same bytes to the same server (uploadType=media: the emulator stores and
// hashes it the same way), in the same run, and reports both rates and
// their ratio.
func BenchmarkUpload(b *testing.B) {
	size := providertest.BenchBytes(64 << 20)
	// The daemon hands every upload the expected hash, computed in its own
	// pass over the source; so does the benchmark, outside the timing.
	sums, _, err := providers.HashReader(providertest.NewPattern(size), providers.MD5)
	if err != nil {
		b.Fatal(err)
	}
	opts := providers.PutOptions{Hash: sums[providers.MD5]}
	e := newEmu(b)
	c := e.client(b, DefaultChunkSize)
	var putTime, rawTime time.Duration
	providertest.ResetPeakRSS()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		// A new name each time, or the second Put finds the first and sends nothing.
		if _, err := c.Put(b.Context(), "bench/"+string(rune('a'+i%26))+".bak", providertest.NewPattern(size), size, opts); err != nil {
			b.Fatal(err)
		}
		putTime += time.Since(start)
		if err := c.Delete(b.Context(), "bench/"+string(rune('a'+i%26))+".bak"); err != nil {
			b.Fatal(err)
		}

		start = time.Now()
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/upload/drive/v3/files?uploadType=media", providertest.NewPattern(size))
		req.ContentLength = size
		req.Header.Set("Authorization", "Bearer "+e.access)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		rawTime += time.Since(start)
	}
	mb := float64(size) / 1e6 * float64(b.N)
	b.ReportMetric(mb/putTime.Seconds(), "put-MB/s")
	b.ReportMetric(mb/rawTime.Seconds(), "raw-MB/s")
	b.ReportMetric(rawTime.Seconds()/putTime.Seconds(), "x-raw")
	b.ReportMetric(providertest.PeakRSSMiB(), "peakRSS-MiB") // the emulator and the data are in this process too
}
