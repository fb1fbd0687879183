// Package registry describes the destination types offsite can upload to.
// Each adapter package exports a Descriptor; internal/app builds one
// Registry from them, so what depends on a type (its hash, name rules,
// login, constructor, what people call it) is declared once, beside the
// adapter, and looked up instead of switched on.
package registry

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/providers/retry"
)

// Settings are a destination's fields as the adapters need them, mapped
// once from the config (providers never import config).
type Settings struct {
	Name      string // the destination's name, for errors and the token file
	Path      string // local: the folder
	Owner     string // local: names this installation in temp files
	Folder    string // cloud: the folder below the account root
	TokenFile string
	Client    Client
	DriveID   string
	ChunkSize int64
	// MaxChunkSize is the largest a chunk grows to on a fast link; 0 =
	// the adapter's default.
	MaxChunkSize int64
	Timeout      time.Duration
	URL          string // email: the smtp:// URL, password included
	MaxSize      int64  // email: the largest file sent; 0 = the type's default
	// Pacer is the destination's one Retry-After pacer, shared by the
	// adapter's call retries and the retry wrapper around it.
	Pacer  *retry.Pacer
	Policy retry.Policy
	Logger *slog.Logger
}

// Client is the OAuth client of a cloud destination.
type Client struct {
	ID, Secret string
	Endpoint   string // an emulator's base URL; "" for the real service
	Tenant     string // OneDrive only
}

// Login is how a type logs in; nil for a type that needs none.
type Login struct {
	// Config is the OAuth client configuration for c.
	Config func(c Client) *oauth2.Config
	// Options are added to the authorization request.
	Options []oauth2.AuthCodeOption
	// Device is true when the service offers the device-code flow.
	Device bool
}

// Descriptor is what a destination type declares about itself.
type Descriptor struct {
	Type    string // the config's `type`
	Service string // what people call it, in messages
	// Local is true for a disk or share of this PC: a missing folder
	// means it is unplugged, not moved in a web interface.
	Local bool
	Hash  providers.HashKind
	Names providers.NameRules
	Login *Login
	// WriteOnly types take files but cannot list, read back or delete
	// them (a mailbox): ls, restore, verify and prune say so instead of
	// failing, and uploads are never looked up before they are sent.
	WriteOnly bool
	// Retrieve says how a person gets a file back from a WriteOnly type.
	Retrieve string
	New      func(ctx context.Context, s Settings) (providers.Provider, error)
}

// Registry maps each type to its descriptor.
type Registry struct {
	types map[string]Descriptor
}

// New builds a registry; two descriptors of one type are a programming
// error.
func New(ds ...Descriptor) (*Registry, error) {
	r := &Registry{types: make(map[string]Descriptor, len(ds))}
	for _, d := range ds {
		if d.Type == "" || d.New == nil {
			return nil, fmt.Errorf("destination type %q: descriptor without a type or constructor", d.Type)
		}
		if _, dup := r.types[d.Type]; dup {
			return nil, fmt.Errorf("destination type %q registered twice", d.Type)
		}
		r.types[d.Type] = d
	}
	return r, nil
}

// Lookup returns the descriptor of typ.
func (r *Registry) Lookup(typ string) (Descriptor, error) {
	d, ok := r.types[typ]
	if !ok {
		return Descriptor{}, fmt.Errorf("unknown destination type %q (known: %s)", typ, strings.Join(r.Types(), ", "))
	}
	return d, nil
}

// Types lists the registered types, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.types))
	for t := range r.types {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
