package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite/internal/app"
	"github.com/offsite-backup/offsite/internal/service"
	"github.com/offsite-backup/offsite/internal/termsafe"
)

func cmdRun(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the daemon in the foreground: watch, queue, upload, notify",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			a, err := app.OpenCommand(g.daemon("run"))
			if err != nil {
				return err
			}
			defer a.Close()
			return service.Run(c.Context(), a.Cfg.File, a.Run)
		},
	}
}

func cmdOnce(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "once",
		Short: "Scan every watch, upload everything due, then exit (non-zero if anything failed)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			a, err := app.OpenCommand(g.daemon("once"))
			if err != nil {
				return err
			}
			defer a.Close()
			if err := a.Once(c.Context()); err != nil {
				return &exitError{code: 2, err: err}
			}
			return nil
		},
	}
}

func cmdPush(g *globals) *cobra.Command {
	var to, as string
	cmd := &cobra.Command{
		Use:   "push FILE --to DEST",
		Short: "Upload one file to a destination now",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return g.withApp(func(a *app.App) error {
				rf, err := a.Push(c.Context(), args[0], to, as, progressFor(g.stdout))
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "uploaded %s to %s:%s (%d bytes, %s)\n", termsafe.Quote(args[0]), to, termsafe.Quote(rf.Path), rf.Size, rf.Hash)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "destination name from the config (required)")
	cmd.Flags().StringVar(&as, "as", "", "remote path (default: the file's name at the destination's root)")
	cmd.MarkFlagRequired("to")
	return cmd
}

func cmdStatus(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what was uploaded, what is waiting, and what needs attention",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return g.withApp(func(a *app.App) error {
				st, err := a.Status(c.Context())
				if err != nil {
					return err
				}
				if asJSON {
					enc := json.NewEncoder(g.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(st)
				}
				st.Print(g.stdout)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print machine-readable JSON (see docs/status.md)")
	return cmd
}

func cmdCheck(g *globals) *cobra.Command {
	var noNotify bool
	var identities []string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check the config, the watched folders, every destination, and send a test notification",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			a, err := app.OpenCommand(g.command("", true))
			if err != nil {
				return err
			}
			defer a.Close()
			fmt.Fprintf(g.stdout, "config %s: ok\n", termsafe.Quote(a.Cfg.File))
			n := a.CheckKeys(g.stdout, identities)
			if n += a.Check(c.Context(), g.stdout, !noNotify); n > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d problem(s) found", n)}
			}
			fmt.Fprintln(g.stdout, "all good")
			return nil
		},
	}
	cmd.Flags().BoolVar(&noNotify, "no-notify", false, "do not send a test message to the notification channels")
	cmd.Flags().StringArrayVar(&identities, "identity", nil, "age identity (private key) file: check it opens what the destinations encrypt")
	return cmd
}

func cmdNotify(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify test",
		Short: "Send a test notification to every configured channel",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "test",
		Short: "Send a test message to every notification channel now and say which ones work",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return g.withApp(func(a *app.App) error {
				if len(a.Cfg.Notify) == 0 {
					return fmt.Errorf("%s has no notify channel: add one under notify: (see config.example.yaml)", a.Cfg.File)
				}
				if n := a.NotifyTest(c.Context(), g.stdout); n > 0 {
					return &exitError{code: 1, err: fmt.Errorf("%d notification channel(s) failed", n)}
				}
				return nil
			})
		},
	})
	return cmd
}

func cmdLs(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ls DEST [FOLDER]",
		Short: "List files at a destination",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			return g.withApp(func(a *app.App) error {
				dir := ""
				if len(args) == 2 {
					dir = args[1]
				}
				files, err := a.List(c.Context(), args[0], dir)
				if err != nil {
					return err
				}
				notes, _ := a.VersionNotes(c.Context(), args[0]) // best effort: ls works without the queue's notes
				for _, f := range files {
					if f.Dir {
						fmt.Fprintf(g.stdout, "%12s  %-20s  %s\n", "-", "", termsafe.Quote(f.Path+"/"))
						continue
					}
					note := ""
					if n := notes[f.Path]; n != "" {
						note = "  (" + termsafe.Quote(n) + ")"
					}
					fmt.Fprintf(g.stdout, "%12d  %-20s  %s%s\n", f.Size, f.ModTime.Local().Format("2006-01-02 15:04:05"), termsafe.Quote(f.Path), note)
				}
				return nil
			})
		},
	}
}

func cmdRestore(g *globals) *cobra.Command {
	var to, latest string
	var exact bool
	var identities []string
	cmd := &cobra.Command{
		Use:   "restore DEST [REMOTE | --latest WATCH] --to PATH [--identity FILE ...]",
		Short: "Download a backup from a destination, decrypt and decompress it, and check it",
		Long: "Download a backup from a destination and check it. A file offsite uploaded again with new content\n" +
			"sits beside the first with a timestamp; naming the first (plain) name restores the newest version\n" +
			"unless --exact is given. An encrypted file is opened with --identity (age key files; give several\n" +
			"when unsure which one) or the passphrase from the config or OFFSITE_PASSPHRASE. --to may be a folder:\n" +
			"the file keeps its original name there. Nothing is written unless every check passes.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			return g.withApp(func(a *app.App) error {
				dest, named := args[0], ""
				if len(args) == 2 {
					named = args[1]
				}
				remote, note, err := a.RestoreTarget(c.Context(), dest, named, latest, exact)
				if err != nil {
					return err
				}
				if note != "" {
					fmt.Fprintln(g.stdout, termsafe.Quote(note))
				}
				path, r, err := a.RestoreFile(c.Context(), dest, remote, to, identities)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "restored %s:%s to %s (%d bytes, SHA-256 %s checked)\n", dest, termsafe.Quote(remote), termsafe.Quote(path), r.Original.Size, r.Original.SHA256)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "where to write the file, or a folder to put it in (required; an existing file is not overwritten)")
	cmd.Flags().BoolVar(&exact, "exact", false, "restore REMOTE itself, not the newest version of its file")
	cmd.Flags().StringVar(&latest, "latest", "", "restore the newest backup of this watch")
	cmd.Flags().StringArrayVar(&identities, "identity", nil, "age identity (private key) file; repeat for several")
	cmd.MarkFlagRequired("to")
	return cmd
}

