package service

import (
	"errors"
	"strings"
	"testing"

	kservice "github.com/kardianos/service"
)

// TestServiceSentence: each answer of the service manager becomes a
// sentence saying what to do next, never a bare exit status.
func TestServiceSentence(t *testing.T) {
	for _, tc := range []struct {
		st      kservice.Status
		err     error
		manager string
		want    []string
	}{
		{kservice.StatusRunning, nil, "systemd", []string{"offsite is running"}},
		{kservice.StatusStopped, nil, "Windows services", []string{"installed but stopped", "offsite service start"}},
		{kservice.StatusUnknown, kservice.ErrNotInstalled, "Windows services", []string{"not installed", "offsite service install", "administrator PowerShell"}},
		{kservice.StatusUnknown, kservice.ErrNotInstalled, "systemd", []string{"not installed", "root shell"}},
		{kservice.StatusUnknown, errors.New("service in failed state"), "systemd", []string{"stopped after an error", "offsite.log", "offsite service start"}},
		{kservice.StatusUnknown, errors.New("exit status 1"), "systemd", []string{"could not tell", "systemd answered \"exit status 1\"", "offsite service install"}},
		{kservice.StatusUnknown, nil, "launchd", []string{"did not name", "docs/windows.md"}},
	} {
		got := sentence(tc.st, tc.err, tc.manager)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("sentence(%v, %v, %s) = %q, lacks %q", tc.st, tc.err, tc.manager, got, w)
			}
		}
	}
	if err := notAdminError("Windows services", "install"); !strings.Contains(err.Error(), "administrator PowerShell") || !strings.Contains(err.Error(), "service install") {
		t.Errorf("notAdminError = %v", err)
	}
}

func TestManager(t *testing.T) {
	for in, want := range map[string]string{
		"windows-service": "Windows services",
		"linux-systemd":   "systemd",
		"darwin-launchd":  "launchd",
		"unix-systemv":    "the init system (systemv)",
		"":                "the service manager",
	} {
		if got := managerName(in); got != want {
			t.Errorf("managerName(%q) = %q, want %q", in, got, want)
		}
	}
}

type fakeStatus struct {
	st  kservice.Status
	err error
}

func (f fakeStatus) Status() (kservice.Status, error) { return f.st, f.err }

// TestDescribeService: the answer of a fake service manager becomes the
// sentence, and System V's bare "exit status 1" for a service whose init
// script is not there reads as "not installed".
func TestDescribeService(t *testing.T) {
	if got := describe(fakeStatus{st: kservice.StatusRunning}, "windows-service", "offsite"); got != "offsite is running as a service" {
		t.Errorf("running: %q", got)
	}
	if got := describe(fakeStatus{st: kservice.StatusStopped}, "windows-service", "offsite"); !strings.Contains(got, "installed but stopped: run `offsite service start`") {
		t.Errorf("stopped: %q", got)
	}
	if got := describe(fakeStatus{err: kservice.ErrNotInstalled}, "windows-service", "offsite"); !strings.Contains(got, "not installed") || !strings.Contains(got, "administrator PowerShell") {
		t.Errorf("not installed: %q", got)
	}
	exit1 := fakeStatus{err: errors.New("exit status 1")}
	// No init script of that name: not installed.
	if got := describe(exit1, "unix-systemv", "offsite-test-absent-x9"); !strings.Contains(got, "not installed") || strings.Contains(got, "exit status") {
		t.Errorf("systemv without a script: %q", got)
	}
	// A manager offsite cannot look behind keeps the answer, in a sentence.
	if got := describe(exit1, "linux-systemd", "offsite"); !strings.Contains(got, `answered "exit status 1"`) {
		t.Errorf("systemd error: %q", got)
	}
}
