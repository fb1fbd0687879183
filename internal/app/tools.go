package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/config"
	"github.com/offsite-backup/offsite/internal/termsafe"
	"github.com/offsite-backup/offsite/providers"
	"github.com/offsite-backup/offsite/queue"
)

func (a *App) destination(name string) (*config.Destination, error) {
	for i := range a.Cfg.Destinations {
		if a.Cfg.Destinations[i].Name == name {
			return &a.Cfg.Destinations[i], nil
		}
	}
	var names []string
	for _, d := range a.Cfg.Destinations {
		names = append(names, d.Name)
	}
	return nil, fmt.Errorf("no destination named %q in %s (there are: %s)", name, a.Cfg.File, strings.Join(names, ", "))
}

func (a *App) providerByName(ctx context.Context, name string) (providers.Provider, error) {
	d, err := a.destination(name)
	if err != nil {
		return nil, err
	}
	return a.Provider(ctx, d)
}

// Push uploads one file now, outside the queue. The remote path defaults
// to the file's name; an existing different file there is never
// overwritten: the upload gets a timestamped name beside it.
func (a *App) Push(ctx context.Context, file, dest, as string, progress func(done, total int64)) (providers.RemoteFile, error) {
	p, err := a.providerByName(ctx, dest)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	f, err := os.Open(file)
	if err != nil {
		return providers.RemoteFile{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return providers.RemoteFile{}, err
	}
	if st.IsDir() {
		return providers.RemoteFile{}, fmt.Errorf("%s is a folder: push takes one file", file)
	}
	hs, err := providers.Hash(f, p.HashKind())
	if err != nil {
		return providers.RemoteFile{}, fmt.Errorf("read %s: %w", file, err)
	}
	want := hs.Sums[p.HashKind()]
	remote := as
	if remote == "" {
		remote = filepath.Base(file)
	}
	if rf, err := p.Stat(ctx, remote); err == nil {
		if providers.SameHash(p.HashKind(), rf.Hash, want) && rf.Size == st.Size() {
			return rf, nil // already there
		}
		ext := path.Ext(remote)
		remote = strings.TrimSuffix(remote, ext) + "." + st.ModTime().UTC().Format("2006-01-02T150405Z") + ext
	} else if !errors.Is(err, providers.ErrNotFound) {
		return providers.RemoteFile{}, fmt.Errorf("push %s: %w", file, err)
	}
	opts := providers.PutOptions{ModTime: st.ModTime(), Hash: want, Parts: hs.Parts[p.HashKind()]}
	if progress != nil {
		total := st.Size()
		opts.OnProgress = func(n int64) { progress(n, total) }
	}
	rf, err := p.Put(ctx, remote, f, st.Size(), opts)
	if err != nil {
		return rf, fmt.Errorf("push %s to %s: %w", file, dest, err)
	}
	return rf, nil
}

// List lists a folder at a destination.
func (a *App) List(ctx context.Context, dest, dir string) ([]providers.RemoteFile, error) {
	p, err := a.providerByName(ctx, dest)
	if err != nil {
		return nil, err
	}
	return p.List(ctx, dir)
}

// Restore downloads remote to local (never overwriting a file), and checks
// the bytes against the hash the destination reports.
func (a *App) Restore(ctx context.Context, dest, remote, local string) (int64, error) {
	p, err := a.providerByName(ctx, dest)
	if err != nil {
		return 0, err
	}
	if _, err := os.Stat(local); err == nil {
		return 0, fmt.Errorf("%s already exists: choose another --to, restore never overwrites", local)
	}
	rf, err := p.Stat(ctx, remote)
	if err != nil {
		return 0, fmt.Errorf("restore %s: %w", remote, err)
	}
	rc, err := p.Get(ctx, remote)
	if err != nil {
		return 0, fmt.Errorf("restore %s: %w", remote, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(local), ".offsite-restore-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	h, _ := providers.NewHash(p.HashKind())
	n, err := io.Copy(io.MultiWriter(tmp, h), rc)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("restore %s: %w", remote, err)
	}
	got := providers.EncodeHash(p.HashKind(), h.Sum(nil))
	if rf.Hash != "" && !providers.SameHash(p.HashKind(), got, rf.Hash) {
		return n, fmt.Errorf("restore %s: downloaded bytes hash to %s but the destination reports %s; nothing was written", remote, got, rf.Hash)
	}
	if err := os.Rename(tmp.Name(), local); err != nil {
		return n, err
	}
	if !rf.ModTime.IsZero() {
		os.Chtimes(local, rf.ModTime, rf.ModTime)
	}
	return n, nil
}

// Verify checks that the newest done upload of every file at every
// destination is still there with the recorded hash. It returns the
// number of bad ones.
func (a *App) Verify(ctx context.Context, w io.Writer) int {
	jobs, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}})
	if err != nil {
		fmt.Fprintln(w, "cannot read the queue:", termsafe.Quote(err.Error()))
		return 1
	}
	provs := map[string]providers.Provider{}
	bad, ok := 0, 0
	for _, j := range jobs {
		p, seen := provs[j.Destination]
		if !seen {
			p, err = a.providerByName(ctx, j.Destination)
			if err != nil {
				fmt.Fprintf(w, "✗ %s: %s\n", j.Destination, termsafe.Quote(err.Error()))
			}
			provs[j.Destination] = p
		}
		if p == nil {
			bad++
			continue
		}
		rf, err := p.Stat(ctx, j.RemotePath)
		switch {
		case err != nil:
			fmt.Fprintf(w, "✗ %s:%s: %s\n", j.Destination, termsafe.Quote(j.RemotePath), termsafe.Quote(err.Error()))
			bad++
		case rf.Size != j.Version.Size || (j.RemoteHash != "" && rf.Hash != "" && !providers.SameHash(p.HashKind(), rf.Hash, j.RemoteHash)):
			fmt.Fprintf(w, "✗ %s:%s: changed since upload (size %d, hash %s; uploaded %d, %s)\n", j.Destination, termsafe.Quote(j.RemotePath), rf.Size, rf.Hash, j.Version.Size, j.RemoteHash)
			bad++
		default:
			ok++
		}
	}
	fmt.Fprintf(w, "%d upload(s) verified, %d missing or changed\n", ok, bad)
	return bad
}

