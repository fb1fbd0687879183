package email

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"

	"github.com/offsite-backup/offsite/internal/smtpmail"
	"github.com/offsite-backup/offsite/providers"
)

// classify maps every send error onto a kind: the server's 4xx answers
// are Temporary and its 5xx Permanent, except a full mailbox and a
// refused login, which stop every mail and so pause the destination.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		return err // already decided (a Commit refusal)
	}
	var re *smtpmail.ReplyError
	if errors.As(err, &re) {
		switch {
		case re.Enhanced == "5.2.2" || re.Code == 552 && re.Enhanced == "":
			return &providers.Error{Kind: providers.Fatal, Reason: providers.ReasonQuota, Err: err,
				Hint: "the mailbox is full: delete old backup mails and empty the trash; the backups wait in the queue meanwhile"}
		case re.Code == 535 || re.Code == 534 || re.Code == 530 || re.Enhanced == "5.7.8":
			return &providers.Error{Kind: providers.Fatal, Reason: providers.ReasonAuth, Err: err,
				Hint: "check the user and password in the destination's url (many mail providers want an app password), then run `offsite check`"}
		case re.Enhanced == "5.3.4" || re.Enhanced == "5.2.3":
			return &providers.Error{Kind: providers.Permanent, Err: err,
				Hint: "the mail server refuses mails this large: lower max_size below its limit, compress the backup, or send this watch to a cloud destination"}
		case re.Temporary():
			return &providers.Error{Kind: providers.Temporary, Err: err}
		case re.Code >= 500:
			return &providers.Error{Kind: providers.Permanent, Err: err}
		}
		return &providers.Error{Kind: providers.Temporary, Err: err}
	}
	if errors.Is(err, smtpmail.ErrNoStartTLS) || errors.Is(err, smtpmail.ErrCleartextLogin) {
		return &providers.Error{Kind: providers.Fatal, Err: err,
			Hint: "use the mail server's encrypted port: 587 (STARTTLS) or 465 (TLS), as its help pages give"}
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || strings.Contains(err.Error(), "x509:") {
		return &providers.Error{Kind: providers.Fatal, Err: err,
			Hint: "the mail server's certificate is not valid for this host: write the host name its help pages give in the url"}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return &providers.Error{Kind: providers.Temporary, Err: err,
			Hint: "check the host and port in the destination's url, and that this computer can reach the mail server"}
	}
	// Dropped connections, timeouts: try again.
	return providers.Classify(providers.Temporary, err)
}
