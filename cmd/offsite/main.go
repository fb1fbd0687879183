// Command offsite gets a shop's backup files off the premises: it watches
// backup folders and uploads every complete backup to a USB disk, a network
// share, Google Drive, Dropbox or OneDrive. See `offsite --help`.
package main

import (
	"errors"
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
		termsafe.PrintError(os.Stderr, "offsite: ", err)
		service.ReportFailure(err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
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

// with completes how a command opens offsite with what the flags say:
// the config, -v, and where logs go.
func (g *globals) with(how app.Command) app.Command {
	how.Config, how.Verbose, how.Stderr = g.config, g.verbose, g.stderr
	return how
}

// daemon is how run and once open offsite: watching, holding the state
// lock, and keeping the log in the state folder too, since a service or a
// scheduled task has no console.
func daemon(lock string) app.Command {
	return app.Command{Lock: lock, Watching: true, LogFile: true}
}

// arg is the i-th argument, or "" when it was not given.
func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

// on makes cmd run on offsite opened as how says, closing it afterwards.
func (g *globals) on(how app.Command, cmd *cobra.Command, run func(c *cobra.Command, a *app.App, args []string) error) *cobra.Command {
	cmd.RunE = func(c *cobra.Command, args []string) error {
		return app.With(g.with(how), func(a *app.App) error { return run(c, a, args) })
	}
	return cmd
}

// onApp is on for the commands that neither watch nor lock: most of them.
func (g *globals) onApp(cmd *cobra.Command, run func(c *cobra.Command, a *app.App, args []string) error) *cobra.Command {
	return g.on(app.Command{}, cmd, run)
}
