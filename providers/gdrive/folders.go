package gdrive

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/api/drive/v3"

	"github.com/offsite-backup/offsite/providers"
)

const folderMime = "application/vnd.google-apps.folder"

// folder returns the id of the folder at segs (from My Drive), walking
// down from the root and remembering every id it learns. With create, a
// missing folder is made; without, the error matches ErrNotFound.
func (c *Client) folder(ctx context.Context, segs []string, create bool) (string, error) {
	id := "root"
	for i, name := range segs {
		key := strings.Join(segs[:i+1], "/")
		c.mu.Lock()
		cached, ok := c.folders[key]
		c.mu.Unlock()
		if ok {
			id = cached
			continue
		}
		next, err := c.findFolder(ctx, id, name)
		if err != nil {
			return "", err
		}
		if next == "" {
			if !create {
				return "", fmt.Errorf("folder %s: %w", key, providers.ErrNotFound)
			}
			if next, err = c.mkdir(ctx, id, name); err != nil {
				return "", fmt.Errorf("create folder %s: %w", key, err)
			}
		}
		c.mu.Lock()
		c.folders[key] = next
		c.mu.Unlock()
		id = next
	}
	return id, nil
}

// forgetFolders drops cached ids, after a folder turned out to be gone.
func (c *Client) forgetFolders() {
	c.mu.Lock()
	clear(c.folders)
	c.mu.Unlock()
}

// findFolder returns the oldest folder called name in parent, or "".
func (c *Client) findFolder(ctx context.Context, parent, name string) (string, error) {
	items, err := c.children(ctx, parent, name)
	if err != nil {
		return "", err
	}
	for _, f := range items {
		if f.MimeType == folderMime {
			return f.Id, nil
		}
	}
	return "", nil
}

// mkdir creates name in parent. Drive allows two folders of one name, so
// it looks again under a lock first, and after creating it re-lists: when
// another process raced it, everyone settles on the oldest folder and the
// loser removes its own, still empty, copy.
func (c *Client) mkdir(ctx context.Context, parent, name string) (string, error) {
	c.mkdirMu.Lock()
	defer c.mkdirMu.Unlock()
	if id, err := c.findFolder(ctx, parent, name); err != nil || id != "" {
		return id, err
	}
	var made *drive.File
	tried := false
	err := c.do(ctx, func(ctx context.Context) (err error) {
		// A lost answer to a create leaves a folder behind: look again
		// before retrying, so a retry cannot make a second one.
		if tried {
			if id, err := c.findFolder(ctx, parent, name); err != nil {
				return err
			} else if id != "" {
				made = &drive.File{Id: id}
				return nil
			}
		}
		tried = true
		made, err = c.svc.Files.Create(&drive.File{Name: name, MimeType: folderMime, Parents: []string{parent}}).
			Fields("id").Context(ctx).Do()
		return err
	})
	if err != nil {
		return "", err
	}
	oldest, err := c.findFolder(ctx, parent, name)
	if err != nil || oldest == "" {
		return made.Id, nil
	}
	if oldest != made.Id {
		if items, err := c.children(ctx, made.Id, ""); err == nil && len(items) == 0 {
			_ = c.deleteID(ctx, made.Id)
		}
	}
	return oldest, nil
}

// sortOldestFirst orders by creation time, then id, so every process
// picks the same one of several same-named items.
func sortOldestFirst(fs []*drive.File) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].CreatedTime != fs[j].CreatedTime {
			return fs[i].CreatedTime < fs[j].CreatedTime
		}
		return fs[i].Id < fs[j].Id
	})
}
