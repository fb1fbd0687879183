package codec

import (
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	_ "modernc.org/sqlite"
)

// realisticDB writes a point-of-sale SQLite database of about mb MiB:
// receipts with timestamps, tills, items, prices, VAT and card references,
// with indexes, as a shop's till software keeps them.
func realisticDB(b *testing.B, path string, mb int) {
	b.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`PRAGMA journal_mode=OFF`, `PRAGMA synchronous=OFF`,
		`CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, ean TEXT, price_cents INTEGER, vat INTEGER)`,
		`CREATE TABLE sales(id INTEGER PRIMARY KEY, at TEXT, till INTEGER, cashier TEXT, item INTEGER, qty INTEGER,
			price_cents INTEGER, vat_cents INTEGER, payment TEXT, card_ref TEXT)`,
		`CREATE INDEX sales_at ON sales(at)`, `CREATE INDEX sales_item ON sales(item)`,
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	names := []string{"Brot", "Brötchen", "Milch 1l", "Kaffee 500g", "Zeitung", "Pfand", "Butter", "Äpfel 1kg", "Käse", "Wurst"}
	tx, _ := db.Begin()
	for i := range 5000 {
		tx.Exec(`INSERT INTO items VALUES(?,?,?,?,?)`, i, fmt.Sprintf("%s %d", names[i%len(names)], i), fmt.Sprintf("40%011d", r.Int64N(1e11)), 50+r.IntN(5000), []int{7, 19}[r.IntN(2)])
	}
	tx.Commit()
	at := time.Date(2024, 1, 2, 8, 0, 0, 0, time.UTC)
	payments := []string{"cash", "card", "card", "voucher"}
	for {
		tx, _ := db.Begin()
		st, _ := tx.Prepare(`INSERT INTO sales(at,till,cashier,item,qty,price_cents,vat_cents,payment,card_ref) VALUES(?,?,?,?,?,?,?,?,?)`)
		for range 20000 {
			at = at.Add(time.Duration(r.IntN(90)) * time.Second)
			pay := payments[r.IntN(len(payments))]
			ref := ""
			if pay == "card" {
				ref = strconv.FormatUint(r.Uint64(), 36)
			}
			price := 50 + r.IntN(5000)
			st.Exec(at.Format(time.DateTime), 1+r.IntN(3), []string{"anna", "ben", "cem"}[r.IntN(3)], r.IntN(5000), 1+r.IntN(4), price, price*19/119, pay, ref)
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		if fi, _ := os.Stat(path); fi.Size() >= int64(mb)<<20 {
			return
		}
	}
}

// BenchmarkCompressionRatio: how much zstd saves on a realistic backup, a
// till's SQLite database (OFFSITE_BENCH_DB_MB, default 64 MiB), through
// compression and age encryption as a destination stores it.
func BenchmarkCompressionRatio(b *testing.B) {
	mb := 64
	if s := os.Getenv("OFFSITE_BENCH_DB_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	p := filepath.Join(b.TempDir(), "pos.sqlite")
	realisticDB(b, p, mb)
	id := must(b)
	for range b.N {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		res, err := Encode(io.Discard, f, Spec{Compress: true, Recipients: []string{id}})
		took := time.Since(start)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Original.Size)/(1<<20), "original-MiB")
		b.ReportMetric(float64(res.Stored.Size)/(1<<20), "stored-MiB")
		b.ReportMetric(float64(res.Original.Size)/float64(res.Stored.Size), "ratio")
		b.ReportMetric(float64(res.Original.Size)/(1<<20)/took.Seconds(), "MB/s")
	}
}

func must(b *testing.B) string {
	file, public, err := NewKey(time.Now())
	if err != nil || len(file) == 0 {
		b.Fatal(err)
	}
	return public
}

// BenchmarkZstdSettings compares zstd settings on the till database
// (OFFSITE_BENCH_DB_MB), compression alone on every core, from memory: the
// speed (MB/s of the original) and the ratio of each. "stream" is one
// frame from the streaming encoder, as offsite used before; "frames" are
// independent frames compressed at once (frameWriter).
func BenchmarkZstdSettings(b *testing.B) {
	mb := 64
	if s := os.Getenv("OFFSITE_BENCH_DB_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	p := filepath.Join(b.TempDir(), "pos.sqlite")
	realisticDB(b, p, mb)
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	workers := min(runtime.GOMAXPROCS(0), 4)
	stream := func(level zstd.EncoderLevel) func(io.Writer) error {
		return func(w io.Writer) error {
			zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(workers), zstd.WithWindowSize(8<<20),
				zstd.WithEncoderLevel(level), zstd.WithEncoderCRC(true))
			if err != nil {
				return err
			}
			if _, err := zw.Write(data); err != nil {
				return err
			}
			return zw.Close()
		}
	}
	frames := func(size int, level zstd.EncoderLevel) func(io.Writer) error {
		return func(w io.Writer) error {
			fw, err := newFrameWriter(w, workers, size, level)
			if err != nil {
				return err
			}
			if _, err := fw.Write(data); err != nil {
				return err
			}
			return fw.Close()
		}
	}
	for _, c := range []struct {
		name   string
		encode func(io.Writer) error
	}{
		{"stream-8MiB-fastest", stream(zstd.SpeedFastest)},
		{"stream-8MiB-default", stream(zstd.SpeedDefault)},
		{"frames-1MiB-fastest", frames(1<<20, zstd.SpeedFastest)},
		{"frames-2MiB-fastest", frames(2<<20, zstd.SpeedFastest)},
		{"frames-4MiB-fastest", frames(4<<20, zstd.SpeedFastest)},
		{"frames-2MiB-default", frames(2<<20, zstd.SpeedDefault)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var n countWriter
			start := time.Now()
			for range b.N {
				n = 0
				if err := c.encode(&n); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data))*float64(b.N)/1e6/time.Since(start).Seconds(), "MB/s")
			b.ReportMetric(float64(len(data))/float64(n), "ratio")
		})
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
