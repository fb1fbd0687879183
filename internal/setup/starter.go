package setup

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/offsite-backup/offsite"
	"github.com/offsite-backup/offsite/config"
	"golang.org/x/term"
)

// Starter is the config `offsite init --watch --to` writes at cfgPath:
// every backup appearing in watch is copied to the folder to (a USB disk
// or network share), the state folder beside the config.
func Starter(cfgPath, watch, to, name string) string {
	w, _ := filepath.Abs(watch)
	t, _ := filepath.Abs(to)
	return fmt.Sprintf(`# offsite config: see config.example.yaml for every key.
state_dir: %s

watches:
  - name: %s
    path: %s
    settle: 5s            # a file must be unchanged this long before it is sent
    expect_every: 26h     # alert when no new backup arrives within this window
    destinations: [copy]

destinations:
  - name: copy
    type: local
    path: %s

# notify:
#   - url: smtp://user:${SMTP_PASSWORD}@mail.example.com:587/?from=shop@example.com&to=owner@example.com
#     on: [failure, missed, report]
`, quote(filepath.Join(filepath.Dir(mustAbs(cfgPath)), "offsite-state")), name, quote(w), quote(t))
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// WriteNew creates path (0600) with body, never replacing a file that is
// there, even one that appeared since the caller looked.
func WriteNew(path, body string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; edit it, or pass -c NEWFILE", path)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write the config %s: the folder %s does not exist; create it, or pass -c with a path in a folder that does", path, filepath.Dir(mustAbs(path)))
		}
		return fmt.Errorf("write the config: %w", err)
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// TerminalPrompt is NewPrompt for the program's own input: on a terminal
// passwords are read without echo; from a pipe each answer is echoed, so
// the transcript reads like a typed session.
func TerminalPrompt(in io.Reader, out io.Writer) *Prompt {
	var secret func() (string, error)
	echo := true
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		echo = false
		secret = func() (string, error) {
			b, err := term.ReadPassword(int(f.Fd()))
			return string(b), err
		}
	}
	p := NewPrompt(in, out, secret)
	p.Echo = echo
	return p
}

// Quick is `offsite init` given flags instead of answers: the annotated
// example (Example), or a starter that copies every backup appearing in
// Watch to To.
type Quick struct {
	Path, Watch, To, Name string
	Example               bool
}

// Write writes q's config at q.Path, never over a file that is there, and
// tells out what to do next.
func (q Quick) Write(out io.Writer) error {
	switch {
	case q.Example && (q.Watch != "" || q.To != ""):
		return fmt.Errorf("--example writes the annotated example as it is; leave out --watch and --to, or leave out --example")
	case q.Example:
		if err := WriteNew(q.Path, offsite.ExampleConfig()); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s (the annotated example: edit the watches and destinations in it)\nnext: offsite check -c %s\n", q.Path, q.Path)
		return nil
	case q.Watch == "" || q.To == "":
		return fmt.Errorf("give both the backup folder with --watch and where copies go with --to (or neither, to be asked)")
	}
	body := Starter(q.Path, q.Watch, q.To, q.Name)
	// As with the wizard, the config package has the last word: a typo in a
	// flag is said now, not by the first check after "wrote".
	if _, err := config.Parse([]byte(body), mustAbs(q.Path)); err != nil {
		return fmt.Errorf("--watch, --to and --name make a config offsite refuses (nothing was written): %w", err)
	}
	created, err := ensureFolder(q.To)
	if err != nil {
		return fmt.Errorf("--to %s: %w; nothing was written", q.To, err)
	}
	if err := WriteNew(q.Path, body); err != nil {
		if created {
			_ = os.Remove(q.To) // made for this config, and still empty
		}
		return err
	}
	if created {
		fmt.Fprintf(out, "created the folder %s for the copies\n", q.To)
	}
	fmt.Fprintf(out, "wrote %s\nnext: offsite check -c %s, then offsite run -c %s (or offsite service install)\n", q.Path, q.Path, q.Path)
	return nil
}

// ensureFolder makes sure the copies' folder is there: one that does not
// exist yet is made when the disk or share it would be on is there (as
// the wizard offers), and refused when not, naming what is missing.
func ensureFolder(path string) (created bool, err error) {
	there, err := copiesFolder(path, "run init again")
	if err != nil || there {
		return false, err
	}
	if err := os.Mkdir(path, 0o755); err != nil {
		return false, err
	}
	return true, nil
}

// copiesFolder checks the folder copies go to: there when it is a folder
// already; not there and no error when it can be made, because the disk
// or share it would be on is there. The error for a missing disk or share
// ends with then, the next step.
func copiesFolder(path, then string) (there bool, err error) {
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.IsDir():
		return false, fmt.Errorf("%s is a file, not a folder", path)
	case err == nil:
		return true, nil
	case !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("cannot open %s: %v", path, err)
	}
	parent := filepath.Dir(mustAbs(path))
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		return false, fmt.Errorf("%s is not there: plug in the disk or connect the share, then %s", parent, then)
	}
	return false, nil
}
