package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"

	"github.com/offsite-backup/offsite/internal/smtpmail"
)

// Channel is one configured destination for notifications.
type Channel struct {
	// ID names the channel in the Outbox and in logs. It is derived from the
	// URL (a hash), so it is stable across restarts but never reveals it.
	ID  string
	URL string
	On  []Kind
}

// Wants reports whether the channel subscribes to k.
func (c Channel) Wants(k Kind) bool { return slices.Contains(c.On, k) }

// String is the redacted URL, so a Channel can be logged as it is.
func (c Channel) String() string { return Redact(c.URL) }

// isWebhook: plain http(s) URLs get our own JSON POST, smtp URLs our own
// mail (isSMTP); every other scheme is a shoutrrr service (slack, teams,
// discord, telegram, ntfy, ...).
func (c Channel) isWebhook() bool {
	s := strings.ToLower(c.URL)
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// isSMTP: smtp:// URLs are sent by internal/smtpmail, which the e-mail
// destination shares.
func (c Channel) isSMTP() bool {
	return strings.HasPrefix(strings.ToLower(c.URL), "smtp://")
}

func channelID(rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	return hex.EncodeToString(sum[:8])
}

// ParseChannels validates the configured URLs and pairs each with its kinds
// (on[i]; a missing or empty entry means DefaultOn). Errors name the entry by
// position and redacted URL, never the secret parts.
func ParseChannels(urls []string, on [][]Kind) ([]Channel, error) {
	var errs []error
	seen := map[string]int{}
	out := make([]Channel, 0, len(urls))
	for i, raw := range urls {
		raw = strings.TrimSpace(raw)
		ch := Channel{ID: channelID(raw), URL: raw, On: DefaultOn()}
		if i < len(on) && len(on[i]) > 0 {
			ch.On = slices.Clone(on[i])
		}
		if err := validate(ch); err != nil {
			errs = append(errs, fmt.Errorf("notify[%d] %s: %w", i, Redact(raw), err))
			continue
		}
		if j, dup := seen[ch.ID]; dup {
			errs = append(errs, fmt.Errorf("notify[%d] %s: same URL as notify[%d]", i, Redact(raw), j))
			continue
		}
		seen[ch.ID] = i
		out = append(out, ch)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func validate(ch Channel) error {
	for _, k := range ch.On {
		if !k.valid() {
			_, err := ParseKind(string(k))
			return err
		}
	}
	u, err := url.Parse(ch.URL)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if ch.isWebhook() {
		if u.Host == "" {
			return errors.New("webhook URL has no host")
		}
		return nil
	}
	// Parsing every option (smtp needs from and to, telegram a token and
	// chats, ...) makes mistakes surface at start-up rather than when the
	// first alert is due.
	if ch.isSMTP() {
		if _, err := smtpmail.Parse(ch.URL); err != nil {
			return scrub(err, ch.URL)
		}
		return nil
	}
	if _, err := router.NewWithOptions(nil, types.SenderOptions{}, ch.URL); err != nil {
		return scrub(err, ch.URL)
	}
	return nil
}
