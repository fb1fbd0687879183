// Package setup is `offsite init` as a conversation: it suggests the backup
// folders it finds, asks where copies go and where alerts go, writes a
// commented config, logs cloud destinations in, sends a test alert, checks
// everything and offers to install the service. It reads answers from any
// io.Reader, so a terminal, a pipe and a test take the same path.
package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/offsite-backup/offsite/config"
)

// Steps are the parts of offsite the wizard calls once the config is
// written; each reads the config at cfgPath like the command of the same
// name. A nil step is skipped.
type Steps struct {
	// Auth logs destination dest in, reading any pasted code from in.
	Auth func(ctx context.Context, cfgPath, dest string, in io.Reader, out io.Writer) error
	// NotifyTest sends a test message to every channel and returns how many failed.
	NotifyTest func(ctx context.Context, cfgPath string, out io.Writer) (int, error)
	// Check tests folders and destinations (no test message) and returns the problems found.
	Check func(ctx context.Context, cfgPath string, out io.Writer) (int, error)
	// InstallService installs and starts the service for cfgPath.
	InstallService func(ctx context.Context, cfgPath string, out io.Writer) error
}

// Wizard asks the questions and writes the config.
type Wizard struct {
	Prompt  *Prompt
	Out     io.Writer
	CfgPath string // where the config goes
	Finder  Finder // where to look for backup folders
	Steps   Steps  // what runs after the config is written
	// Drive returns advice when path is on a drive a service cannot see
	// (a mapped network drive on Windows), else ""; nil gives none.
	Drive func(path string) string
}

// errKept ends the questions when the user chose to keep an existing
// config: Run then says so and succeeds.
var errKept = errors.New("kept the existing config")

// Run asks, writes the config and runs the steps after it; a user who
// keeps the config that is there ends it without error. The config is
// written 0600, never over an existing file unless the user says so (the
// old one is kept beside it as .old). An error before the config is
// written says that nothing was; one after it says the config is there.
func (w *Wizard) Run(ctx context.Context) error {
	p := w.Prompt
	p.done = ctx.Done()
	abs, err := filepath.Abs(w.CfgPath)
	if err != nil {
		return fmt.Errorf("config path %s: %w", w.CfgPath, err)
	}
	plan, mode, err := w.ask(ctx, abs)
	switch {
	case errors.Is(err, errKept):
		fmt.Fprintf(w.Out, "Kept %s as it is. Edit it, or run offsite init -c NEWFILE.\n", w.CfgPath)
		return nil
	case errors.Is(err, ErrNoAnswer):
		return fmt.Errorf("%w; nothing was written. Run offsite init in a terminal to be asked, or pass --watch and --to", err)
	case err != nil:
		return fmt.Errorf("%w; nothing was written", err)
	}
	body := Render(plan)
	// The config package has the last word: what it refuses is not written.
	if _, err := config.Parse([]byte(body), abs); err != nil {
		return fmt.Errorf("the answers make a config offsite refuses (nothing was written): %w", err)
	}
	if err := writeConfig(abs, body, mode); err != nil {
		return err
	}
	if runtime.GOOS == "windows" {
		// Mode bits mean nothing there: the folder's permissions decide.
		p.Say("\nWrote %s. It may hold passwords: keep its folder for administrators only (docs/windows.md, step 1).", abs)
	} else {
		p.Say("\nWrote %s (readable only by you: it may hold passwords).", abs)
	}
	if err := w.after(ctx, abs, plan); err != nil {
		return fmt.Errorf("%w; the config %s is written: offsite check -c %s tests it", err, abs, abs)
	}
	return nil
}

