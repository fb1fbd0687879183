package fakegraph

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/providers"
)

// item is one driveItem, folder or file, as kept in meta.json.
type item struct {
	ID       string    `json:"id"`
	ParentID string    `json:"parent_id,omitempty"`
	Name     string    `json:"name"`
	Folder   bool      `json:"folder,omitempty"`
	Size     int64     `json:"size"`
	QuickXor string    `json:"quick_xor,omitempty"`
	SHA256   string    `json:"sha256,omitempty"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
	// FSModified is fileSystemInfo.lastModifiedDateTime as the client set it.
	FSModified time.Time `json:"fs_modified"`
}

// session is one upload session. Its uploadUrl carries ID and TempAuth;
// the URL is the only credential a fragment needs.
type session struct {
	ID         string    `json:"id"`
	ParentID   string    `json:"parent_id"`
	Name       string    `json:"name"`
	Conflict   string    `json:"conflict"`
	Total      int64     `json:"total"` // -1 until the first fragment or fileSize says
	Received   int64     `json:"received"`
	Expires    time.Time `json:"expires"`
	FSModified time.Time `json:"fs_modified"`
	// TempAuth is the uploadUrl's tempauth credential; empty for a
	// session saved before upload URLs carried one.
	TempAuth string `json:"tempauth,omitempty"`
}

type state struct {
	DriveID  string              `json:"drive_id"`
	RootID   string              `json:"root_id"`
	Items    map[string]*item    `json:"items"`
	Sessions map[string]*session `json:"sessions"`
}

func (s *Server) load() error {
	for _, d := range []string{s.blobDir(), s.partDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("fakegraph: %w", err)
		}
	}
	found, err := fakecloud.LoadState(s.metaPath(), &s.st)
	if err != nil {
		return fmt.Errorf("fakegraph: %w", err)
	}
	if !found {
		now := time.Now().UTC()
		root := &item{ID: newItemID(), Name: "root", Folder: true, Created: now, Modified: now, FSModified: now}
		s.st = state{DriveID: strings.ToLower(randomID(8)), RootID: root.ID,
			Items: map[string]*item{root.ID: root}, Sessions: map[string]*session{}}
		return s.saveLocked()
	}
	if s.st.Sessions == nil {
		s.st.Sessions = map[string]*session{}
	}
	return nil
}

// saveLocked rewrites meta.json through a temp file and a rename, so a
// killed emulator leaves the old state or the new one.
func (s *Server) saveLocked() error {
	if err := fakecloud.SaveState(s.metaPath(), &s.st); err != nil {
		return fmt.Errorf("fakegraph: save: %w", err)
	}
	return nil
}

func (s *Server) metaPath() string          { return filepath.Join(s.dir, "meta.json") }
func (s *Server) blobDir() string           { return filepath.Join(s.dir, "blobs") }
func (s *Server) partDir() string           { return filepath.Join(s.dir, "uploads") }
func (s *Server) blobPath(id string) string { return filepath.Join(s.blobDir(), id) }
func (s *Server) partPath(id string) string { return filepath.Join(s.partDir(), id) }

func (s *Server) usedLocked() int64 {
	var n int64
	for _, it := range s.st.Items {
		n += it.Size
	}
	return n
}

// childLocked finds name in parent the way OneDrive does: case-insensitively,
// and taking canonically equivalent spellings (NFC, NFD) for one name.
func (s *Server) childLocked(parentID, name string) *item {
	name = norm.NFC.String(name)
	for _, it := range s.st.Items {
		if it.ParentID == parentID && strings.EqualFold(norm.NFC.String(it.Name), name) {
			return it
		}
	}
	return nil
}

func (s *Server) childrenLocked(parentID string) []*item {
	var out []*item
	for _, it := range s.st.Items {
		if it.ParentID == parentID && it.ID != s.st.RootID {
			out = append(out, it)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// walkLocked resolves a slash path below base. It returns the item (nil
// when absent), and the parent folder and leaf name a create would use
// (parent nil when an intermediate folder is missing).
func (s *Server) walkLocked(baseID, rel string) (it, parent *item, leaf string) {
	cur := s.st.Items[baseID]
	segs := splitPath(rel)
	if len(segs) == 0 {
		return cur, nil, ""
	}
	for i, seg := range segs {
		if cur == nil || !cur.Folder {
			return nil, nil, seg
		}
		next := s.childLocked(cur.ID, seg)
		if i == len(segs)-1 {
			return next, cur, seg
		}
		cur = next
	}
	return nil, nil, ""
}

func splitPath(p string) []string {
	var out []string
	for _, seg := range strings.Split(p, "/") {
		if seg != "" {
			out = append(out, seg)
		}
	}
	return out
}

// pathLocked is the item's path from the root, "" for the root.
func (s *Server) pathLocked(it *item) string {
	var segs []string
	for it != nil && it.ID != s.st.RootID {
		segs = append(segs, it.Name)
		it = s.st.Items[it.ParentID]
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return strings.Join(segs, "/")
}

// deleteLocked removes it and everything below it.
func (s *Server) deleteLocked(it *item) {
	for _, c := range s.childrenLocked(it.ID) {
		s.deleteLocked(c)
	}
	delete(s.st.Items, it.ID)
	os.Remove(s.blobPath(it.ID))
}

// hashFile computes the hashes the emulator records for a stored file.
// received is the quickXorHash of the bytes a session or a simple upload
// has stored so far, kept as they arrive so that the last fragment's
// answer does not wait for the whole file to be read back. Graph reports
// only quickXorHash; the control API's SHA-256 is computed when a file is
// first listed, so uploads do not pay for a hash only tests read.
type received struct {
	qx hash.Hash
	n  int64
}

func newReceived() *received {
	h, _ := providers.NewHash(providers.QuickXor) // a known kind: cannot fail
	return &received{qx: h}
}

func (h *received) Write(p []byte) (int, error) {
	h.qx.Write(p)
	h.n += int64(len(p))
	return len(p), nil
}

func (h *received) quickXor() string { return providers.EncodeHash(providers.QuickXor, h.qx.Sum(nil)) }

// hashFile reads a stored file back for its size and quickXorHash.
func hashFile(path string) (*received, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := newReceived()
	if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
		return nil, err
	}
	return h, nil
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sums, _, err := providers.HashReader(f, providers.SHA256)
	return sums[providers.SHA256], err
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// newItemID looks like a OneDrive Personal item id: "D3C1A0F2B5E6A7C8!123".
func newItemID() string { return randomID(8) + "!" + randomID(2) }
