package watcher

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// Cheap completeness checks for the common backup formats, told apart by
// their first bytes (a POS program's day.bak is often a zip). Each reads
// at most 64 KiB. A file in no known format passes; one that fails is a
// copy still being written, or a torn one: the gate holds it back.

const (
	zipEOCDLen   = 22
	zipMaxSearch = 64<<10 + zipEOCDLen // the end record plus the longest comment
)

var (
	zipLocal     = []byte("PK\x03\x04")
	zipEnd       = []byte("PK\x05\x06")
	sevenZip     = []byte("7z\xbc\xaf\x27\x1c")
	sqliteHeader = []byte("SQLite format 3\x00")
)

// incomplete returns why the file of size bytes in r looks unfinished, or
// "" when it looks whole or is in no format known here.
func incomplete(r io.ReaderAt, size int64) (string, error) {
	head := make([]byte, 100)
	n, err := r.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return "", err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, zipLocal) || bytes.HasPrefix(head, zipEnd):
		return zipIncomplete(r, size)
	case bytes.HasPrefix(head, sevenZip):
		return sevenZipIncomplete(head, size)
	case bytes.HasPrefix(head, sqliteHeader):
		return sqliteIncomplete(head, size)
	}
	return "", nil
}

// zipIncomplete looks for the end-of-central-directory record, written
// last, whose comment must end exactly at the end of the file.
func zipIncomplete(r io.ReaderAt, size int64) (string, error) {
	if size < zipEOCDLen {
		return "zip without its end record", nil
	}
	n := min(size, zipMaxSearch)
	tail := make([]byte, n)
	if _, err := r.ReadAt(tail, size-n); err != nil && err != io.EOF {
		return "", err
	}
	for i := len(tail) - zipEOCDLen; i >= 0; i-- {
		if !bytes.Equal(tail[i:i+4], zipEnd) {
			continue
		}
		comment := int(binary.LittleEndian.Uint16(tail[i+20:]))
		if i+zipEOCDLen+comment == len(tail) {
			return "", nil
		}
	}
	return "zip without its end record (still being written, or cut short)", nil
}

// sevenZipIncomplete checks the signature header, which 7-Zip writes last:
// its CRC must hold and the header it points to must lie inside the file.
func sevenZipIncomplete(head []byte, size int64) (string, error) {
	if len(head) < 32 {
		return "7z archive shorter than its signature header", nil
	}
	start := head[12:32]
	if crc32.ChecksumIEEE(start) != binary.LittleEndian.Uint32(head[8:12]) {
		return "7z signature header not written yet", nil
	}
	off, n := binary.LittleEndian.Uint64(start[0:8]), binary.LittleEndian.Uint64(start[8:16])
	if n == 0 || off > uint64(size) || n > uint64(size) || 32+off+n > uint64(size) {
		return "7z archive shorter than its header says (still being written, or cut short)", nil
	}
	return "", nil
}

// sqliteIncomplete checks that the file is whole pages, and as many as the
// header says when that count is valid (written by SQLite 3.7.0 and later).
func sqliteIncomplete(head []byte, size int64) (string, error) {
	if len(head) < 100 {
		return "SQLite file shorter than its header", nil
	}
	page := int64(binary.BigEndian.Uint16(head[16:18]))
	if page == 1 {
		page = 65536
	}
	if page < 512 || page > 65536 || page&(page-1) != 0 {
		return "SQLite header not valid", nil
	}
	if size%page != 0 {
		return "SQLite file not a whole number of pages (still being written, or cut short)", nil
	}
	pages := int64(binary.BigEndian.Uint32(head[28:32]))
	changes, validFor := binary.BigEndian.Uint32(head[24:28]), binary.BigEndian.Uint32(head[92:96])
	if pages > 0 && changes == validFor && pages*page > size {
		return "SQLite file shorter than its header says (still being written, or cut short)", nil
	}
	return "", nil
}
