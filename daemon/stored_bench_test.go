package daemon

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/providers/providertest"
	"github.com/offsite-backup/offsite/spool"
	"github.com/offsite-backup/offsite/watcher"
)

// dumpLike fills n bytes with text like a database dump: compressible,
// with enough variety that it does not collapse to nothing. A 64 MiB
// block repeats beyond zstd's 8 MiB window, so the repeat does not help it.
func dumpLike(n int) []byte {
	r := rand.New(rand.NewPCG(42, 42))
	var b bytes.Buffer
	items := []string{"Brot", "Milch", "Kaffee 500g", "Zeitung", "Pfand", "Butter", "Äpfel 1kg", "Gutschein"}
	for b.Len() < n {
		fmt.Fprintf(&b, "INSERT INTO sales VALUES(%d,'2026-%02d-%02d %02d:%02d:%02d',%d,'%s',%d,%d.%02d,%d);\n",
			r.IntN(1e8), 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), 1+r.IntN(4),
			items[r.IntN(len(items))], 1+r.IntN(5), r.IntN(100), r.IntN(100), r.Uint32())
	}
	return b.Bytes()[:n]
}

// BenchmarkLargeFileLocalEncrypted: one large file (OFFSITE_BENCH_MB,
// default 512; the goal is stated for 2048) through the whole pipeline,
// compressed with zstd and encrypted with age into the spool, to a local
// destination; against `cp` of the same file in the same run (goal ≥ 0.7×),
// with the process's peak RSS (goal ≤ 64 MiB).
func BenchmarkLargeFileLocalEncrypted(b *testing.B) {
	mb := 512
	if s := os.Getenv("OFFSITE_BENCH_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	cpPath, err := exec.LookPath("cp")
	if err != nil {
		b.Skip("no cp to compare with")
	}
	id, _ := age.GenerateX25519Identity()
	for range b.N {
		b.StopTimer()
		d, src, dst := benchDaemon(b, 1)
		d.o.Destinations[0].Codec = codec.Spec{Compress: true, Recipients: []string{id.Recipient().String()}}
		d.o.Spool = spool.New(filepath.Join(filepath.Dir(src), "spool"))
		d.store.SetForm("usb", ".zst.age")
		p := filepath.Join(src, "big.bak")
		writeDumpLike(b, p, mb<<20)
		st, _ := os.Stat(p)
		cpTime := durableCopy(b, cpPath, p, dst)
		// The same file through the plain pipeline, for x-plain.
		plain, plainSrc, _ := benchDaemon(b, 1)
		if err := os.Link(p, filepath.Join(plainSrc, "big.bak")); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := plain.Ingest(context.Background(), []watcher.File{{Watch: "pos", Rel: "big.bak", Abs: filepath.Join(plainSrc, "big.bak"), Size: st.Size(), ModTime: st.ModTime()}}); err != nil {
			b.Fatal(err)
		}
		if err := plain.Drain(context.Background()); err != nil {
			b.Fatal(err)
		}
		plainTime := time.Since(start)
		debug.FreeOSMemory() // the generator's buffers are not the pipeline's
		providertest.ResetPeakRSS()
		b.StartTimer()
		start = time.Now()
		if err := d.Ingest(context.Background(), []watcher.File{{Watch: "pos", Rel: "big.bak", Abs: p, Size: st.Size(), ModTime: st.ModTime()}}); err != nil {
			b.Fatal(err)
		}
		if err := d.Drain(context.Background()); err != nil {
			b.Fatal(err)
		}
		ours := time.Since(start)
		b.StopTimer()
		stored, err := os.Stat(filepath.Join(dst, "pos", "big.bak.zst.age"))
		if err != nil {
			b.Fatal(err)
		}
		mbps := func(d time.Duration) float64 { return float64(mb) / d.Seconds() }
		b.ReportMetric(mbps(ours), "MB/s")
		b.ReportMetric(mbps(cpTime), "cp-MB/s")
		b.ReportMetric(cpTime.Seconds()/ours.Seconds(), "x-cp")
		b.ReportMetric(plainTime.Seconds()/ours.Seconds(), "x-plain")
		b.ReportMetric(float64(st.Size())/float64(stored.Size()), "ratio")
		b.ReportMetric(providertest.PeakRSSMiB(), "peakRSS-MiB")
		b.StartTimer()
	}
}

func writeDumpLike(b *testing.B, p string, n int) {
	b.Helper()
	block := dumpLike(64 << 20)
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for written := 0; written < n; written += len(block) {
		if _, err := f.Write(block[:min(len(block), n-written)]); err != nil {
			b.Fatal(err)
		}
	}
}