// ask puts the questions; mode says what to do with a config already at
// abs (the user agreed to replace it, or there was none).
func (w *Wizard) ask(ctx context.Context, abs string) (plan Plan, mode writeMode, err error) {
	p := w.Prompt
	if _, err := os.Stat(abs); err == nil {
		p.Say("%s already exists.", abs)
		ok, err := p.YesNo("Replace it? The old one is kept as "+filepath.Base(abs)+".old", false)
		if err != nil {
			return plan, mode, err
		}
		if !ok {
			return plan, mode, errKept
		}
		mode = keepOld
	} else if !errors.Is(err, fs.ErrNotExist) {
		return plan, mode, fmt.Errorf("config %s: %w", abs, err)
	}

	plan.StateDir = filepath.Join(filepath.Dir(abs), "offsite-state")
	p.Say("offsite copies the backup files your shop's programs write to a USB disk, a network share or a cloud.")
	p.Say("Press Enter to take the answer in [brackets].\n")
	if plan.Watches, err = w.askWatches(ctx); err != nil {
		return plan, mode, err
	}
	if plan.Destinations, err = w.askDestinations(plan.Watches); err != nil {
		return plan, mode, err
	}
	for i := range plan.Watches {
		if plan.Watches[i].ExpectEvery, err = w.askExpect(plan.Watches[i]); err != nil {
			return plan, mode, err
		}
	}
	if plan.Notify, err = w.askNotify(); err != nil {
		return plan, mode, err
	}
	return plan, mode, nil
}

// after runs what needs the written config: logins, the test alert, the
// check and the service.
func (w *Wizard) after(ctx context.Context, cfg string, plan Plan) error {
	p, s := w.Prompt, w.Steps
	for _, d := range plan.Destinations {
		if d.Type == "local" || s.Auth == nil {
			continue
		}
		ok, err := p.YesNo(fmt.Sprintf("Log in to %s (%s) now?", d.Name, d.Type), true)
		if err != nil {
			return err
		}
		if !ok {
			p.Say("  later: offsite auth %s -c %s", d.Name, cfg)
			continue
		}
		if err := s.Auth(ctx, cfg, d.Name, p.Reader(), w.Out); err != nil {
			p.Say("  ✗ %v\n  try again later with: offsite auth %s -c %s", err, d.Name, cfg)
		}
	}
	if err := w.testAlerts(ctx, cfg, &plan); err != nil {
		return err
	}
	checked := true
	if s.Check != nil {
		p.Say("\nChecking the folders and destinations…")
		n, err := s.Check(ctx, cfg, w.Out)
		if err != nil || n > 0 {
			checked = false
			if err != nil {
				p.Say("  ✗ %v", err)
			}
			p.Say("  Fix what is marked ✗ above, then run: offsite check -c %s", cfg)
		}
	}
	if s.InstallService != nil && checked {
		ok, err := p.YesNo("\nInstall offsite as a service, so it runs at every start of this computer?", true)
		if err != nil {
			return err
		}
		if ok {
			if err := s.InstallService(ctx, cfg, w.Out); err != nil {
				p.Say("  ✗ %v", err)
			} else {
				p.Say("  offsite now runs in the background. See what it did with: offsite status -c %s", cfg)
				return nil
			}
		}
		p.Say("Start it with: offsite run -c %s (or later: offsite service install -c %s)", cfg, cfg)
	}
	return nil
}

// testAlerts sends the test alert; when it does not go out, the address
// may be given again (a mistyped password is the usual cause) and the
// config is rewritten with it.
func (w *Wizard) testAlerts(ctx context.Context, cfg string, plan *Plan) error {
	p, s := w.Prompt, w.Steps
	for len(plan.Notify) > 0 && s.NotifyTest != nil {
		p.Say("\nSending a test alert…")
		if n, err := s.NotifyTest(ctx, cfg, w.Out); err == nil && n == 0 {
			p.Say("  Look for it now: if it is not there, check the spam folder.")
			return nil
		} else if err != nil {
			p.Say("  ✗ %v", err)
		}
		again, err := p.YesNo("The test alert did not go out. Give the alert address again?", true)
		if err != nil {
			return err
		}
		if !again {
			p.Say("  Fix the address under notify: in %s, then run: offsite notify test -c %s", cfg, cfg)
			return nil
		}
		if plan.Notify, err = w.askNotify(); err != nil {
			return err
		}
		body := Render(*plan)
		if _, err := config.Parse([]byte(body), cfg); err != nil {
			return fmt.Errorf("the new alert address makes a config offsite refuses: %w", err)
		}
		if err := writeConfig(cfg, body, overwrite); err != nil {
			return err
		}
		p.Say("  Wrote the new address into %s.", cfg)
	}
	return nil
}

