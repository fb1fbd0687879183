package app

import (
	"context"
	"io"
	"os"
	"runtime"

	"github.com/offsite-backup/offsite/internal/drives"
	"github.com/offsite-backup/offsite/internal/service"
	"github.com/offsite-backup/offsite/internal/setup"
)

// Wizard is `offsite init` asking its way to a config at path, reading
// answers from in (a terminal or a pipe). Each step after the questions
// runs the command of the same name on the config just written, opened as
// that command opens it (c with Config set to the new file).
func Wizard(c Command, path string, in io.Reader, out io.Writer) *setup.Wizard {
	home, _ := os.UserHomeDir()
	with := func(cfgPath string, fn func(*App) error) error {
		c := c
		c.Config, c.Watching = cfgPath, true
		return With(c, fn)
	}
	return &setup.Wizard{
		Prompt:  setup.TerminalPrompt(in, out),
		Out:     out,
		CfgPath: path,
		Finder:  setup.Finder{Roots: setup.Roots(runtime.GOOS, os.Getenv, home)},
		Drive:   drives.Advice,
		Steps: setup.Steps{
			Auth: func(ctx context.Context, cfgPath, dest string, in io.Reader, out io.Writer) error {
				return with(cfgPath, func(a *App) error { return a.Auth(ctx, dest, AuthDefault, in, out) })
			},
			NotifyTest: func(ctx context.Context, cfgPath string, out io.Writer) (n int, err error) {
				err = with(cfgPath, func(a *App) error { n = a.NotifyTest(ctx, out); return nil })
				return n, err
			},
			Check: func(ctx context.Context, cfgPath string, out io.Writer) (n int, err error) {
				err = with(cfgPath, func(a *App) error { n = a.Check(ctx, out, false); return nil })
				return n, err
			},
			InstallService: func(_ context.Context, cfgPath string, out io.Writer) error {
				return service.Install(cfgPath, out, true)
			},
		},
	}
}
