package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"
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
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			svc, err := service.New(&managed{}, serviceConfig(exe, cfgPath))
			if err != nil {
				return fmt.Errorf("service: %w", err)
			}
			if args[0] == "status" {
				st, err := svc.Status()
				if err != nil {
					return fmt.Errorf("service status: %w", err)
				}
				fmt.Fprintln(g.stdout, map[service.Status]string{service.StatusRunning: "running", service.StatusStopped: "stopped"}[st])
				return nil
			}
			if err := service.Control(svc, args[0]); err != nil {
				return fmt.Errorf("service %s: %w (this needs an administrator / root shell)", args[0], err)
			}
			fmt.Fprintf(g.stdout, "service %s: done\n", args[0])
			return nil
		},
	}
	return cmd
}

func serviceConfig(exe, cfgPath string) *service.Config {
	return &service.Config{
		Name:        "offsite",
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
	cancel context.CancelFunc
	done   chan error
}

func (m *managed) Start(service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan error, 1)
	go func() { m.done <- m.run(ctx) }()
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

// runManaged runs fn directly from a terminal, and through the service
// manager when the OS started us as a service.
func runManaged(ctx context.Context, cfgPath string, fn func(context.Context) error) error {
	if service.Interactive() {
		return fn(ctx)
	}
	exe, _ := os.Executable()
	svc, err := service.New(&managed{run: fn}, serviceConfig(exe, cfgPath))
	if err != nil {
		return fn(ctx)
	}
	return svc.Run()
}