// Check tests the watched folders, the destinations and the notification
// channels, printing one line each; it returns the number of problems.
func (a *App) Check(ctx context.Context, w io.Writer) int {
	problems := 0
	bad := func(format string, args ...any) {
		problems++
		fmt.Fprintf(w, "✗ "+format+"\n", args...)
	}
	for _, wt := range a.Cfg.Watches {
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
	for i := range a.Cfg.Destinations {
		d := &a.Cfg.Destinations[i]
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := a.checkDestination(cctx, d)
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
		fmt.Fprintf(w, "✓ destination %s (%s): reachable and writable\n", d.Name, d.Type)
	}
	if n, err := a.Notifier(); err != nil {
		bad("notify: %s", termsafe.Quote(err.Error()))
	} else {
		for _, ch := range n.Channels() {
			fmt.Fprintf(w, "✓ notify %s (on %v)\n", ch, ch.On)
		}
	}
	if len(a.Cfg.Notify) == 0 {
		fmt.Fprintln(w, "! no notify channel: nobody will hear about failures or missed backups (see config.example.yaml)")
	}
	return problems
}

// checkDestination proves a destination works by writing, reading back
// and deleting a small file.
func (a *App) checkDestination(ctx context.Context, d *config.Destination) error {
	p, err := a.Provider(ctx, d)
	if err != nil {
		return err
	}
	body := []byte("offsite check " + time.Now().UTC().Format(time.RFC3339Nano) + "\n")
	sums, _, _ := providers.HashReader(strings.NewReader(string(body)), p.HashKind())
	name := ".offsite-check/check.txt"
	if _, err := p.Put(ctx, name, strings.NewReader(string(body)), int64(len(body)), providers.PutOptions{Hash: sums[p.HashKind()]}); err != nil {
		return err
	}
	rc, err := p.Get(ctx, name)
	if err != nil {
		return err
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return err
	}
	if string(got) != string(body) {
		return fmt.Errorf("read back different bytes than written")
	}
	return p.Delete(ctx, name)
}

func silenceKey(watch string) string {
	if watch == "" {
		return "silence/*"
	}
	return "silence/" + watch
}

// Pause silences missed-backup alerts for a watch ("" = all) until t, and
// with hold also keeps its uploads waiting until then; a zero t ends both.
func (a *App) Pause(ctx context.Context, watch string, until time.Time, hold bool) error {
	if watch != "" && a.Cfg.Watch(watch) == nil {
		return fmt.Errorf("no watch named %q in %s", watch, a.Cfg.File)
	}
	if until.IsZero() {
		keys := []string{silenceKey(watch), holdKey(watch)}
		if watch == "" {
			for _, w := range a.Cfg.Watches {
				keys = append(keys, silenceKey(w.Name), holdKey(w.Name))
			}
		}
		for _, k := range keys {
			if err := a.Store.Delete(ctx, k); err != nil {
				return err
			}
		}
		return nil
	}
	if err := a.Store.Set(ctx, silenceKey(watch), until.Format(time.RFC3339)); err != nil {
		return err
	}
	if hold {
		return a.Store.Set(ctx, holdKey(watch), until.Format(time.RFC3339))
	}
	return nil
}

func holdKey(watch string) string {
	if watch == "" {
		return "hold/*"
	}
	return "hold/" + watch
}

// heldUntil returns when a watch's held uploads resume (zero: not held).
func (a *App) heldUntil(ctx context.Context, watch string, now time.Time) time.Time {
	return until(a.latestTime(ctx, holdKey(""), holdKey(watch)), now)
}

// held lists the watches whose uploads wait at now.
func (a *App) held(now time.Time) []string {
	var out []string
	for _, w := range a.Cfg.Watches {
		if !a.heldUntil(context.Background(), w.Name, now).IsZero() {
			out = append(out, w.Name)
		}
	}
	return out
}

// silencedUntil returns when missed-backup alerts for a watch resume (zero: not silenced).
func (a *App) silencedUntil(ctx context.Context, watch string) time.Time {
	return until(a.silence(ctx, watch), time.Now())
}
