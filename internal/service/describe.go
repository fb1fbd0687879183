package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	kservice "github.com/kardianos/service"
)

// statusSource answers whether the service is installed and running; a
// kardianos/service Service is one.
type statusSource interface {
	Status() (kservice.Status, error)
}

// describe asks src and says the answer as one sentence; platform
// is kardianos/service's Platform(), name the service's name.
func describe(src statusSource, platform, name string) string {
	st, err := src.Status()
	if err != nil && !errors.Is(err, kservice.ErrNotInstalled) {
		// Some managers answer a bare exit status for "no such service".
		if f := unitFile(platform, name); f != "" {
			if _, serr := os.Stat(f); errors.Is(serr, fs.ErrNotExist) {
				err = kservice.ErrNotInstalled
			}
		}
	}
	return sentence(st, err, managerName(platform))
}

// sentence turns the service manager's answer into one sentence
// that says what to do, instead of a bare exit status. manager names it
// ("Windows services", "systemd").
func sentence(st kservice.Status, err error, manager string) string {
	switch {
	case errors.Is(err, kservice.ErrNotInstalled):
		return "offsite is not installed as a service: run `offsite service install` in " + adminShell(manager) + ", then `offsite service start`"
	case err != nil && strings.Contains(err.Error(), "failed state"):
		return "offsite is installed but stopped after an error: read offsite.log in the state folder, then run `offsite service start`"
	case err != nil:
		return fmt.Sprintf("could not tell whether offsite's service runs: %s answered %q; `offsite service install` in %s installs it, offsite.log in the state folder says why it stopped", manager, err.Error(), adminShell(manager))
	case st == kservice.StatusRunning:
		return "offsite is running as a service"
	case st == kservice.StatusStopped:
		return "offsite is installed but stopped: run `offsite service start`"
	}
	return "offsite's service is in a state " + manager + " did not name; see docs/windows.md"
}

// adminShell says which shell installing a service needs, for a sentence
// that says how to get one.
func adminShell(manager string) string {
	if manager == "Windows services" {
		return "an administrator PowerShell (right-click Start → Terminal (Admin) or Windows PowerShell (Admin))"
	}
	return "a root shell (sudo offsite …)"
}

// notAdminError is the refusal `service install` gives in an ordinary
// shell: the service manager would refuse it anyway, less clearly.
func notAdminError(manager, action string) error {
	return fmt.Errorf("offsite service %s needs %s: open one and run the command again there", action, adminShell(manager))
}

// managerName names the service manager kardianos/service chose (its
// Platform string) the way a person knows it.
func managerName(platform string) string {
	switch {
	case platform == "windows-service":
		return "Windows services"
	case strings.HasSuffix(platform, "-systemd"):
		return "systemd"
	case strings.HasSuffix(platform, "-launchd"):
		return "launchd"
	case strings.HasSuffix(platform, "-systemv"), strings.HasSuffix(platform, "-openrc"), strings.HasSuffix(platform, "-upstart"):
		return "the init system (" + strings.TrimPrefix(strings.TrimPrefix(platform, "unix-"), "linux-") + ")"
	case platform == "":
		return "the service manager"
	}
	return platform
}

// unitFile is where the service's definition lives for managers whose
// status command cannot tell "not installed" from other failures (System
// V's `service NAME status` exits 1 for both); "" when the manager says
// so itself or the place is not known.
func unitFile(platform, name string) string {
	switch platform {
	case "unix-systemv":
		return "/etc/init.d/" + name
	case "linux-openrc":
		return "/etc/init.d/" + name
	case "linux-upstart":
		return "/etc/init/" + name + ".conf"
	}
	return ""
}
