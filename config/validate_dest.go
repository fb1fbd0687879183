package config

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/internal/smtpmail"
)

func (c *Config) validateDestinations(p *problems) {
	names := map[string]string{}
	for i := range c.Destinations {
		d := &c.Destinations[i]
		at := index("destinations", i)
		checkName(p, at, "destination", d.Name, names)
		checkPathChars(p, at+".path", d.Path)
		checkPathChars(p, at+".token_file", d.TokenFile)
		switch d.Type {
		case "":
			p.add(at+".type", "add type: local, gdrive, dropbox, onedrive or email", "is missing")
		case TypeLocal:
			c.validateLocal(p, at, d)
		case TypeGDrive, TypeDropbox, TypeOneDrive:
			validateCloud(p, at, d)
		case TypeEmail:
			validateEmail(p, at, d)
		default:
			hint := "use local, gdrive, dropbox, onedrive or email"
			if s := closest(d.Type, []string{TypeLocal, TypeGDrive, TypeDropbox, TypeOneDrive, TypeEmail}); s != "" {
				hint = "did you mean " + s + "? " + hint
			}
			p.add(at+".type", hint, "is %q, which is not a destination type", d.Type)
		}
		if d.Window != "" {
			if _, err := ParseWindow(d.Window); err != nil {
				p.add(at+".window", "", "is not valid: %v", err)
			}
		}
		checkZone(p, at+".timezone", d.Timezone)
		checkKeep(p, at+".keep", d.Keep)
		if d.Type != TypeEmail {
			for _, k := range []string{"url", "max_size"} {
				if p.set(at + "." + k) {
					p.add(at+"."+k, "remove it", "applies only to email destinations")
				}
			}
		}
		checkStoredForm(p, at, d)
	}
}

// MaxMailSize is the largest max_size offsite takes: no mail provider
// accepts more, and a typo should not make a mail of gigabytes.
const MaxMailSize = 100 * MiB

func validateEmail(p *problems, at string, d *Destination) {
	for _, k := range []string{"path", "folder", "token_file", "client_id", "client_secret", "endpoint", "tenant", "drive_id", "chunk_size"} {
		if p.set(at + "." + k) {
			p.add(at+"."+k, "remove it; an email destination needs url and, if the default "+DefaultMaxMailSize.String()+" does not fit, max_size", "does not apply to email destinations")
		}
	}
	const example = "smtp://user:${SMTP_PASSWORD}@mail.example.com:587/?from=shop@example.com&to=owner@example.com"
	if d.URL == "" {
		p.add(at+".url", "write the mail server and addresses as "+example, "is missing")
	} else if _, err := smtpmail.Parse(d.URL); err != nil {
		p.add(at+".url", "write it as "+example+" (see docs/config.md, E-mail)", "is not usable: %v", err)
	}
	switch {
	case d.MaxSize <= 0:
		p.add(at+".max_size", "leave it out for the default "+DefaultMaxMailSize.String(), "must be more than 0")
	case d.MaxSize > MaxMailSize:
		p.add(at+".max_size", "use at most "+MaxMailSize.String()+"; for larger backups use a cloud destination", "is %s, more than any mail provider accepts", d.MaxSize)
	}
	if !d.Keep.IsZero() {
		p.add(at+".keep", "remove keep; delete old backup mails in the mailbox itself", "does not apply: offsite cannot prune a mailbox")
	}
	if d.Timeout < MinTimeout {
		p.add(at+".timeout", "use at least "+MinTimeout.String()+", or leave it out for the default "+DefaultTimeout.String(), "is %s, too short for any call to finish", d.Timeout)
	}
}

// checkStoredForm checks compress and encrypt. Errors never quote a key:
// a private key pasted as a recipient must not end up in a log.
func checkStoredForm(p *problems, at string, d *Destination) {
	if d.Compress != "" {
		oneOf(p, at+".compress", d.Compress, []string{CompressOff, CompressZstd})
	}
	e := d.Encrypt
	if p.set(at+".encrypt") && len(e.Recipients) == 0 && e.Passphrase == "" && !p.has(at+".encrypt.passphrase") {
		p.add(at+".encrypt", "add recipients: [age1…] (make a key with `offsite key generate`) or passphrase: ${OFFSITE_PASSPHRASE}, or remove encrypt",
			"is empty, so nothing would be encrypted")
	}
	if len(e.Recipients) > 0 && p.set(at+".encrypt.passphrase") {
		p.add(at+".encrypt.passphrase", "keep either recipients or passphrase; with both, a passphrase alone could not open the files",
			"is set together with recipients")
	}
	seen := map[string]bool{}
	for i, r := range e.Recipients {
		rp := index(at+".encrypt.recipients", i)
		if _, err := codec.ParseRecipient(r); err != nil {
			p.add(rp, "", "is not usable: %v", err)
			continue
		}
		if seen[strings.TrimSpace(r)] {
			p.add(rp, "list each key once", "repeats an earlier recipient")
		}
		seen[strings.TrimSpace(r)] = true
	}
	if e.Passphrase != "" && len(e.Passphrase) < 12 {
		p.add(at+".encrypt.passphrase", "use at least 12 characters, such as four random words; it is all that protects the backups",
			"is too short (%d characters)", len(e.Passphrase))
	}
}

