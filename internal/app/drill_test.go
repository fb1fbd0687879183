package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/internal/fakecloud"
	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/verify"
)

func TestVerifyRestoreChecksEveryStoredForm(t *testing.T) {
	e := newStoredEnv(t, "local")
	os.WriteFile(filepath.Join(e.watch, "day.bak"), backupBytes(512<<10, 3), 0o644)
	ctx := context.Background()
	if err := e.a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	tally, err := e.a.VerifyRestore(ctx, &out, "", nil, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	// Without --identity the recipients' copies can only be checked as
	// stored; the passphrase comes from the config.
	if tally.Full != 3 || tally.StoredOnly != 2 || tally.Failed != 0 {
		t.Fatalf("tally %+v\n%s", tally, out.String())
	}
	if !strings.Contains(out.String(), "--identity") {
		t.Errorf("no hint that a full test needs the key:\n%s", out.String())
	}
	out.Reset()
	tally, _ = e.a.VerifyRestore(ctx, &out, "", []string{e.identity}, 0, false)
	if tally.Full != 5 || tally.Failed != 0 {
		t.Fatalf("with the key: %+v\n%s", tally, out.String())
	}
	// A flipped bit in the stored zstd+age copy: the full test fails and
	// names the file; so does the check without the key.
	p := filepath.Join(e.dir, "local-zstd-age", "pos", "day.bak.zst.age")
	b, _ := os.ReadFile(p)
	b[len(b)-100] ^= 0x01
	os.WriteFile(p, b, 0o644)
	for _, ids := range [][]string{{e.identity}, nil} {
		out.Reset()
		tally, _ = e.a.VerifyRestore(ctx, &out, "local-zstd-age", ids, 0, false)
		if tally.Failed != 1 || !strings.Contains(out.String(), "✗ local-zstd-age:pos/day.bak.zst.age") {
			t.Fatalf("identities %v: tally %+v\n%s", ids, tally, out.String())
		}
	}
}

// quickXorHash is linear: one bit flipped at the same offset of two
// 640 KiB fragments (offsets 655360 apart, a multiple of 160) cancels out,
// so OneDrive's hash of the damaged file equals that of the file sent.
// Upload and `verify` say all is well; the test restore compares SHA-256
// and catches it.
func TestDrillCatchesOneDriveDamageQuickXorMisses(t *testing.T) {
	e := newStoredEnvOf(t, []string{"onedrive"}, forms[:1])
	// Send in 640 KiB fragments.
	e.a.Cfg.Destinations[0].ChunkSize = 640 << 10
	e.a.Close()
	a, err := OpenConfig(e.a.Cfg, e.a.Log, "once")
	if err != nil {
		t.Fatal(err)
	}
	e.a = a
	t.Cleanup(func() { a.Close() })
	data := backupBytes(1280<<10, 4)
	os.WriteFile(filepath.Join(e.watch, "day.bak"), data, 0o644)
	e.cloud.AddFault(fakecloud.Fault{Service: "onedrive", Path: "/_graph/upload/", CorruptBody: true, Seed: 11, Times: 2})
	ctx := context.Background()
	if err := a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if r, err := a.VerifyAll(ctx, &out, false); err != nil || r.Bad != 0 || r.OK != 1 {
		t.Fatalf("verify (service hashes): %+v %v\n%s", r, err, out.String())
	}
	if st := e.cloud.StatsOf("onedrive"); st.UploadBytes < int64(len(data)) {
		t.Fatalf("only %d bytes went through the upload session", st.UploadBytes)
	}
	out.Reset()
	tally, _ := a.VerifyRestore(ctx, &out, "onedrive-plain", nil, 0, false)
	if tally.Failed != 1 || !strings.Contains(out.String(), "pos/day.bak") || !strings.Contains(out.String(), "not the original") {
		t.Fatalf("the test restore did not catch the damage: %+v\n%s", tally, out.String())
	}
	// The light is not green while a stored copy is known to be damaged.
	st, err := a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.OK || len(st.Concerns) != 1 || st.Concerns[0].Reason != "restore_failed" || !strings.Contains(st.Concerns[0].Fix, "--repair") {
		t.Fatalf("status after a failed test restore: ok=%v %+v", st.OK, st.Concerns)
	}
	// --repair queues it again; the next run sends a good copy (the fault
	// is used up), and the next test restore clears the concern.
	out.Reset()
	if _, err := a.VerifyRestore(ctx, &out, "onedrive-plain", nil, 0, true); err != nil || !strings.Contains(out.String(), "re-queued") {
		t.Fatalf("repair: %v\n%s", err, out.String())
	}
	if err := a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if tally, _ := a.VerifyRestore(ctx, &out, "onedrive-plain", nil, 0, false); tally.Failed != 0 || tally.Full != 1 {
		t.Fatalf("after the repair: %+v\n%s", tally, out.String())
	}
	if st, _ := a.Status(ctx); !st.OK {
		t.Fatalf("status after the repair: %+v", st.Concerns)
	}
}

func TestDaemonDrillAlertsAndReports(t *testing.T) {
	e := newStoredEnv(t, "local")
	os.WriteFile(filepath.Join(e.watch, "day.bak"), backupBytes(256<<10, 5), 0o644)
	ctx := context.Background()
	if err := e.a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := e.a.pipeline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.notifier = notify.New([]notify.Channel{{ID: "hook", URL: "http://127.0.0.1:1/hook", On: []notify.Kind{notify.KindFailure, notify.KindWeekly}}}, outbox{e.a.Store}, e.a.Log)
	events := func(kind notify.Kind) []notify.Event {
		msgs, err := outbox{e.a.Store}.Due(ctx, time.Now().Add(1000*time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []notify.Event
		for _, m := range msgs {
			if m.Event.Kind == kind {
				out = append(out, m.Event)
			}
		}
		return out
	}
	start := time.Now()
	e.a.drillRunner(p).RunIfDue(ctx, start) // the first look starts the clock
	if notes := e.a.drillNotes(ctx, start); len(notes) != 0 {
		t.Fatalf("a drill ran at once on a new install: %q", notes)
	}
	now := start.Add(30*24*time.Hour + time.Minute)
	e.a.drillRunner(p).RunIfDue(ctx, now)
	if f := events(notify.KindFailure); len(f) != 0 {
		t.Fatalf("alerts after a good drill: %v", f)
	}
	notes := strings.Join(e.a.drillNotes(ctx, now), "\n")
	if !strings.Contains(notes, "3 backup(s) restored and checked") || !strings.Contains(notes, "2 encrypted one(s) checked without the key") ||
		!strings.Contains(notes, "verify --restore --identity") {
		t.Fatalf("weekly notes:\n%s", notes)
	}
	// Damage one copy; not due yet, so nothing runs.
	p2 := filepath.Join(e.dir, "local-zstd", "pos", "day.bak.zst")
	b, _ := os.ReadFile(p2)
	b[len(b)/2] ^= 0x80
	os.WriteFile(p2, b, 0o644)
	e.a.drillRunner(p).RunIfDue(ctx, now.Add(24*time.Hour))
	if f := events(notify.KindFailure); len(f) != 0 {
		t.Fatalf("a drill ran before drill.every passed: %v", f)
	}
	e.a.drillRunner(p).RunIfDue(ctx, now.Add(30*24*time.Hour+time.Minute))
	f := events(notify.KindFailure)
	if len(f) != 1 || !strings.Contains(f[0].Text, "pos/day.bak.zst") || !strings.Contains(f[0].Text, "verify --restore local-zstd --repair") {
		t.Fatalf("failure alerts: %+v", f)
	}
	if notes := strings.Join(e.a.drillNotes(ctx, now), "\n"); !strings.Contains(notes, "1 FAILED") {
		t.Fatalf("weekly notes after a failed drill:\n%s", notes)
	}
	// The status page's "last test restore" shows the damaged copy, and
	// the light stays red for it.
	st, err := e.a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tr := st.TestRestore
	if tr == nil || tr.OK || tr.Destination != "local-zstd" || tr.File != "day.bak" || tr.Message == "" ||
		!tr.At.Equal(now.Add(30*24*time.Hour+time.Minute).UTC()) || st.OK {
		t.Fatalf("status after a failed drill: ok %v, test restore %+v", st.OK, tr)
	}
}

func TestStatusCountsCopiesThatNeedARetiredKey(t *testing.T) {
	e := newStoredEnv(t, "local")
	os.WriteFile(filepath.Join(e.watch, "day.bak"), backupBytes(64<<10, 6), 0o644)
	ctx := context.Background()
	if err := e.a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := e.a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range st.Destinations {
		if d.RetiredKey != 0 {
			t.Fatalf("%s: %d copies on a retired key before any key changed", d.Name, d.RetiredKey)
		}
	}
	// The shop lost its key sheet: both destinations get a new key; the
	// technician's escrow key stays on one of them.
	d := e.a.Cfg.Destination("local-age")
	escrow := d.Encrypt.Recipients[1]
	newKey := "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
	d.Encrypt.Recipients = []string{newKey}
	e.a.Cfg.Destination("local-zstd-age").Encrypt.Recipients = []string{newKey, escrow}
	st, err = e.a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, d := range st.Destinations {
		got[d.Name] = d.RetiredKey
	}
	if got["local-age"] != 1 || got["local-zstd-age"] != 0 || got["local-pass"] != 0 {
		t.Fatalf("retired-key copies %v, want 1 at local-age only (the escrow key still opens the other)", got)
	}
	var out bytes.Buffer
	st.Print(&out)
	if !strings.Contains(out.String(), "local-age: 1 stored backup(s) can only be opened with a key no longer in encrypt: recipients") {
		t.Errorf("status does not say it:\n%s", out.String())
	}
	if notes := strings.Join(e.a.keyNotes(ctx), "\n"); !strings.Contains(notes, "1 stored backup(s) at local-age") {
		t.Errorf("weekly notes: %q", notes)
	}
}

func TestCheckKeysSaysWhetherAnIdentityOpensTheUploads(t *testing.T) {
	e := newStoredEnv(t, "local")
	var out bytes.Buffer
	if n := e.a.CheckKeys(&out, nil); n != 0 {
		t.Fatalf("%d problems without --identity:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "local-age: encrypts to 2 key(s): age1") || !strings.Contains(out.String(), "local-pass: encrypts with a passphrase") {
		t.Fatalf("check output:\n%s", out.String())
	}
	out.Reset()
	if n := e.a.CheckKeys(&out, []string{e.identity}); n != 0 || !strings.Contains(out.String(), "shop-key.txt") || !strings.Contains(out.String(), "opens its uploads") {
		t.Fatalf("the shop's key: %d problems\n%s", n, out.String())
	}
	out.Reset()
	// A stranger's key opens neither recipients destination.
	if n := e.a.CheckKeys(&out, []string{e.other}); n != 2 || !strings.Contains(out.String(), "none of the --identity files") {
		t.Fatalf("a stranger's key: %d problems\n%s", n, out.String())
	}
	out.Reset()
	notKey := filepath.Join(e.dir, "notes.txt")
	os.WriteFile(notKey, []byte("hello"), 0o600)
	if n := e.a.CheckKeys(&out, []string{notKey}); n == 0 || !strings.Contains(out.String(), "is not an age identity file") {
		t.Fatalf("not a key file: %d problems\n%s", n, out.String())
	}
}

// TestCopyDeletedAtTheCloudIsSentAgain: the daemon's daily look finds the
// newest copy deleted at a cloud destination and sends it again; a local
// folder's copy is left to verify (its disk may be one of several).
func TestCopyDeletedAtTheCloudIsSentAgain(t *testing.T) {
	e := newStoredEnvOf(t, []string{"gdrive", "local"}, forms[:1])
	os.WriteFile(filepath.Join(e.watch, "day.bak"), backupBytes(300<<10, 6), 0o644)
	ctx := context.Background()
	if err := e.a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	for _, dest := range []string{"gdrive-plain", "local-plain"} {
		p, err := e.a.providerByName(ctx, dest)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Delete(ctx, "pos/day.bak"); err != nil {
			t.Fatalf("delete at %s: %v", dest, err)
		}
	}
	pl, err := e.a.pipeline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.a.presence(pl).Check(ctx, time.Now())
	if err != nil || c != (verify.Checked{Requeued: 1}) {
		t.Fatalf("check: %+v %v", c, err)
	}
	if err := e.a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	p, _ := e.a.providerByName(ctx, "gdrive-plain")
	if _, err := p.Stat(ctx, "pos/day.bak"); err != nil {
		t.Fatalf("not sent again: %v", err)
	}
	if c, err := e.a.presence(pl).Check(ctx, time.Now()); err != nil || c != (verify.Checked{OK: 1}) {
		t.Fatalf("check after: %+v %v", c, err)
	}
	// Status says when the copies were last looked at, for the cloud only.
	st, err := e.a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range st.Destinations {
		if looked := d.CopiesChecked != nil; looked != (d.Name == "gdrive-plain") {
			t.Errorf("%s: copies_checked %v", d.Name, d.CopiesChecked)
		}
	}
}
