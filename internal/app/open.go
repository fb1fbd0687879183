package app

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/logfile"
)

// Command says how one CLI command opens offsite: which config, where it
// logs, and what it may take for itself.
type Command struct {
	// Config is the -c flag; "" looks in the usual places (config.Find).
	Config string
	// Verbose is -v: debug logs whatever the config says.
	Verbose bool
	// Stderr takes the logs and warnings (os.Stderr when nil).
	Stderr io.Writer
	// Watching is set for the commands that watch folders (run, once,
	// check): every watched folder must be there. Every other command must
	// work in the disaster it is run in, so a missing folder only warns.
	Watching bool
	// Lock names the command taking the state lock ("" for none): one
	// daemon per state folder.
	Lock string
	// LogFile also keeps the log in the state folder's offsite.log: a
	// service or a scheduled task has no console.
	LogFile bool
}

// LoadConfig finds and loads the config c names.
func (c Command) LoadConfig() (*config.Config, error) {
	path, err := config.Find(c.Config)
	if err != nil {
		return nil, err
	}
	if c.Watching {
		return config.Load(path)
	}
	cfg, err := config.LoadReadOnly(path)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckFolders(); err != nil {
		fmt.Fprintf(c.Stderr, "offsite: warning: %v\n(going on: this command does not need the watched folders; `run` and `once` do)\n", err)
	}
	return cfg, nil
}

// Logger is the logger c asks for, writing text to Stderr; close ends
// the log file when there is one.
func (c Command) Logger(cfg *config.Config) (log *slog.Logger, close func()) {
	name := ""
	if cfg != nil {
		name = cfg.LogLevel
	}
	level := logfile.Level(name, c.Verbose)
	if c.LogFile && cfg != nil {
		return logfile.Logger(c.Stderr, cfg.StateDir, level)
	}
	return slog.New(slog.NewTextHandler(c.Stderr, &slog.HandlerOptions{Level: level})), func() {}
}

// OpenCommand loads the config c names and opens its state folder as c
// asks. Close also ends the log file.
func OpenCommand(c Command) (*App, error) {
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	cfg, err := c.LoadConfig()
	if err != nil {
		return nil, err
	}
	log, closeLog := c.Logger(cfg)
	a, err := OpenConfig(cfg, log, c.Lock)
	if err != nil {
		closeLog()
		return nil, err
	}
	a.closeLog = closeLog
	return a, nil
}

// With runs fn on offsite opened as c asks, and closes it afterwards.
func With(c Command, fn func(*App) error) error {
	a, err := OpenCommand(c)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}
