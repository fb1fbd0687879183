package registry_test

import (
	"context"
	"strings"
	"testing"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/dropbox"
	"github.com/offsite-backup/offsite/providers/email"
	"github.com/offsite-backup/offsite/providers/gdrive"
	"github.com/offsite-backup/offsite/providers/local"
	"github.com/offsite-backup/offsite/providers/onedrive"
	"github.com/offsite-backup/offsite/providers/registry"
)

// adapter is what a built adapter says of itself; a descriptor must say
// the same before it is built.
type adapter interface {
	HashKind() providers.HashKind
	NameRules() providers.NameRules
}

func TestDescriptorsAgreeWithTheirAdapters(t *testing.T) {
	for _, c := range []struct {
		d registry.Descriptor
		a adapter
	}{
		{local.Descriptor(), (*local.Client)(nil)},
		{gdrive.Descriptor(), (*gdrive.Client)(nil)},
		{dropbox.Descriptor(), (*dropbox.Client)(nil)},
		{onedrive.Descriptor(), (*onedrive.Client)(nil)},
		{email.Descriptor(), (*email.Client)(nil)},
	} {
		if c.d.Hash != c.a.HashKind() || c.d.Names != c.a.NameRules() {
			t.Errorf("%s: descriptor says %s %+v, adapter %s %+v", c.d.Type, c.d.Hash, c.d.Names, c.a.HashKind(), c.a.NameRules())
		}
		if c.d.Service == "" {
			t.Errorf("%s: no service name for messages", c.d.Type)
		}
		if c.d.WriteOnly {
			// A mailbox: no OAuth login, not a disk of this PC, and people
			// are told how to get a file back instead of `restore`.
			if c.d.Login != nil || c.d.Local || c.d.Retrieve == "" {
				t.Errorf("%s: write-only with login %v, local %v, retrieve %q", c.d.Type, c.d.Login != nil, c.d.Local, c.d.Retrieve)
			}
			continue
		}
		if (c.d.Login == nil) != c.d.Local {
			t.Errorf("%s: local %v but login %v", c.d.Type, c.d.Local, c.d.Login != nil)
		}
	}
}

func TestRegistry(t *testing.T) {
	r, err := registry.New(local.Descriptor(), gdrive.Descriptor())
	if err != nil {
		t.Fatal(err)
	}
	if d, err := r.Lookup("gdrive"); err != nil || d.Service != "Google Drive" {
		t.Fatalf("Lookup(gdrive) = %+v, %v", d, err)
	}
	if _, err := r.Lookup("ftp"); err == nil || !strings.Contains(err.Error(), "gdrive, local") {
		t.Fatalf("Lookup(ftp) = %v, want the known types named", err)
	}
	if _, err := registry.New(local.Descriptor(), local.Descriptor()); err == nil {
		t.Fatal("one type registered twice was accepted")
	}
	d, _ := r.Lookup("local")
	if got, err := d.New(context.Background(), registry.Settings{Path: t.TempDir()}); err != nil || got.HashKind() != providers.SHA256 {
		t.Fatalf("local.New = %v, %v", got, err)
	}
}
