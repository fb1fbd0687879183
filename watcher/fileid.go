package watcher

// FileID names one file on one volume whatever its path: device and inode
// on Unix, volume serial and file index on Windows. A reader compares the
// handle it opened with the File's ID, so a path swapped for a link or
// another file between "ready" and the read is noticed.
type FileID struct {
	Dev, Ino uint64
}

// IsZero reports an unknown identity (a File made by hand, or an OS that
// would not say).
func (id FileID) IsZero() bool { return id == FileID{} }
