//go:build !linux

package watcher

// writers needs close-write events, which only Linux's inotify gives here.
type writers struct{}

func newWriters() *writers             { return nil }
func (t *writers) add(string)          {}
func (t *writers) writing(string) bool { return false }
func (t *writers) close()              {}
