package fakedropbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers"
)

// entry is one file or folder, keyed in Server.entries by its lower-cased path.
type entry struct {
	Display        string    `json:"display"` // "/Apps/offsite/a.bak", case as created
	Folder         bool      `json:"folder,omitempty"`
	ID             string    `json:"id"`
	Rev            string    `json:"rev,omitempty"`
	Size           int64     `json:"size,omitempty"`
	ContentHash    string    `json:"content_hash,omitempty"`
	SHA256         string    `json:"sha256,omitempty"` // for the control API; computed when first listed
	ClientModified time.Time `json:"client_modified"`
	ServerModified time.Time `json:"server_modified"`
	Blob           string    `json:"blob,omitempty"` // file name under blobs/
}

// index is what survives a restart besides the blobs and session data.
type index struct {
	Entries  map[string]*entry   `json:"entries"`
	Sessions map[string]*session `json:"sessions"`
}

func (s *Server) blobPath(name string) string    { return filepath.Join(s.dir, "blobs", name) }
func (s *Server) sessionPath(name string) string { return filepath.Join(s.dir, "sessions", name) }

// load reads the index written by an earlier run, if any.
func (s *Server) load() error {
	for _, d := range []string{"blobs", "sessions", "tmp"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			return fmt.Errorf("fakedropbox: %w", err)
		}
	}
	var ix index
	found, err := fakecloud.LoadState(filepath.Join(s.dir, "index.json"), &ix)
	if err != nil || !found {
		if err != nil {
			err = fmt.Errorf("fakedropbox: %w", err)
		}
		return err
	}
	if ix.Entries != nil {
		s.entries = ix.Entries
	}
	for id, ss := range ix.Sessions {
		// Bytes past the recorded offset were never acknowledged. A
		// concurrent session keeps its data where its pieces say.
		if !ss.Concurrent {
			if err := os.Truncate(s.sessionPath(ss.File), ss.Offset); err != nil {
				continue
			}
		}
		s.sessions[id] = ss
	}
	return nil
}

// saveLocked writes the index atomically. Callers hold s.mu.
func (s *Server) saveLocked() error {
	return fakecloud.SaveState(filepath.Join(s.dir, "index.json"), index{Entries: s.entries, Sessions: s.sessions})
}

// sums hashes a body on its way to disk. Only content_hash, which Dropbox
// reports: the control API's SHA-256 is computed when a file is first
// listed, so uploads do not pay for a hash only tests read.
type sums struct {
	content hash.Hash
	n       int64
	fixed   string // content_hash known already (a concurrent session's pieces)
}

func newSums() *sums { return &sums{content: providers.NewContentHash()} }

func (h *sums) Write(p []byte) (int, error) {
	h.content.Write(p)
	h.n += int64(len(p))
	return len(p), nil
}

func (h *sums) contentHash() string {
	if h.fixed != "" {
		return h.fixed
	}
	return hex.EncodeToString(h.content.Sum(nil))
}

// hashFile computes the sums of a stored file.
func hashFile(name string) (*sums, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := newSums()
	if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
		return nil, err
	}
	return h, nil
}

func sha256File(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sums, _, err := providers.HashReader(f, providers.SHA256)
	return sums[providers.SHA256], err
}

// ignoredNames are names Dropbox refuses to sync.
var ignoredNames = map[string]bool{
	"desktop.ini": true, "thumbs.db": true, ".ds_store": true, "icon\r": true, ".dropbox": true, ".dropbox.attr": true,
}

// checkWritePath returns the WriteError tag a path earns, or "".
func checkWritePath(p string) string {
	if !strings.HasPrefix(p, "/") || p == "/" {
		return "malformed_path"
	}
	for _, part := range strings.Split(p[1:], "/") {
		switch {
		case part == "", part == ".", part == "..", strings.ContainsRune(part, 0), len([]rune(part)) > 255:
			return "malformed_path"
		case ignoredNames[strings.ToLower(part)], strings.HasSuffix(part, " "):
			return "disallowed_name"
		}
	}
	return ""
}

// lookup resolves a path, "id:…" included. Callers hold s.mu.
func (s *Server) lookupLocked(p string) *entry {
	if id, ok := strings.CutPrefix(p, "id:"); ok {
		for _, e := range s.entries {
			if e.ID == "id:"+id {
				return e
			}
		}
		return nil
	}
	return s.entries[strings.ToLower(p)]
}

// displayLocked spells p with the case of the folders that already exist.
func (s *Server) displayLocked(p string) string {
	parts := strings.Split(p[1:], "/")
	out := ""
	for i, part := range parts {
		cand := out + "/" + part
		if e := s.entries[strings.ToLower(cand)]; e != nil && i < len(parts)-1 {
			cand = e.Display
		}
		out = cand
	}
	return out
}

