// Command offsite gets a shop's backup files off the premises: it watches
// backup folders and uploads every complete backup to a USB disk, a network
// share, Google Drive, Dropbox or OneDrive. See `offsite --help`.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite/internal/app"
	"github.com/offsite-backup/offsite/internal/buildinfo"
	"github.com/offsite-backup/offsite/internal/service"
	"github.com/offsite-backup/offsite/internal/termsafe"
)

// exitError carries a chosen exit status through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := service.SignalContext(os.Stderr)
	defer stop()
	err := newRoot(os.Stdout, os.Stderr).ExecuteContext(ctx)
	if err != nil {
		printError(os.Stderr, err)
		service.ReportFailure(err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

// printError writes err for a person: the lines the error is built of stay
// lines, and a file name inside it cannot colour the terminal or forge a
// line of its own.
func printError(w io.Writer, err error) {
	for i, l := range termsafe.ErrorLines(err) {
		if i == 0 {
			l = "offsite: " + l
		}
		fmt.Fprintln(w, l)
	}
}

type globals struct {
	config  string
	verbose bool
	stdout  io.Writer
	stderr  io.Writer
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "offsite",
		Short: "Get a shop's backup files off the premises, automatically",
		Long: `offsite watches the folders where your point-of-sale or accounting program writes
its backups, and copies every complete backup to a USB disk, a network share,
Google Drive, Dropbox or OneDrive — surviving crashes, reboots and outages, and
telling you when something goes wrong.

Start with:   offsite init      (writes a config)
Then:         offsite check     (tests it)
And:          offsite service install && offsite service start`,
		Version:       buildinfo.Read().Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&g.config, "config", "c", "", "config file (default ./offsite.yaml, then the OS config folder)")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log debug detail")
	root.AddCommand(
		cmdRun(g), cmdOnce(g), cmdPush(g), cmdStatus(g), cmdCheck(g), cmdAuth(g), cmdLs(g),
		cmdRestore(g), cmdVerify(g), cmdService(g), cmdInit(g), cmdPause(g), cmdResume(g), cmdRetry(g), cmdPrune(g), cmdAck(g), cmdNotify(g),
		cmdVersion(g), cmdKey(g),
	)
	return root
}

// command says how a command opens offsite: lock names the command when
// it takes the state lock; watching is set for those that watch folders.
func (g *globals) command(lock string, watching bool) app.Command {
	return app.Command{Config: g.config, Verbose: g.verbose, Stderr: g.stderr, Lock: lock, Watching: watching}
}

// daemon is how run and once open offsite: watching, holding the state
// lock, and keeping the log in the state folder too, since a service or a
// scheduled task has no console.
func (g *globals) daemon(lock string) app.Command {
	c := g.command(lock, true)
	c.LogFile = true
	return c
}

// withApp opens offsite for a command that neither watches nor locks, and
// closes it afterwards.
func (g *globals) withApp(fn func(*app.App) error) error {
	a, err := app.OpenCommand(g.command("", false))
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}
