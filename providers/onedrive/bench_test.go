package onedrive

import (
	"net/http"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/providertest"
)

// BenchmarkUpload sends 16 MiB through the adapter (10 MiB fragments) and,
// in the same run, as one raw PUT to the same emulator, so the adapter's
// overhead shows as the gap between the two MB/s figures.
func BenchmarkUpload(b *testing.B) {
	size := providertest.BenchBytes(16 << 20)
	// The daemon hands every upload the expected hash, computed in its own
	// pass over the source; so does the benchmark, outside the timing.
	sums, _, err := providers.HashReader(providertest.NewPattern(size), providers.QuickXor)
	if err != nil {
		b.Fatal(err)
	}
	opts := providers.PutOptions{Hash: sums[providers.QuickXor]}
	e := newEnv(b)
	cfg := e.config("bench")
	cfg.ChunkSize = defaultChunkSize
	c := e.clientWith(cfg)
	tok, _ := e.cloud.IssueToken("onedrive")
	// A simple PUT is limited to 250 MB; rates are compared, not times.
	rawSize := min(size, 128<<20)
	var adapterNs, rawNs int64
	providertest.ResetPeakRSS()
	for i := 0; b.Loop(); i++ {
		name := "f" + string(rune('a'+i%26)) + ".bin"
		c.Delete(b.Context(), name)
		start := nanotime()
		if _, err := c.Put(b.Context(), name, providertest.NewPattern(size), size, opts); err != nil {
			b.Fatal(err)
		}
		adapterNs += nanotime() - start

		start = nanotime()
		req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/v1.0/me/drive/root:/raw.bin:/content", providertest.NewPattern(rawSize))
		req.ContentLength = rawSize
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode/100 != 2 {
			b.Fatalf("raw PUT: %v %v", err, resp)
		}
		resp.Body.Close()
		rawNs += nanotime() - start
	}
	put := float64(size) / 1e6 * float64(b.N) / (float64(adapterNs) / 1e9)
	rawRate := float64(rawSize) / 1e6 * float64(b.N) / (float64(rawNs) / 1e9)
	b.ReportMetric(put, "adapter-MB/s")
	b.ReportMetric(rawRate, "raw-MB/s")
	b.ReportMetric(put/rawRate, "x-raw")
	b.ReportMetric(providertest.PeakRSSMiB(), "peakRSS-MiB") // the emulator and the data are in this process too
}

func nanotime() int64 { return time.Now().UnixNano() }
