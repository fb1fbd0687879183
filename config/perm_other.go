//go:build !unix

package config

import "os"

// writableByOthers: Windows guards files with ACLs, which the mode bits Go
// reports do not reflect; nothing is checked there.
func writableByOthers(os.FileInfo) string { return "" }
