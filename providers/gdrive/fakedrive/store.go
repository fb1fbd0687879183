package fakedrive

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/offsite-backup/offsite/internal/fakecloud"
)

const folderMime = "application/vnd.google-apps.folder"

// file is one Drive item, folder or binary file, as stored on disk.
type file struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	MimeType string    `json:"mimeType"`
	Parents  []string  `json:"parents"`
	Size     int64     `json:"size"`
	MD5      string    `json:"md5"`
	SHA256   string    `json:"sha256"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
	Trashed  bool      `json:"trashed"`
}

func (f *file) isFolder() bool { return f.MimeType == folderMime }

// session is one resumable upload in progress (or just finished, so that a
// client whose final answer was lost can still ask for the result).
type session struct {
	ID       string    `json:"id"`
	Meta     file      `json:"meta"`
	Total    int64     `json:"total"` // -1 while unknown
	Received int64     `json:"received"`
	Created  time.Time `json:"created"`
	Fields   string    `json:"fields,omitempty"`  // the starting request's fields, for the final answer
	FileID   string    `json:"file_id,omitempty"` // set once complete
}

// state is everything the emulator persists in meta.json.
type state struct {
	RootID   string              `json:"root_id"`
	Files    map[string]*file    `json:"files"`
	Sessions map[string]*session `json:"sessions"`
}

// load reads the saved state, or starts an empty drive.
func (s *Server) load() error {
	for _, d := range []string{s.blobDir(), s.partDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("fakedrive: %w", err)
		}
	}
	found, err := fakecloud.LoadState(s.metaPath(), &s.st)
	if err != nil {
		return fmt.Errorf("fakedrive: %w", err)
	}
	if !found {
		now := time.Now().UTC()
		root := &file{ID: newID(), Name: "My Drive", MimeType: folderMime, Created: now, Modified: now}
		s.st = state{RootID: root.ID, Files: map[string]*file{root.ID: root}, Sessions: map[string]*session{}}
		return s.saveLocked()
	}
	if s.st.Sessions == nil {
		s.st.Sessions = map[string]*session{}
	}
	return nil
}

// saveLocked rewrites meta.json through a temp file and a rename, so a
// killed emulator leaves the old state or the new one. Callers hold s.mu.
func (s *Server) saveLocked() error {
	if err := fakecloud.SaveState(s.metaPath(), &s.st); err != nil {
		return fmt.Errorf("fakedrive: save: %w", err)
	}
	return nil
}

func (s *Server) metaPath() string          { return filepath.Join(s.dir, "meta.json") }
func (s *Server) blobDir() string           { return filepath.Join(s.dir, "blobs") }
func (s *Server) partDir() string           { return filepath.Join(s.dir, "uploads") }
func (s *Server) blobPath(id string) string { return filepath.Join(s.blobDir(), id) }
func (s *Server) partPath(id string) string { return filepath.Join(s.partDir(), id) }

// usedLocked is the bytes stored by every file, as the quota counts them.
func (s *Server) usedLocked() int64 {
	var n int64
	for _, f := range s.st.Files {
		n += f.Size
	}
	return n
}

// childrenLocked returns the items whose parents include id, oldest first.
func (s *Server) childrenLocked(id string) []*file {
	var out []*file
	for _, f := range s.st.Files {
		for _, p := range f.Parents {
			if p == id {
				out = append(out, f)
				break
			}
		}
	}
	sortFiles(out)
	return out
}

func sortFiles(fs []*file) {
	sort.Slice(fs, func(i, j int) bool {
		if fs[i].Name != fs[j].Name {
			return fs[i].Name < fs[j].Name
		}
		if !fs[i].Created.Equal(fs[j].Created) {
			return fs[i].Created.Before(fs[j].Created)
		}
		return fs[i].ID < fs[j].ID
	})
}

// deleteLocked removes id and, for a folder, everything below it.
func (s *Server) deleteLocked(id string) {
	for _, c := range s.childrenLocked(id) {
		s.deleteLocked(c.ID)
	}
	if f := s.st.Files[id]; f != nil && !f.isFolder() {
		os.Remove(s.blobPath(id))
	}
	delete(s.st.Files, id)
}

// pathLocked is f's folder path from My Drive, "" for the root itself.
func (s *Server) pathLocked(f *file) string {
	p := f.Name
	seen := map[string]bool{}
	for len(f.Parents) > 0 && !seen[f.ID] {
		seen[f.ID] = true
		parent := s.st.Files[f.Parents[0]]
		if parent == nil || parent.ID == s.st.RootID {
			return p
		}
		p = parent.Name + "/" + p
		f = parent
	}
	return p
}

// hashes computes what Drive reports for stored content.
type hashes struct {
	md5, sha256 hash.Hash
	n           int64
}

func newHashes() *hashes { return &hashes{md5: md5.New(), sha256: sha256.New()} }

func (h *hashes) Write(p []byte) (int, error) {
	h.md5.Write(p)
	h.sha256.Write(p)
	h.n += int64(len(p))
	return len(p), nil
}

func hashFile(path string) (*hashes, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := newHashes()
	if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *hashes) apply(f *file) {
	f.Size = h.n
	f.MD5 = hex.EncodeToString(h.md5.Sum(nil))
	f.SHA256 = hex.EncodeToString(h.sha256.Sum(nil))
}

// newID returns an id shaped like Drive's: 33 URL-safe characters.
func newID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 33)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	b[0] = '1' // real ids of user files start with 1
	return string(b)
}