func cmdVerify(g *globals) *cobra.Command {
	var repair, restore bool
	var identities []string
	var sample int
	cmd := &cobra.Command{
		Use:   "verify [--repair] | verify --restore [DEST] [--identity FILE ...] [--repair]",
		Short: "Check that the uploads are still at their destinations, with the right hash; --restore test-restores them",
		Long: "Check that the uploads are still at their destinations, with the right hash. With --restore, download\n" +
			"the newest backup of each watch at each destination (or DEST) and --sample older ones, decrypt and\n" +
			"decompress them and compare them with the original's SHA-256, keeping nothing on disk.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 && !restore {
				return fmt.Errorf("a destination is only taken with --restore")
			}
			return g.withApp(func(a *app.App) error {
				if restore {
					dest := ""
					if len(args) > 0 {
						dest = args[0]
					}
					t, err := a.VerifyRestore(c.Context(), g.stdout, dest, identities, sample, repair)
					if err != nil {
						return err
					}
					if t.Failed > 0 {
						return &exitError{code: 1, err: fmt.Errorf("%d test restore(s) failed", t.Failed)}
					}
					return nil
				}
				r, err := a.VerifyAll(c.Context(), g.stdout, repair)
				if err != nil {
					return err
				}
				// Repaired copies are on their way; what was not repaired still fails.
				if left := r.Bad - r.Requeued; left > 0 {
					return &exitError{code: 1, err: fmt.Errorf("%d upload(s) missing, changed or not checked at their destination", left)}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "upload missing, changed (or, with --restore, failed) copies again (re-queues them for the daemon)")
	cmd.Flags().BoolVar(&restore, "restore", false, "test-restore backups: download, decrypt, decompress and compare with the original")
	cmd.Flags().StringArrayVar(&identities, "identity", nil, "with --restore: age identity (private key) file; repeat for several")
	cmd.Flags().IntVar(&sample, "sample", 2, "with --restore: older backups to test besides each watch's newest")
	return cmd
}

func cmdRetry(g *globals) *cobra.Command {
	var dest string
	cmd := &cobra.Command{
		Use:   "retry [--to DEST]",
		Short: "Try failed uploads again now, and probe paused destinations (a disk plugged back in)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return g.withApp(func(a *app.App) error {
				stuck, err := a.Retry(c.Context(), dest, g.stdout)
				if err != nil {
					return err
				}
				if stuck > 0 {
					return &exitError{code: 1, err: fmt.Errorf("%d destination(s) still unusable; they stay paused and are probed again by themselves", stuck)}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&dest, "to", "", "only this destination")
	return cmd
}

func cmdPause(g *globals) *cobra.Command {
	var until, watch string
	var hold bool
	cmd := &cobra.Command{
		Use:   "pause --until DATE [--watch NAME] [--hold]",
		Short: "Silence missed-backup alerts until a date (holidays, summer closure)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			t, err := time.ParseInLocation("2006-01-02", until, time.Local)
			if err != nil {
				return fmt.Errorf("--until %q: give a date as YYYY-MM-DD", until)
			}
			return g.withApp(func(a *app.App) error {
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
		},
	}
	cmd.Flags().StringVar(&until, "until", "", "date (YYYY-MM-DD) when alerts resume (required)")
	cmd.Flags().StringVar(&watch, "watch", "", "only this watch")
	cmd.Flags().BoolVar(&hold, "hold", false, "also hold uploads until then (they are queued, not lost)")
	cmd.MarkFlagRequired("until")
	return cmd
}

func cmdResume(g *globals) *cobra.Command {
	var watch string
	cmd := &cobra.Command{
		Use:   "resume [--watch NAME]",
		Short: "End a pause now",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return g.withApp(func(a *app.App) error {
				if err := a.Pause(c.Context(), watch, time.Time{}, false); err != nil {
					return err
				}
				fmt.Fprintln(g.stdout, "missed-backup alerts are on again, and held uploads go out")
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&watch, "watch", "", "only this watch")
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
			cfg, err := g.command("", true).LoadConfig()
			if err != nil && args[0] == "install" {
				return err
			}
			var cfgPath string
			if cfg != nil {
				cfgPath, _ = filepath.Abs(cfg.File)
			}
			switch args[0] {
			case "status":
				fmt.Fprintln(g.stdout, service.Status(cfgPath))
				return nil
			case "install":
				return service.Install(cfgPath, g.stdout, false)
			}
			return service.Control(cfgPath, args[0], g.stdout)
		},
	}
}
