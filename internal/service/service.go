// Package service runs offsite as a system service (a Windows service, a
// systemd unit, a launchd job) through kardianos/service: installing and
// controlling it, running the daemon under the service manager, and
// saying what the manager answered, and any failure that ends offsite,
// where a technician looks (the Event Log on Windows).
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	kservice "github.com/kardianos/service"
)

// newService is offsite's service as the OS service manager sees it.
func newService(cfgPath string) (kservice.Service, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the offsite program to register: %w", err)
	}
	svc, err := kservice.New(&managed{}, serviceConfig(exe, cfgPath))
	if err != nil {
		return nil, fmt.Errorf("this system has no service manager offsite can use (%v): run `offsite run` from a startup script instead", err)
	}
	return svc, nil
}

// Install registers the service for cfgPath, and starts it too when
// start is set. Without an administrator shell it says how to get one
// rather than pass on the service manager's "access denied".
func Install(cfgPath string, out io.Writer, start bool) error {
	if err := Control(cfgPath, "install", out); err != nil {
		return err
	}
	if start {
		return Control(cfgPath, "start", out)
	}
	return nil
}

// Control runs a service manager action (install, uninstall, start, stop)
// on the service for cfgPath, refusing at once outside an administrator
// shell.
func Control(cfgPath, action string, out io.Writer) error {
	manager := managerName(kservice.Platform())
	if !isAdmin() {
		return notAdminError(manager, action)
	}
	svc, err := newService(cfgPath)
	if err != nil {
		return err
	}
	if err := kservice.Control(svc, action); err != nil {
		return fmt.Errorf("service %s: %w (%s)", action, err, Status(cfgPath))
	}
	fmt.Fprintf(out, "service %s: done\n", action)
	return nil
}

// Status is one sentence: running, stopped (and what to run), or
// not installed (and how to install it).
func Status(cfgPath string) string {
	svc, err := newService(cfgPath)
	if err != nil {
		return err.Error()
	}
	return describe(svc, kservice.Platform(), serviceName)
}

const serviceName = "offsite"

func serviceConfig(exe, cfgPath string) *kservice.Config {
	return &kservice.Config{
		Name:        serviceName,
		DisplayName: "offsite backup uploader",
		Description: "Copies new backup files to offsite destinations.",
		Executable:  exe,
		Arguments:   []string{"run", "-c", cfgPath},
		Option: kservice.KeyValue{
			"DelayedAutoStart":       true,
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "10s",
			"Restart":                "always",
		},
	}
}

// managed runs the daemon under a service manager: Windows' SCM must be
// told the service started and be able to stop it, or it kills the
// process after 30 seconds.
type managed struct {
	run    func(context.Context) error
	log    kservice.Logger // the system log: Windows' Event Log, syslog; may be nil
	cfg    string
	cancel context.CancelFunc
	done   chan error
}

func (m *managed) Start(kservice.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan error, 1)
	m.info(fmt.Sprintf("offsite started with the config %s; what it does is logged in offsite.log in the state folder", m.cfg))
	go func() {
		err := m.run(ctx)
		if ctx.Err() == nil {
			// The daemon stopped although nobody asked: a service that
			// looks running but does nothing is the one failure nobody
			// notices. Say why where a technician looks, and exit so the
			// service manager restarts it (restart after 10s).
			if err == nil {
				err = errors.New("the daemon returned without being asked to stop")
			}
			m.error("offsite stopped: " + err.Error())
			os.Exit(1)
		}
		m.done <- err
	}()
	return nil
}

func (m *managed) Stop(kservice.Service) error {
	if m.cancel == nil {
		return nil
	}
	m.cancel()
	select {
	case err := <-m.done:
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("offsite did not stop within 30s; interrupted uploads resume at the next start")
	}
}

func (m *managed) info(msg string) {
	if m.log != nil {
		_ = m.log.Info(msg) // the system log is a courtesy; offsite.log has it all
	}
}

func (m *managed) error(msg string) {
	if m.log != nil {
		_ = m.log.Error(msg)
	}
}

// Run runs fn directly from a terminal, and through the service manager
// when the OS started this process as a service.
func Run(ctx context.Context, cfgPath string, fn func(context.Context) error) error {
	if kservice.Interactive() {
		return fn(ctx)
	}
	exe, _ := os.Executable()
	m := &managed{run: fn, cfg: cfgPath}
	svc, err := kservice.New(m, serviceConfig(exe, cfgPath))
	if err != nil {
		return fn(ctx)
	}
	if l, err := svc.SystemLogger(nil); err == nil {
		m.log = l
	}
	return svc.Run()
}

// ReportFailure writes an error that ends offsite to the system log
// (on Windows the Application Event Log, source offsite) when it runs as a
// service: there is no console to print it on, and a config mistake would
// otherwise show only as "terminated unexpectedly".
func ReportFailure(err error) {
	if kservice.Interactive() {
		return
	}
	exe, _ := os.Executable()
	svc, serr := kservice.New(&managed{}, serviceConfig(exe, ""))
	if serr != nil {
		return
	}
	if l, lerr := svc.SystemLogger(nil); lerr == nil {
		_ = l.Error("offsite stopped: " + err.Error())
	}
}

// Do carries out `offsite service ACTION` for the config at cfgPath: ""
// when none loads, which every action but install can do without.
func Do(action, cfgPath string, out io.Writer) error {
	switch action {
	case "status":
		_, err := fmt.Fprintln(out, Status(cfgPath))
		return err
	case "install":
		return Install(cfgPath, out, false)
	}
	return Control(cfgPath, action, out)
}
