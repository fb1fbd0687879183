//go:build unix

package config

import (
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// writableByOthers reports who besides the owner may change fi: "everyone"
// when other users may write it, "group NAME" when its group may and the
// group is not the owner's private group (Debian and Ubuntu give each user
// a group of their own and a umask of 002, so g+w there is harmless).
func writableByOthers(fi os.FileInfo) string {
	mode := fi.Mode().Perm()
	if mode&0o002 != 0 {
		return "every user of this computer"
	}
	if mode&0o020 == 0 {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	gid := strconv.FormatUint(uint64(st.Gid), 10)
	g, gerr := user.LookupGroupId(gid)
	if u, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10)); err == nil && gerr == nil && u.Gid == gid && g.Name == u.Username {
		return ""
	}
	if gerr == nil {
		return "the users of group " + g.Name
	}
	return "the users of group " + gid
}
