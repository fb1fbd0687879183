// Package drives tells whether a folder is on a drive that offsite running
// as a Windows service can see. A drive letter mapped to a network share
// belongs to the user's logon session: the service (Local System by
// default) has no such letter, so a watch or destination written as E:\…
// works from the user's terminal and fails once offsite runs at boot.
package drives

import (
	"fmt"
	"strings"
)

// Kind is what a drive letter stands for, as Windows' GetDriveType says.
type Kind int

const (
	Unknown   Kind = iota
	Missing        // no such drive in this session
	Removable      // USB stick or disk
	Fixed          // a local disk
	Remote         // a mapped network share
	CDROM
	RAMDisk
)

// Drive describes one drive letter: its kind and, for a mapped share, the
// share's own path (\\server\share).
type Drive struct {
	Kind Kind
	UNC  string
}

// Lookup reports on the drive letter "E:".
type Lookup func(letter string) Drive

// Advice returns a sentence for a person when path is on a drive letter a
// service cannot rely on, or "" when it is fine (a local disk, a USB disk,
// a UNC path, any path on an OS without drive letters).
func Advice(path string) string { return advise(path, lookup) }

func advise(path string, look Lookup) string {
	if look == nil {
		return ""
	}
	l, rest, ok := Letter(path)
	if !ok {
		return ""
	}
	d := look(l)
	switch d.Kind {
	case Remote:
		unc := `\\server\share`
		if d.UNC != "" {
			unc = strings.TrimRight(d.UNC, `\`) + `\` + strings.TrimLeft(rest, `\/`)
			unc = strings.TrimRight(unc, `\`)
		}
		return fmt.Sprintf("%s is a network drive mapped for your Windows user; the offsite service does not see drive letters mapped by a user: write the share's own path instead, %s", l, unc)
	case Missing:
		return fmt.Sprintf("there is no drive %s on this computer now (a disk not plugged in, or a drive mapped only in another session): plug it in, or write a network share as \\\\server\\share\\folder", l)
	}
	return ""
}

// Letter splits "E:\Backups" into "E:" and `\Backups`. A UNC path or a
// path without a drive letter gives ok false.
func Letter(path string) (letter, rest string, ok bool) {
	if len(path) < 2 || path[1] != ':' {
		return "", "", false
	}
	c := path[0] | 0x20
	if c < 'a' || c > 'z' {
		return "", "", false
	}
	if len(path) > 2 && path[2] != '\\' && path[2] != '/' {
		return "", "", false // "C:relative" is relative to a drive's current folder; not offered by Explorer
	}
	return strings.ToUpper(path[:2]), path[2:], true
}
