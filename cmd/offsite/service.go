package main

import (
	"fmt"
	"os"
	"path/filepath"

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
			svc, err := service.New(noopProgram{}, &service.Config{
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
					"SystemdScript":          "",
				},
			})
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

type noopProgram struct{}

func (noopProgram) Start(service.Service) error { return nil }
func (noopProgram) Stop(service.Service) error  { return nil }
