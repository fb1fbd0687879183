package app

import (
	"context"
	"io"

	"github.com/offsite-backup/offsite/providers"
)

// broken stands in for a destination that could not be set up: every call
// fails with the set-up error (Fatal), so its jobs are held and alerted on.
type broken struct {
	err  error
	kind providers.HashKind
}

func (b broken) fail() error {
	if providers.KindOf(b.err) == providers.Fatal {
		return b.err
	}
	return &providers.Error{Kind: providers.Fatal, Reason: providers.ReasonOf(b.err), Hint: providers.HintOf(b.err), Err: b.err}
}

func (b broken) Put(context.Context, string, io.ReadSeeker, int64, providers.PutOptions) (providers.RemoteFile, error) {
	return providers.RemoteFile{}, b.fail()
}
func (b broken) Stat(context.Context, string) (providers.RemoteFile, error) {
	return providers.RemoteFile{}, b.fail()
}
func (b broken) List(context.Context, string) ([]providers.RemoteFile, error) { return nil, b.fail() }
func (b broken) Delete(context.Context, string) error                         { return b.fail() }
func (b broken) Get(context.Context, string) (io.ReadCloser, error)           { return nil, b.fail() }
func (b broken) HashKind() providers.HashKind                                 { return b.kind }
