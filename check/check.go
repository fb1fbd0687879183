// Package check proves the setup works (`offsite check`): each watched
// folder can be read, each destination takes a small file, gives it back
// and deletes it (a write-only one sends its test message), and each
// notification channel delivers a test message. Retry uses the same probe
// to find out whether a paused destination works again.
package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/termsafe"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
)

// Check tests what a config names.
type Check struct {
	Cfg *config.Config
	// Probe proves a destination works (see Destination).
	Probe func(ctx context.Context, d *config.Destination) error
	// WriteOnly says whether a destination only receives files (a mailbox).
	WriteOnly func(dest string) bool
	Notifier  func() (*notify.Notifier, error)
	// PauseFix says what to do about a destination paused for reason.
	PauseFix func(dest, reason string) string
	Log      *slog.Logger
}

// Run tests the watched folders, the destinations and (with notifyTest,
// by sending a test message) the notification channels, printing one line
// each; it returns the number of problems.
func (c *Check) Run(ctx context.Context, w io.Writer, notifyTest bool) int {
	problems := 0
	bad := func(format string, args ...any) {
		problems++
		fmt.Fprintf(w, "✗ "+format+"\n", args...)
	}
	for _, wt := range c.Cfg.Watches {
		entries, err := os.ReadDir(wt.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			bad("watch %s: folder %s does not exist (is the drive connected? is the path right?)", wt.Name, termsafe.Quote(wt.Path))
		case err != nil:
			bad("watch %s: cannot read %s: %s (the service's user needs read access)", wt.Name, termsafe.Quote(wt.Path), termsafe.Quote(err.Error()))
		default:
			fmt.Fprintf(w, "✓ watch %s: %s (%d entries)\n", wt.Name, termsafe.Quote(wt.Path), len(entries))
		}
	}
	for i := range c.Cfg.Destinations {
		d := &c.Cfg.Destinations[i]
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := c.Probe(cctx, d)
		cancel()
		if err != nil {
			hint := providers.HintOf(err)
			msg := strings.TrimSuffix(err.Error(), " ("+hint+")")
			msg = strings.TrimPrefix(msg, "destination "+d.Name+": ")
			if hint == "" {
				hint = "see docs/troubleshooting.md"
			}
			bad("destination %s (%s): %s\n    what to do: %s", d.Name, d.Type, termsafe.Quote(msg), termsafe.Quote(hint))
			continue
		}
		if c.WriteOnly(d.Name) {
			fmt.Fprintf(w, "✓ destination %s (%s): test mail sent; look for it in the mailbox\n", d.Name, d.Type)
			continue
		}
		fmt.Fprintf(w, "✓ destination %s (%s): reachable and writable\n", d.Name, d.Type)
	}
	warnDrives(w, c.Cfg)
	if len(c.Cfg.Notify) == 0 {
		fmt.Fprintln(w, "! no notify channel: nobody will hear about failures or missed backups (see config.example.yaml)")
	} else if notifyTest {
		problems += c.Notify(ctx, w)
	} else if n, err := c.Notifier(); err != nil {
		bad("notify: %s", termsafe.Quote(err.Error()))
	} else {
		for _, ch := range n.Channels() {
			fmt.Fprintf(w, "- notify %s (on %v): not tested (--no-notify)\n", ch, ch.On)
		}
	}
	return problems
}

// Notify sends a test message to every notification channel at once (not
// through the outbox), printing one line each; it returns the number of
// channels that failed.
func (c *Check) Notify(ctx context.Context, w io.Writer) int {
	n, err := c.Notifier()
	if err != nil {
		fmt.Fprintf(w, "✗ notify: %v\n", err)
		return 1
	}
	failed := 0
	for _, ch := range n.Channels() {
		cctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		err := n.Test(cctx, ch)
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(w, "✗ notify %s: test message not delivered: %v\n    what to do: check the address and password in the URL, and that this computer can reach the server\n", ch, err)
			continue
		}
		fmt.Fprintf(w, "✓ notify %s (on %v): test message sent\n", ch, ch.On)
	}
	return failed
}

// checkFile is the file Destination writes, reads back and deletes. It sits at
// the destination's root, so nothing is left behind; checkDir is where
// earlier versions put it (and left the folder).
const (
	checkFile = ".offsite-check.txt"
	checkDir  = ".offsite-check"
)

