package main

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offsite-backup/offsite/internal/smtpmail/smtptest"
)

// The binary with a mailbox destination: `once` mails the backup, `check`
// sends a test mail, `ls` and `restore` fail saying what to do instead,
// and `verify` passes without checking the mailbox.
func TestMailboxDestination(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{})
	e := newEnv(t, "100ms")
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(cfg), "destinations: [usb]", "destinations: [usb, mailbox]", 1)
	yaml = strings.Replace(yaml, "retry:", "  - name: mailbox\n    type: email\n    url: "+s.URL("from=shop@example.com&to=owner@example.com")+"\nretry:", 1)
	if err := os.WriteFile(e.config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	data := randomData(7, 300_000)
	if err := os.WriteFile(filepath.Join(e.watch, "day.bak"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := e.run("once"); err != nil {
		t.Fatalf("once: %v\n%s", err, out)
	}
	mails := s.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	p, err := smtptest.Parse(mails[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Attachments) != 1 || p.Attachments[0].Name != "day.bak" || sha256.Sum256(p.Attachments[0].Body) != sha256.Sum256(data) {
		t.Fatalf("mail %q: attachments %d", p.Subject, len(p.Attachments))
	}

	out, err := e.run("ls", "mailbox")
	if err == nil || !strings.Contains(out, "cannot be listed by offsite") || !strings.Contains(out, "save its attachment") {
		t.Errorf("ls: %v\n%s", err, out)
	}
	out, err = e.run("restore", "mailbox", "pos/day.bak", "--to", filepath.Join(e.dir, "r.bak"))
	if err == nil || !strings.Contains(out, "cannot be read back by offsite") {
		t.Errorf("restore: %v\n%s", err, out)
	}
	out, err = e.run("verify")
	if err != nil || !strings.Contains(out, "mailbox: 1 upload(s) not checked") || !strings.Contains(out, "1 upload(s) verified") {
		t.Errorf("verify: %v\n%s", err, out)
	}
	out, err = e.run("check", "--no-notify")
	if err != nil || !strings.Contains(out, "destination mailbox (email): test mail sent") {
		t.Errorf("check: %v\n%s", err, out)
	}
	if n := len(s.Mails()); n != 2 {
		t.Errorf("%d mails after check, want the backup and the test mail", n)
	}
	if strings.Contains(out, smtptest.Pass) {
		t.Error("check shows the mail password")
	}
}
