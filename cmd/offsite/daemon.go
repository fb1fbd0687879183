package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite/internal/app"
	"github.com/offsite-backup/offsite/internal/service"
	"github.com/offsite-backup/offsite/internal/termsafe"
)

func cmdRun(g *globals) *cobra.Command {
	return g.on(daemon("run"), &cobra.Command{
		Use:   "run",
		Short: "Run the daemon in the foreground: watch, queue, upload, notify",
		Args:  cobra.NoArgs,
	}, func(c *cobra.Command, a *app.App, _ []string) error {
		return service.Run(c.Context(), a.Cfg.File, a.Run)
	})
}

func cmdOnce(g *globals) *cobra.Command {
	return g.on(daemon("once"), &cobra.Command{
		Use:   "once",
		Short: "Scan every watch, upload everything due, then exit (non-zero if anything failed)",
		Args:  cobra.NoArgs,
	}, func(c *cobra.Command, a *app.App, _ []string) error {
		if err := a.Once(c.Context()); err != nil {
			return &exitError{code: 2, err: err}
		}
		return nil
	})
}

func cmdStatus(g *globals) *cobra.Command {
	var asJSON bool
	cmd := g.onApp(&cobra.Command{
		Use:   "status",
		Short: "Show what was uploaded, what is waiting, and what needs attention",
		Args:  cobra.NoArgs,
	}, func(c *cobra.Command, a *app.App, _ []string) error {
		st, err := a.Status(c.Context())
		if err != nil {
			return err
		}
		if asJSON {
			return st.WriteJSON(g.stdout)
		}
		st.Print(g.stdout)
		return nil
	})
	cmd.Flags().BoolVar(&asJSON, "json", false, "print machine-readable JSON (see docs/status.md)")
	return cmd
}

func cmdCheck(g *globals) *cobra.Command {
	var noNotify bool
	var identities []string
	cmd := g.on(app.Command{Watching: true}, &cobra.Command{
		Use:   "check",
		Short: "Check the config, the watched folders, every destination, and send a test notification",
		Args:  cobra.NoArgs,
	}, func(c *cobra.Command, a *app.App, _ []string) error {
		fmt.Fprintf(g.stdout, "config %s: ok\n", termsafe.Quote(a.Cfg.File))
		n := a.CheckKeys(g.stdout, identities)
		if n += a.Check(c.Context(), g.stdout, !noNotify); n > 0 {
			return &exitError{code: 1, err: fmt.Errorf("%d problem(s) found", n)}
		}
		fmt.Fprintln(g.stdout, "all good")
		return nil
	})
	cmd.Flags().BoolVar(&noNotify, "no-notify", false, "do not send a test message to the notification channels")
	cmd.Flags().StringArrayVar(&identities, "identity", nil, "age identity (private key) file: check it opens what the destinations encrypt")
	return cmd
}

func cmdNotify(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify test",
		Short: "Send a test notification to every configured channel",
	}
	cmd.AddCommand(g.onApp(&cobra.Command{
		Use:   "test",
		Short: "Send a test message to every notification channel now and say which ones work",
		Args:  cobra.NoArgs,
	}, func(c *cobra.Command, a *app.App, _ []string) error {
		if len(a.Cfg.Notify) == 0 {
			return fmt.Errorf("%s has no notify channel: add one under notify: (see config.example.yaml)", a.Cfg.File)
		}
		if n := a.NotifyTest(c.Context(), g.stdout); n > 0 {
			return &exitError{code: 1, err: fmt.Errorf("%d notification channel(s) failed", n)}
		}
		return nil
	}))
	return cmd
}

// cmdService installs offsite as a Windows service, a systemd unit or a
// launchd job, running `offsite run -c CONFIG` at boot and restarting it
// when it stops unexpectedly.
func cmdService(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:       "service install|uninstall|start|stop|status",
		Short:     "Run offsite as a system service that starts at boot",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"install", "uninstall", "start", "stop", "status"},
		RunE: func(c *cobra.Command, args []string) error {
			cfg, err := g.with(app.Command{Watching: true}).LoadConfig()
			if err != nil && args[0] == "install" {
				return err
			}
			var cfgPath string
			if cfg != nil {
				cfgPath, _ = filepath.Abs(cfg.File)
			}
			return service.Do(args[0], cfgPath, g.stdout)
		},
	}
}

func cmdPause(g *globals) *cobra.Command {
	var until, watch string
	var hold bool
	cmd := g.onApp(&cobra.Command{
		Use:   "pause --until DATE [--watch NAME] [--hold]",
		Short: "Silence missed-backup alerts until a date (holidays, summer closure)",
		Args:  cobra.NoArgs,
	}, func(c *cobra.Command, a *app.App, _ []string) error {
		t, err := time.ParseInLocation("2006-01-02", until, time.Local)
		if err != nil {
			return fmt.Errorf("--until %q: give a date as YYYY-MM-DD", until)
		}
		if err := a.Pause(c.Context(), watch, t, hold); err != nil {
			return err
		}
		what := "all watches"
		if watch != "" {
			what = "watch " + watch
		}
		fmt.Fprintf(g.stdout, "missed-backup alerts for %s are silenced until %s; they resume by themselves then\n", what, t.Format("Mon 2 Jan 2006"))
		if hold {
			fmt.Fprintf(g.stdout, "uploads for %s wait until then too; new backups are queued meanwhile\n", what)
		}
		return nil
	})
	cmd.Flags().StringVar(&until, "until", "", "date (YYYY-MM-DD) when alerts resume (required)")
	cmd.Flags().StringVar(&watch, "watch", "", "only this watch")
	cmd.Flags().BoolVar(&hold, "hold", false, "also hold uploads until then (they are queued, not lost)")
	cmd.MarkFlagRequired("until")
	return cmd
}

func cmdResume(g *globals) *cobra.Command {
	var watch string
	cmd := g.onApp(&cobra.Command{
		Use:   "resume [--watch NAME]",
		Short: "End a pause now",
		Args:  cobra.NoArgs,
	}, func(c *cobra.Command, a *app.App, _ []string) error {
		if err := a.Pause(c.Context(), watch, time.Time{}, false); err != nil {
			return err
		}
		fmt.Fprintln(g.stdout, "missed-backup alerts are on again, and held uploads go out")
		return nil
	})
	cmd.Flags().StringVar(&watch, "watch", "", "only this watch")
	return cmd
}
