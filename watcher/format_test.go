package watcher

import (
	"archive/zip"
	"bytes"
	"database/sql"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

func zipBytes(t testing.TB, comment string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i, name := range []string{"xl/workbook.xml", "xl/worksheets/sheet1.xml", "docProps/app.xml"} {
		w, _ := zw.Create(name)
		w.Write(bytes.Repeat([]byte{byte('a' + i)}, 20000))
	}
	zw.SetComment(comment)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sevenZipBytes is a 7z signature header pointing at a next header of n
// bytes after body: what 7-Zip writes once the archive is complete.
func sevenZipBytes(body, next []byte) []byte {
	start := make([]byte, 20)
	binary.LittleEndian.PutUint64(start[0:], uint64(len(body)))
	binary.LittleEndian.PutUint64(start[8:], uint64(len(next)))
	binary.LittleEndian.PutUint32(start[16:], crc32.ChecksumIEEE(next))
	head := append([]byte("7z\xbc\xaf\x27\x1c\x00\x04"), binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(start))...)
	out := append(head, start...)
	out = append(out, body...)
	return append(out, next...)
}

func sqliteBytes(t testing.TB) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pos.db")
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE sales(id INTEGER PRIMARY KEY, note TEXT)`); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		db.Exec(`INSERT INTO sales(note) VALUES(?)`, strings.Repeat("receipt ", 50))
	}
	db.Close()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIncompleteFormats(t *testing.T) {
	z := zipBytes(t, "")
	zc := zipBytes(t, "made by the till")
	sz := sevenZipBytes(bytes.Repeat([]byte{1}, 5000), []byte{0x01, 0x04, 0x06, 0x00})
	unwritten := append([]byte("7z\xbc\xaf\x27\x1c\x00\x04"), make([]byte, 24)...) // header still zeros
	unwritten = append(unwritten, bytes.Repeat([]byte{1}, 5000)...)
	db := sqliteBytes(t)
	if len(db) < 3*4096 {
		t.Fatalf("test database only %d bytes", len(db))
	}
	cases := []struct {
		name     string
		data     []byte
		complete bool
	}{
		{"zip", z, true},
		{"zip with a comment", zc, true},
		{"zip cut short", z[:len(z)/2], false},
		{"zip missing its last byte", z[:len(z)-1], false},
		{"zip with a comment cut short", zc[:len(zc)-3], false},
		{"7z", sz, true},
		{"7z cut short", sz[:len(sz)-2], false},
		{"7z signature header not written yet", unwritten, false},
		{"sqlite", db, true},
		{"sqlite not whole pages", db[:len(db)-100], false},
		{"sqlite fewer pages than its header says", db[:len(db)-4096], false},
		{"unknown format", []byte("BAK0 some proprietary backup"), true},
		{"empty", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			why, err := incomplete(bytes.NewReader(tc.data), int64(len(tc.data)))
			if err != nil {
				t.Fatal(err)
			}
			if (why == "") != tc.complete {
				t.Fatalf("incomplete = %q, want complete=%v", why, tc.complete)
			}
		})
	}
}

// A zip (xlsx, a POS .bak) copied in by a writer that pauses longer than
// settle is not reported while its end record is missing, and is reported
// once, whole, when it is complete.
func TestTruncatedZipHeldUntilComplete(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, rec := startSynced(t, Config{Path: dir}, nil)
	full := zipBytes(t, "")
	p := filepath.Join(dir, "day.bak")
	write(t, p, string(full[:len(full)/2])) // closed, so only the format tells
	time.Sleep(4 * testSettle)
	barrier(t, rec, dir)
	if got := rec.readyFor("day.bak"); len(got) != 0 {
		t.Fatalf("a zip without its end record was reported: %+v", got)
	}
	write(t, p, string(full))
	rec.waitReady(t, "day.bak", 1)
	barrier(t, rec, dir)
	if got := rec.readyFor("day.bak"); len(got) != 1 || got[0].Size != int64(len(full)) {
		t.Fatalf("Ready %+v, want one with the full size %d", got, len(full))
	}
}

// A file that never looks complete still goes out after the hold bound: a
// broken zip is still a backup, and nothing may be lost.
func TestUnfinishedLookingFileGoesOutAfterHoldBound(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, rec := startSynced(t, Config{Path: dir}, func(w *watch) { w.holdMax = 5 * testSettle })
	full := zipBytes(t, "")
	start := time.Now()
	write(t, filepath.Join(dir, "broken.zip"), string(full[:len(full)/2]))
	rec.waitReady(t, "broken.zip", 1)
	if took := time.Since(start); took < 5*testSettle {
		t.Fatalf("reported after %v, before the hold bound", took)
	}
}
