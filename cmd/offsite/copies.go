package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite/internal/app"
	"github.com/offsite-backup/offsite/internal/progress"
	"github.com/offsite-backup/offsite/internal/termsafe"
)

func cmdPush(g *globals) *cobra.Command {
	var to, as string
	cmd := g.onApp(&cobra.Command{
		Use:   "push FILE --to DEST",
		Short: "Upload one file to a destination now",
		Args:  cobra.ExactArgs(1),
	}, func(c *cobra.Command, a *app.App, args []string) error {
		rf, err := a.Push(c.Context(), args[0], to, as, progress.For(g.stdout))
		if err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "uploaded %s to %s:%s (%d bytes, %s)\n", termsafe.Quote(args[0]), to, termsafe.Quote(rf.Path), rf.Size, rf.Hash)
		return nil
	})
	cmd.Flags().StringVar(&to, "to", "", "destination name from the config (required)")
	cmd.Flags().StringVar(&as, "as", "", "remote path (default: the file's name at the destination's root)")
	cmd.MarkFlagRequired("to")
	return cmd
}

func cmdLs(g *globals) *cobra.Command {
	return g.onApp(&cobra.Command{
		Use:   "ls DEST [FOLDER]",
		Short: "List files at a destination",
		Args:  cobra.RangeArgs(1, 2),
	}, func(c *cobra.Command, a *app.App, args []string) error {
		files, err := a.Listing(c.Context(), args[0], arg(args, 1))
		if err != nil {
			return err
		}
		for _, f := range files {
			switch {
			case f.Dir:
				fmt.Fprintf(g.stdout, "%12s  %-20s  %s\n", "-", "", termsafe.Quote(f.Path+"/"))
			case f.Note != "":
				fmt.Fprintf(g.stdout, "%12d  %-20s  %s  (%s)\n", f.Size, f.ModTime.Local().Format(time.DateTime), termsafe.Quote(f.Path), termsafe.Quote(f.Note))
			default:
				fmt.Fprintf(g.stdout, "%12d  %-20s  %s\n", f.Size, f.ModTime.Local().Format(time.DateTime), termsafe.Quote(f.Path))
			}
		}
		return nil
	})
}

func cmdRestore(g *globals) *cobra.Command {
	var to, latest string
	var exact bool
	var identities []string
	cmd := g.onApp(&cobra.Command{
		Use:   "restore DEST [REMOTE | --latest WATCH] --to PATH [--identity FILE ...]",
		Short: "Download a backup from a destination, decrypt and decompress it, and check it",
		Long: "Download a backup from a destination and check it. A file offsite uploaded again with new content\n" +
			"sits beside the first with a timestamp; naming the first (plain) name restores the newest version\n" +
			"unless --exact is given. An encrypted file is opened with --identity (age key files; give several\n" +
			"when unsure which one) or the passphrase from the config or OFFSITE_PASSPHRASE. --to may be a folder:\n" +
			"the file keeps its original name there. Nothing is written unless every check passes.",
		Args: cobra.RangeArgs(1, 2),
	}, func(c *cobra.Command, a *app.App, args []string) error {
		dest := args[0]
		remote, note, err := a.RestoreTarget(c.Context(), dest, arg(args, 1), latest, exact)
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
	cmd := g.onApp(&cobra.Command{
		Use:   "verify [--repair] | verify --restore [DEST] [--identity FILE ...] [--repair]",
		Short: "Check that the uploads are still at their destinations, with the right hash; --restore test-restores them",
		Long: "Check that the uploads are still at their destinations, with the right hash. With --restore, download\n" +
			"the newest backup of each watch at each destination (or DEST) and --sample older ones, decrypt and\n" +
			"decompress them and compare them with the original's SHA-256, keeping nothing on disk.",
		Args: cobra.MaximumNArgs(1),
	}, func(c *cobra.Command, a *app.App, args []string) error {
		if len(args) > 0 && !restore {
			return fmt.Errorf("a destination is only taken with --restore")
		}
		if restore {
			t, err := a.VerifyRestore(c.Context(), g.stdout, arg(args, 0), identities, sample, repair)
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
	cmd.Flags().BoolVar(&repair, "repair", false, "upload missing, changed (or, with --restore, failed) copies again (re-queues them for the daemon)")
	cmd.Flags().BoolVar(&restore, "restore", false, "test-restore backups: download, decrypt, decompress and compare with the original")
	cmd.Flags().StringArrayVar(&identities, "identity", nil, "with --restore: age identity (private key) file; repeat for several")
	cmd.Flags().IntVar(&sample, "sample", 2, "with --restore: older backups to test besides each watch's newest")
	return cmd
}

func cmdRetry(g *globals) *cobra.Command {
	var dest string
	cmd := g.onApp(&cobra.Command{
		Use:   "retry [--to DEST]",
		Short: "Try failed uploads again now, and probe paused destinations (a disk plugged back in)",
		Args:  cobra.NoArgs,
	}, func(c *cobra.Command, a *app.App, _ []string) error {
		stuck, err := a.Retry(c.Context(), dest, g.stdout)
		if err != nil {
			return err
		}
		if stuck > 0 {
			return &exitError{code: 1, err: fmt.Errorf("%d destination(s) still unusable; they stay paused and are probed again by themselves", stuck)}
		}
		return nil
	})
	cmd.Flags().StringVar(&dest, "to", "", "only this destination")
	return cmd
}

func cmdPrune(g *globals) *cobra.Command {
	var dryRun bool
	cmd := g.onApp(&cobra.Command{
		Use:   "prune [--dry-run]",
		Short: "Delete old copies at destinations as their keep: rules allow, saying why for each",
		Long: "prune applies the keep: rules of destinations and schedules within each backup series: the versions of\n" +
			"one file, and files whose names differ only by a date or counter (\"dagsavslut 2026-11-20.bak\",\n" +
			"\"backup_0042.zip\"). A series of one copy is never pruned. It only deletes files offsite uploaded itself,\n" +
			"never the newest copy of a backup, and nothing of a watch whose newest upload is failing. --dry-run\n" +
			"lists every series with what it would keep and delete, and why.",
		Args: cobra.NoArgs,
	}, func(c *cobra.Command, a *app.App, _ []string) error {
		if _, err := a.Prune(c.Context(), dryRun, g.stdout); err != nil {
			return &exitError{code: 2, err: err}
		}
		return nil
	})
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only show what would be deleted and why")
	return cmd
}

func cmdAck(g *globals) *cobra.Command {
	var dest, watch string
	cmd := g.onApp(&cobra.Command{
		Use:   "ack [--to DEST] [--watch WATCH]",
		Short: "Acknowledge backups deleted before they were sent, or refused (a link in a backup's place, an unreadable file), so status stops listing them",
		Args:  cobra.NoArgs,
	}, func(c *cobra.Command, a *app.App, _ []string) error {
		deleted, refused, err := a.Acknowledge(c.Context(), dest, watch)
		if err != nil {
			return err
		}
		if watch == "" {
			fmt.Fprintf(g.stdout, "%d deleted backup(s) acknowledged; status no longer lists them\n", deleted)
		}
		if dest == "" {
			fmt.Fprintf(g.stdout, "%d refused backup(s) acknowledged; a file written again is queued as usual\n", refused)
		}
		return nil
	})
	cmd.Flags().StringVar(&dest, "to", "", "only deleted backups of this destination")
	cmd.Flags().StringVar(&watch, "watch", "", "only refused backups of this watch")
	return cmd
}