// Destination proves p works by writing, reading back and deleting a
// small file.
func Destination(ctx context.Context, p providers.Provider, log *slog.Logger) error {
	body := []byte("offsite check " + time.Now().UTC().Format(time.RFC3339Nano) + "\n")
	sums, _, err := providers.HashReader(bytes.NewReader(body), p.HashKind())
	if err != nil {
		return fmt.Errorf("hash the check file: %w", err)
	}
	if _, err := p.Put(ctx, checkFile, bytes.NewReader(body), int64(len(body)), providers.PutOptions{Hash: sums[p.HashKind()]}); err != nil {
		return err
	}
	rc, err := p.Get(ctx, checkFile)
	if err != nil {
		return err
	}
	got, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if !bytes.Equal(got, body) {
		return fmt.Errorf("read back different bytes than written")
	}
	if err := p.Delete(ctx, checkFile); err != nil {
		return err
	}
	// Best effort: the old folder holds nothing of the shop's (with the
	// file an earlier failed delete could leave); Delete is nil when it is
	// absent.
	for _, name := range []string{checkDir + "/check.txt", checkDir} {
		if err := p.Delete(ctx, name); err != nil {
			log.Debug("old check folder left", "path", name, "err", err)
		}
	}
	return nil
}

// tester is a write-only destination that proves it works by sending a
// test message (the mail adapter).
type tester interface {
	SendTest(ctx context.Context) error
}

// SendTest has a write-only destination send its test message; it cannot
// be written to and read back like the others.
func SendTest(ctx context.Context, p providers.Provider, dest, typ string) error {
	t, ok := providers.As[tester](p)
	if !ok {
		return fmt.Errorf("destination %s (%s) cannot be checked: it can neither be read back nor send a test", dest, typ)
	}
	return t.SendTest(ctx)
}

// Retry makes failed and given-up uploads due now, and probes each paused
// destination at once (only dest's when set): one that works again is
// resumed, a notice says so, and its waiting uploads go out. It returns
// how many paused destinations are still unusable.
func (c *Check) Retry(ctx context.Context, s *queue.Store, dest string, w io.Writer) (int, error) {
	n, err := s.Retry(ctx, dest)
	if err != nil {
		return 0, fmt.Errorf("re-queue failed uploads: %w", err)
	}
	fmt.Fprintf(w, "%d failed upload(s) will be tried again now\n", n)
	pauses, err := s.Pauses(ctx)
	if err != nil {
		return 0, fmt.Errorf("read paused destinations: %w", err)
	}
	probed, stuck := 0, 0
	for _, p := range pauses {
		d := c.Cfg.Destination(p.Destination)
		if d == nil || (dest != "" && d.Name != dest) {
			continue
		}
		probed++
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := c.Probe(cctx, d)
		cancel()
		if err != nil {
			stuck++
			fmt.Fprintf(w, "✗ %s is still unusable (paused since %s): %s\n    what to do: %s\n", d.Name,
				p.Since.Local().Format("Mon 2 Jan 15:04"), err, c.PauseFix(d.Name, p.Reason))
			continue
		}
		if _, ok, err := s.Unpause(ctx, d.Name); err != nil {
			return stuck, fmt.Errorf("resume %s: %w", d.Name, err)
		} else if ok {
			c.announceRecovered(ctx, d.Name, p.Since)
		}
		waiting, err := s.Jobs(ctx, queue.Filter{States: []queue.State{queue.Pending, queue.Failed}, Destination: d.Name})
		if err != nil {
			return stuck, fmt.Errorf("count waiting uploads to %s: %w", d.Name, err)
		}
		fmt.Fprintf(w, "✓ %s works again: resumed; its %d waiting upload(s) go out now (a running daemon starts them within a minute; without one, run `offsite once`)\n",
			d.Name, len(waiting))
	}
	if probed == 0 {
		fmt.Fprintln(w, "no destination is paused")
	}
	return stuck, nil
}

// announceRecovered stores the "works again" notice the daemon would have
// sent; the daemon (or the next `offsite once`) delivers it.
func (c *Check) announceRecovered(ctx context.Context, dest string, since time.Time) {
	n, err := c.Notifier()
	if err == nil {
		err = n.Notify(ctx, notify.DestinationRecovered(dest).Episode(since))
	}
	if err != nil {
		c.Log.Warn("cannot tell that a destination works again", "destination", dest, "err", err)
	}
}