func (w *Wizard) askWatches(ctx context.Context) ([]Watch, error) {
	p := w.Prompt
	found := w.Finder.Find(ctx)
	var watches []Watch
	for {
		q := "Which folder does your program write its backups into?"
		if len(watches) > 0 {
			q = "Another backup folder? (Enter when done)"
		}
		p.Say("%s", q)
		var fresh []Found
		for _, f := range found {
			if !hasWatch(watches, f.Dir) {
				fresh = append(fresh, f)
			}
		}
		if len(fresh) > 0 {
			p.Say("  Folders here with recent backup files:")
			for i, f := range fresh {
				p.Say("  %d) %s  (%d file(s), newest %s)", i+1, f.Dir, f.Files, f.Newest.Local().Format("2006-01-02 15:04"))
			}
			p.Say("  Type a number from the list, or the folder's path.")
		} else if len(watches) == 0 {
			p.Say("  Type the folder's path: your program's backup settings show where it writes.")
		}
		ans, err := p.Ask("Folder", "", func(s string) (string, error) {
			if s == "" {
				if len(watches) > 0 {
					return "", nil
				}
				return "", errors.New("offsite needs at least one folder to watch")
			}
			if n, ok := number(s); ok {
				if n < 1 || n > len(fresh) {
					return "", fmt.Errorf("there is no folder %d in the list", n)
				}
				return fresh[n-1].Dir, nil
			}
			return w.existingFolder(s)
		})
		if err != nil {
			return nil, err
		}
		if ans == "" {
			return watches, nil
		}
		if hasWatch(watches, ans) {
			p.Say("  %s is already watched.", ans)
			continue
		}
		name := uniqueName(folderName(ans), func(n string) bool {
			for _, wt := range watches {
				if wt.Name == n {
					return true
				}
			}
			return false
		})
		watches = append(watches, Watch{Name: name, Path: ans})
		p.Say("  Watching %s (its copies go into a folder named %s).\n", ans, name)
	}
}

// existingFolder accepts s when it names a folder that is there.
func (w *Wizard) existingFolder(s string) (string, error) {
	path, err := absPath(s)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%s does not exist: check the spelling, or copy the path from the Explorer's address bar", path)
	case err != nil:
		return "", fmt.Errorf("cannot open %s: %v", path, err)
	case !fi.IsDir():
		return "", fmt.Errorf("%s is a file: give the folder it is in (%s)", path, filepath.Dir(path))
	}
	if advice := w.driveAdvice(path); advice != "" {
		return "", errors.New(advice)
	}
	return path, nil
}

var destKinds = []struct{ typ, label string }{
	{"local", "a folder: USB disk, second disk or network share"},
	{"gdrive", "Google Drive"},
	{"dropbox", "Dropbox"},
	{"onedrive", "OneDrive"},
}

func (w *Wizard) askDestinations(watches []Watch) ([]Destination, error) {
	p := w.Prompt
	labels := make([]string, len(destKinds))
	for i, k := range destKinds {
		labels[i] = k.label
	}
	var dests []Destination
	taken := func(n string) bool {
		for _, d := range dests {
			if d.Name == n {
				return true
			}
		}
		return false
	}
	for {
		q := "\nWhere should the copies go?"
		if len(dests) > 0 {
			q = "Where else?"
			more, err := p.YesNo("\nAlso copy somewhere else?", false)
			if err != nil {
				return nil, err
			}
			if !more {
				return dests, nil
			}
		}
		i, err := p.Choose(q, labels, 0)
		if err != nil {
			return nil, err
		}
		d := Destination{Type: destKinds[i].typ}
		if d.Type == "local" {
			if d.Path, err = p.Ask("Folder to copy to (such as E:\\Backups or \\\\server\\share\\backups)", "", func(s string) (string, error) {
				return w.destFolder(s, watches)
			}); err != nil {
				return nil, err
			}
			d.Name = uniqueName(localName(d.Path), taken)
		} else {
			if d, err = w.askCloud(d); err != nil {
				return nil, err
			}
			d.Name = uniqueName(d.Type, taken)
		}
		dests = append(dests, d)
		p.Say("  Added destination %s.", d.Name)
	}
}

