package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite/internal/setup"
)

// cmdService installs offsite as a Windows service, a systemd unit or a
// launchd job, running `offsite run -c CONFIG` at boot and restarting it
// when it stops unexpectedly.
func cmdService(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:       "service install|uninstall|start|stop|status",
		Short:     "Run offsite as a system service that starts at boot",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"install", "uninstall", "start", "stop", "status"},
		RunE: func(c *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil && args[0] == "install" {
				return err
			}
			var cfgPath string
			if cfg != nil {
				cfgPath, _ = filepath.Abs(cfg.File)
			}
			if args[0] == "status" {
				fmt.Fprintln(g.stdout, serviceStatus(cfgPath))
				return nil
			}
			if args[0] == "install" {
				return installService(cfgPath, g.stdout, false)
			}
			return controlService(cfgPath, args[0], g.stdout)
		},
	}
	return cmd
}

// newService is offsite's service as the OS service manager sees it.
func newService(cfgPath string) (service.Service, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the offsite program to register: %w", err)
	}
	svc, err := service.New(&managed{}, serviceConfig(exe, cfgPath))
	if err != nil {
		return nil, fmt.Errorf("this system has no service manager offsite can use (%v): run `offsite run` from a startup script instead", err)
	}
	return svc, nil
}

// installService registers the service for cfgPath, and starts it too
// when start is set. Without an administrator shell it says how to get one
// rather than pass on the service manager's "access denied".
func installService(cfgPath string, out io.Writer, start bool) error {
	if err := controlService(cfgPath, "install", out); err != nil {
		return err
	}
	if start {
		return controlService(cfgPath, "start", out)
	}
	return nil
}

func controlService(cfgPath, action string, out io.Writer) error {
	manager := setup.Manager(service.Platform())
	if !setup.IsAdmin() {
		return setup.NotAdminError(manager, action)
	}
	svc, err := newService(cfgPath)
	if err != nil {
		return err
	}
	if err := service.Control(svc, action); err != nil {
		return fmt.Errorf("service %s: %w (%s)", action, err, serviceStatus(cfgPath))
	}
	fmt.Fprintf(out, "service %s: done\n", action)
	return nil
}

// serviceStatus is one sentence: running, stopped (and what to run), or
// not installed (and how to install it).
func serviceStatus(cfgPath string) string {
	svc, err := newService(cfgPath)
	if err != nil {
		return err.Error()
	}
	return setup.DescribeService(svc, service.Platform(), serviceName)
}

const serviceName = "offsite"

func serviceConfig(exe, cfgPath string) *service.Config {
	return &service.Config{
		Name:        serviceName,
		DisplayName: "offsite backup uploader",
		Description: "Copies new backup files to offsite destinations.",
		Executable:  exe,
		Arguments:   []string{"run", "-c", cfgPath},
		Option: service.KeyValue{
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
	log    service.Logger // the system log: Windows' Event Log, syslog; may be nil
	cfg    string
	cancel context.CancelFunc
	done   chan error
}

func (m *managed) Start(service.Service) error {
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

func (m *managed) Stop(service.Service) error {
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

// runManaged runs fn directly from a terminal, and through the service
// manager when the OS started us as a service.
func runManaged(ctx context.Context, cfgPath string, fn func(context.Context) error) error {
	if service.Interactive() {
		return fn(ctx)
	}
	exe, _ := os.Executable()
	m := &managed{run: fn, cfg: cfgPath}
	svc, err := service.New(m, serviceConfig(exe, cfgPath))
	if err != nil {
		return fn(ctx)
	}
	if l, err := svc.SystemLogger(nil); err == nil {
		m.log = l
	}
	return svc.Run()
}

// reportServiceFailure writes an error that ends offsite to the system log
// (on Windows the Application Event Log, source offsite) when it runs as a
// service: there is no console to print it on, and a config mistake would
// otherwise show only as "terminated unexpectedly".
func reportServiceFailure(err error) {
	if service.Interactive() {
		return
	}
	exe, _ := os.Executable()
	svc, serr := service.New(&managed{}, serviceConfig(exe, ""))
	if serr != nil {
		return
	}
	if l, lerr := svc.SystemLogger(nil); lerr == nil {
		_ = l.Error("offsite stopped: " + err.Error())
	}
}
