// Command offsite gets a shop's backup files off the premises: it watches
// backup folders and uploads every complete backup to a USB disk, a network
// share, Google Drive, Dropbox or OneDrive. See `offsite --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/buildinfo"
	"github.com/offsite-backup/offsite/internal/logfile"
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
	ctx, stop := signalContext()
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

// signalContext ends the context on the first SIGINT/SIGTERM, so the
// daemon finishes or checkpoints the current chunk; a second signal exits
// at once.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		fmt.Fprintln(os.Stderr, "offsite: stopping after the current chunk (press Ctrl+C again to quit at once)")
		cancel()
		<-ch
		fmt.Fprintln(os.Stderr, "offsite: quitting now; interrupted uploads resume on the next start")
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
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

// loadConfig finds and loads the config named by -c, for the commands that
// watch folders (run, once, check): every watched folder must be there.
func (g *globals) loadConfig() (*config.Config, error) {
	path, err := config.Find(g.config)
	if err != nil {
		return nil, err
	}
	return config.Load(path)
}

// loadConfigReadOnly is loadConfig for every other command: they must work
// in the disaster they are run in, so a missing watched folder is a
// warning, not a refusal.
func (g *globals) loadConfigReadOnly() (*config.Config, error) {
	path, err := config.Find(g.config)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadReadOnly(path)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckFolders(); err != nil {
		fmt.Fprintf(g.stderr, "offsite: warning: %v\n(going on: this command does not need the watched folders; `run` and `once` do)\n", err)
	}
	return cfg, nil
}

// logger writes human-readable logs to stderr.
func (g *globals) logger(cfg *config.Config) *slog.Logger {
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: g.level(cfg)}))
}

// daemonLogger also keeps the log in the state folder's offsite.log.
func (g *globals) daemonLogger(cfg *config.Config) (*slog.Logger, func()) {
	return logfile.Logger(g.stderr, cfg.StateDir, g.level(cfg))
}

func (g *globals) level(cfg *config.Config) slog.Level {
	if cfg == nil {
		return logfile.Level("", g.verbose)
	}
	return logfile.Level(cfg.LogLevel, g.verbose)
}