// destFolder accepts a local destination folder, creating it (once asked)
// when only the last part is missing: the disk must be there.
func (w *Wizard) destFolder(s string, watches []Watch) (string, error) {
	if s == "" {
		return "", errors.New("give the folder the copies go to")
	}
	path, err := absPath(s)
	if err != nil {
		return "", err
	}
	for _, wt := range watches {
		if within(path, wt.Path) {
			return "", fmt.Errorf("%s is inside the watched folder %s: the copies would be copied again; choose another folder", path, wt.Path)
		}
	}
	if advice := w.driveAdvice(path); advice != "" {
		return "", errors.New(advice)
	}
	there, err := copiesFolder(path, "type the folder again")
	if err != nil {
		return "", err
	}
	if there {
		return path, nil
	}
	ok, err := w.Prompt.YesNo(fmt.Sprintf("  %s does not exist yet. Create it?", path), true)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errors.New("then give a folder that exists")
	}
	if err := os.Mkdir(path, 0o755); err != nil {
		return "", fmt.Errorf("could not create %s: %v", path, err)
	}
	return path, nil
}

func (w *Wizard) askCloud(d Destination) (Destination, error) {
	p := w.Prompt
	var err error
	host, _ := os.Hostname()
	def := "Backups"
	if n := folderName(host); n != "" && n != "backups" {
		def = "Backups/" + n
	}
	if d.Folder, err = p.Ask("Folder in the cloud", def, func(s string) (string, error) {
		s = strings.Trim(strings.ReplaceAll(s, `\`, "/"), "/")
		if s == "" {
			return "", errors.New("give a folder name, such as Backups/Shop")
		}
		return s, nil
	}); err != nil {
		return d, err
	}
	p.Say("  offsite logs in with the shop's own app registration; docs/providers.md shows how to make one (about 10 minutes).")
	if d.ClientID, err = p.Ask("Client ID (or ${VARIABLE} to read it from the environment)", "", nonEmpty); err != nil {
		return d, err
	}
	d.ClientID = literal(d.ClientID)
	q := "Client secret (Enter when the app has none)"
	if d.Type == "gdrive" {
		q = "Client secret"
	}
	check := func(s string) (string, error) { return s, nil }
	if d.Type == "gdrive" {
		check = nonEmpty
	}
	if d.ClientSecret, err = p.Ask(q, "", check); err != nil {
		return d, err
	}
	d.ClientSecret = literal(d.ClientSecret)
	return d, nil
}

func (w *Wizard) askExpect(wt Watch) (string, error) {
	i, err := w.Prompt.Choose(fmt.Sprintf("\nHow often does a new backup appear in %s? offsite alerts you when one is late.", wt.Path),
		[]string{"every day", "every week", "not regularly: no missed-backup alert"}, 0)
	if err != nil {
		return "", err
	}
	// A little slack, so a backup written a bit later than yesterday's is not an alarm.
	return []string{"26h", "170h", ""}[i], nil
}

func (w *Wizard) askNotify() ([]string, error) {
	p := w.Prompt
	i, err := p.Choose("\nWhere should alerts go (a backup that did not go out, a backup that never came)?", []string{"an e-mail address", "a web address (webhook: chat, monitoring)", "nowhere for now"}, 0)
	if err != nil {
		return nil, err
	}
	switch i {
	case 0:
		u, err := w.askSMTP()
		if err != nil {
			return nil, err
		}
		return []string{u}, nil
	case 1:
		u, err := p.Ask("Web address (https://…)", "", func(s string) (string, error) {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return "", errors.New("give the full address, starting with https://")
			}
			if u.Scheme == "http" && !loopback(u.Hostname()) {
				return "", errors.New("use https://: a plain http:// address would send the alerts unencrypted across the network")
			}
			return literal(s), nil
		})
		if err != nil {
			return nil, err
		}
		return []string{u}, nil
	}
	p.Say("  Without alerts nobody hears when a backup does not go out; add one later under notify: in the config.")
	return nil, nil
}

// askSMTP builds the smtp:// URL of docs/config.md from plain questions.
func (w *Wizard) askSMTP() (string, error) {
	p := w.Prompt
	to, err := p.Ask("Send alerts to (e-mail address; several: a,b)", "", emails)
	if err != nil {
		return "", err
	}
	server, err := p.Ask("Outgoing mail server and port (your e-mail provider's SMTP settings, such as smtp.example.com:587)", "", func(s string) (string, error) {
		host, port, ok := strings.Cut(s, ":")
		if !ok || host == "" || strings.ContainsAny(host, "/@ ") {
			return "", errors.New("give the server and the port, such as smtp.example.com:587")
		}
		if _, ok := number(port); !ok {
			return "", errors.New("the port is a number, usually 587")
		}
		return s, nil
	})
	if err != nil {
		return "", err
	}
	user, err := p.Ask("User name at that server (usually the sending address)", "", nonEmpty)
	if err != nil {
		return "", err
	}
	pass, err := p.AskSecret("Password (or ${VARIABLE} to read it from the environment)")
	if err != nil {
		return "", err
	}
	from := user
	if !strings.Contains(from, "@") {
		if from, err = p.Ask("Sending address", "", emails); err != nil {
			return "", err
		}
	}
	secret := strings.TrimPrefix(url.UserPassword("", pass).String(), ":")
	if envRef.MatchString(pass) {
		secret = pass // a variable: its value goes into the URL as it is
	} else {
		secret = dollars(secret)
	}
	q := url.Values{"from": {from}, "to": {to}}
	return "smtp://" + dollars(url.User(user).String()) + ":" + secret + "@" + dollars(server) + "/?" + dollars(q.Encode()), nil
}

var envRef = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)

// literal keeps a typed ${VAR} reference as it is and otherwise escapes $
// as $$, so a secret holding "${" is never read as a variable.
func literal(s string) string {
	if envRef.MatchString(s) {
		return s
	}
	return dollars(s)
}

func dollars(s string) string { return strings.ReplaceAll(s, "$", "$$") }

func emails(s string) (string, error) {
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if at := strings.Index(a, "@"); at < 1 || at == len(a)-1 || strings.ContainsAny(a, " /:") {
			return "", fmt.Errorf("%q is not an e-mail address", a)
		}
	}
	return strings.ReplaceAll(s, " ", ""), nil
}

func (w *Wizard) driveAdvice(path string) string {
	if w.Drive == nil {
		return ""
	}
	return w.Drive(path)
}

// How writeConfig treats a file already at the path.
type writeMode int

const (
	createNew writeMode = iota // fail: it appeared while the questions were asked
	keepOld                    // keep it as .old (the user agreed to replace it)
	overwrite                  // replace it: it is the config this wizard wrote
)

// writeConfig writes body to path 0600, through a temporary file so a
// crash never leaves half a config.
func writeConfig(path, body string, mode writeMode) error {
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write the config: %w", err)
	}
	_, err = f.WriteString(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	switch mode {
	case keepOld:
		if err := os.Rename(path, path+".old"); err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("keep the old config as %s.old: %w", path, err)
		}
	case createNew:
		if _, err := os.Lstat(path); err == nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("%s appeared while the questions were asked; nothing was written (run offsite init again)", path)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func absPath(s string) (string, error) {
	s = strings.Trim(s, `"'`) // pasted from Explorer's "Copy as path"
	if strings.HasPrefix(s, "~") {
		if home, err := os.UserHomeDir(); err == nil {
			s = filepath.Join(home, s[1:])
		}
	}
	p, err := filepath.Abs(s)
	if err != nil {
		return "", fmt.Errorf("%s is not a usable path: %v", s, err)
	}
	return p, nil
}

func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && (rel == "." || !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && rel != "..")
}

func hasWatch(ws []Watch, dir string) bool {
	for _, w := range ws {
		if w.Path == dir {
			return true
		}
	}
	return false
}

func number(s string) (int, bool) {
	n := 0
	if s == "" || len(s) > 6 {
		return 0, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}

// folderName makes a config name (letters, digits, - _ .) from a folder's
// last part: "POS Backup" → "pos-backup".
func folderName(path string) string {
	base := filepath.Base(strings.TrimRight(path, `/\`))
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(base) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	n := strings.TrimRight(b.String(), "-")
	if len(n) > 40 {
		n = strings.TrimRight(n[:40], "-")
	}
	if n == "" {
		return "backups"
	}
	return n
}

func localName(path string) string {
	if NetworkPath(path) {
		return "share"
	}
	return "copy"
}

func uniqueName(base string, taken func(string) bool) string {
	n := base
	for i := 2; taken(n); i++ {
		n = fmt.Sprintf("%s-%d", base, i)
	}
	return n
}

func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