// Codec is how the destination stores files: compressed, encrypted or as they are.
func (d Destination) Codec() codec.Spec {
	return codec.Spec{
		Compress:   d.Compress == CompressZstd,
		Recipients: d.Encrypt.Recipients,
		Passphrase: d.Encrypt.Passphrase,
	}
}

func (c *Config) validateLocal(p *problems, at string, d *Destination) {
	// Keys a local destination has no use for: most likely a copied entry.
	for _, k := range []string{"folder", "token_file", "client_id", "client_secret", "endpoint", "tenant", "drive_id", "chunk_size", "timeout"} {
		if p.set(at + "." + k) {
			p.add(at+"."+k, "remove it; a local destination only needs path", "applies only to cloud destinations")
		}
	}
	if d.Path == "" {
		p.add(at+".path", "add path: the folder to copy backups into, such as a USB drive", "is missing")
		return
	}
	if fi, err := os.Stat(d.Path); err == nil && !fi.IsDir() {
		p.add(at+".path", "point it at a folder", "is %s, which is a file", d.Path)
	}
	for _, w := range c.Watches {
		if w.Path != "" && inside(d.Path, w.Path) {
			p.add(at+".path", "put the copies outside every watched folder",
				"is %s, inside watch %q's folder %s, so offsite would upload its own copies", d.Path, w.Name, w.Path)
			return
		}
	}
}

func validateCloud(p *problems, at string, d *Destination) {
	if p.set(at + ".path") {
		p.add(at+".path", "use folder: for the folder under the account root", "applies only to local destinations")
	}
	checkFolder(p, at+".folder", d.Folder)
	if d.Type != TypeOneDrive {
		for _, k := range []string{"tenant", "drive_id"} {
			if p.set(at + "." + k) {
				p.add(at+"."+k, "remove it", "applies only to onedrive destinations")
			}
		}
	}
	if d.Endpoint != "" {
		if u := checkURL(p, at+".endpoint", d.Endpoint, true); u != nil && (u.RawQuery != "" || u.User != nil) {
			p.add(at+".endpoint", "write only scheme, host and port, such as http://127.0.0.1:8790", "has a query or a login")
		}
	} else {
		// An emulator accepts any client; the real service needs the shop's own.
		if d.ClientID == "" {
			p.add(at+".client_id", "create an OAuth client for the shop (see docs/config.md) and write its ID here, or ${VAR}", "is missing")
		}
		if d.Type == TypeGDrive && d.ClientSecret == "" {
			p.add(at+".client_secret", "Google desktop clients come with a secret; write it here or as ${VAR}", "is missing")
		}
	}
	checkChunk(p, at+".chunk_size", d.Type, d.ChunkSize)
	if p.set(at + ".chunk_size_max") {
		if d.Type != TypeGDrive && d.Type != TypeOneDrive {
			p.add(at+".chunk_size_max", "leave it out: only gdrive and onedrive chunks grow", "does not apply to %s", d.Type)
		} else {
			checkChunk(p, at+".chunk_size_max", d.Type, d.ChunkSizeMax)
		}
	}
	if d.Timeout < MinTimeout {
		p.add(at+".timeout", "use at least "+MinTimeout.String()+", or leave it out for the default "+DefaultTimeout.String(), "is %s, too short for any call to finish", d.Timeout)
	}
}

func checkChunk(p *problems, at, typ string, s Size) {
	var mult, maxSize Size
	switch typ {
	case TypeGDrive:
		mult, maxSize = GDriveChunkMultiple, GDriveChunkMax
	case TypeDropbox:
		mult, maxSize = DropboxChunkMultiple, DropboxChunkMax
	case TypeOneDrive:
		mult, maxSize = OneDriveChunkMultiple, OneDriveChunkMax
	default:
		return
	}
	def := DefaultChunkSize(typ)
	switch {
	case s <= 0:
		p.add(at, "leave it out for the default "+def.String(), "must be more than 0")
	case s%mult != 0:
		lo := s / mult * mult
		if lo == 0 {
			lo = mult
		}
		p.add(at, fmt.Sprintf("use a multiple of %s such as %s or %s", mult, lo, lo+mult),
			"is %s, which %s does not accept", s, typ)
	case s > maxSize:
		p.add(at, "use at most "+maxSize.String()+"; memory use grows with the chunk", "is %s, above %s's limit", s, typ)
	}
}

func (c *Config) validateNotify(p *problems) {
	events := Events()
	for i, n := range c.Notify {
		at := index("notify", i)
		if n.URL == "" {
			p.add(at+".url", "write the target as a URL, such as smtp://user:${SMTP_PASSWORD}@mail.example.com:587/?to=you@example.com", "is missing")
		} else {
			checkURL(p, at+".url", n.URL, false)
		}
		if p.set(at+".on") && len(n.On) == 0 {
			p.add(at+".on", "leave on out for the default ("+strings.Join(DefaultNotifyOn(), ", ")+")", "is empty, so nothing would be sent")
		}
		for j, e := range n.On {
			if slices.Contains(events, e) {
				continue
			}
			hint := "use " + strings.Join(events, ", ")
			if s := closest(e, events); s != "" {
				hint = "did you mean " + s + "? " + hint
			}
			p.add(index(at+".on", j), hint, "is %q, which is not an event", e)
		}
	}
}