// mkdirsLocked creates p's missing ancestors (and p itself when self is set).
// It reports the WriteConflictError tag when a file is in the way.
func (s *Server) mkdirsLocked(p string, self bool) string {
	dir := path.Dir(p)
	if dir != "/" {
		if c := s.mkdirsLocked(dir, true); c != "" {
			return "file_ancestor"
		}
	}
	if !self {
		return ""
	}
	if e := s.entries[strings.ToLower(p)]; e != nil {
		if e.Folder {
			return ""
		}
		return "file"
	}
	now := time.Now().UTC().Truncate(time.Second)
	s.entries[strings.ToLower(p)] = &entry{Display: s.displayLocked(p), Folder: true, ID: newID(), ClientModified: now, ServerModified: now}
	return ""
}

// usedLocked sums the stored file sizes.
func (s *Server) usedLocked() int64 {
	var n int64
	for _, e := range s.entries {
		n += e.Size
	}
	return n
}

// commitInfo is the CommitInfo argument of upload and upload_session/finish.
type commitInfo struct {
	Path           string          `json:"path"`
	Mode           json.RawMessage `json:"mode"`
	Autorename     bool            `json:"autorename"`
	ClientModified string          `json:"client_modified"`
	Mute           bool            `json:"mute"`
	StrictConflict bool            `json:"strict_conflict"`
}

// mode decodes a WriteMode, sent as {".tag":"add"} or the bare string "add".
func (c commitInfo) mode() (tag, rev string) {
	if len(c.Mode) == 0 {
		return "add", ""
	}
	var bare string
	if json.Unmarshal(c.Mode, &bare) == nil {
		return bare, ""
	}
	var u struct {
		Tag    string `json:".tag"`
		Update string `json:"update"`
	}
	json.Unmarshal(c.Mode, &u)
	return u.Tag, u.Update
}

// commit stores the file at src (moved, not copied) under c.Path. On
// failure it returns the WriteError union and leaves src in place.
func (s *Server) commit(c commitInfo, src string, h *sums) (*entry, map[string]any) {
	if tag := checkWritePath(c.Path); tag != "" {
		return nil, union(tag)
	}
	mode, rev := c.mode()
	var clientMod time.Time
	if c.ClientModified != "" {
		t, err := time.Parse("2006-01-02T15:04:05Z", c.ClientModified)
		if err != nil {
			return nil, union("malformed_path")
		}
		clientMod = t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	target := c.Path
	old := s.entries[strings.ToLower(target)]
	if old != nil {
		conflict := ""
		switch {
		case old.Folder:
			conflict = "folder"
		case mode == "overwrite":
		case mode == "update" && old.Rev == rev:
		case mode == "add" && !c.StrictConflict && old.ContentHash == h.contentHash():
			// Dropbox answers an identical add with the file already there.
			return old, nil
		default:
			conflict = "file"
		}
		if conflict != "" {
			if !c.Autorename {
				return nil, union("conflict", "conflict", union(conflict))
			}
			target = s.freeNameLocked(target)
			old = nil
		}
	}
	var replaced int64
	if old != nil {
		replaced = old.Size
	}
	if s.usedLocked()-replaced+h.n > s.cloud.Quota("dropbox") {
		return nil, union("insufficient_space")
	}
	if c := s.mkdirsLocked(target, false); c != "" {
		return nil, union("conflict", "conflict", union(c))
	}
	now := time.Now().UTC().Truncate(time.Second)
	if clientMod.IsZero() {
		clientMod = now
	}
	e := &entry{
		Display: s.displayLocked(target), ID: newID(), Rev: randomHex(8), Size: h.n,
		ContentHash: h.contentHash(), ClientModified: clientMod, ServerModified: now,
		Blob: randomHex(12),
	}
	if old != nil {
		e.ID = old.ID // a new revision of the same file
	}
	if err := os.Rename(src, s.blobPath(e.Blob)); err != nil {
		return nil, union("other")
	}
	s.entries[strings.ToLower(target)] = e
	if old != nil && old.Blob != "" {
		os.Remove(s.blobPath(old.Blob))
	}
	s.saveLocked()
	return e, nil
}

// freeNameLocked finds "name (1).ext", "name (2).ext", … as autorename does.
func (s *Server) freeNameLocked(p string) string {
	dir, base := path.Split(p)
	ext := path.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	for i := 1; ; i++ {
		cand := fmt.Sprintf("%s%s (%d)%s", dir, stem, i, ext)
		if s.entries[strings.ToLower(cand)] == nil {
			return cand
		}
	}
}

// removeLocked deletes e and, for a folder, everything under it.
func (s *Server) removeLocked(e *entry) {
	lower := strings.ToLower(e.Display)
	for k, x := range s.entries {
		if k == lower || strings.HasPrefix(k, lower+"/") {
			if x.Blob != "" {
				os.Remove(s.blobPath(x.Blob))
			}
			delete(s.entries, k)
		}
	}
	s.saveLocked()
}

// childrenLocked lists entries under dir ("" is the root), sorted by path.
func (s *Server) childrenLocked(dir string, recursive bool) []*entry {
	prefix := strings.ToLower(dir) + "/"
	var out []*entry
	for k, e := range s.entries {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok || rest == "" || (!recursive && strings.Contains(rest, "/")) {
			continue
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Display) < strings.ToLower(out[j].Display) })
	return out
}

func newID() string { return "id:" + randomHex(11) }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
