package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"

	"github.com/offsite-backup/offsite/internal/smtpmail"
)

// Sender delivers one event to one channel. Errors must not contain secrets
// from the channel URL; the default sender scrubs them.
type Sender interface {
	Send(ctx context.Context, ch Channel, e Event) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, ch Channel, e Event) error

func (f SenderFunc) Send(ctx context.Context, ch Channel, e Event) error { return f(ctx, ch, e) }

// sendTimeout bounds one delivery, so a mail server that accepts the
// connection and then stalls cannot hold up the other channels forever.
const sendTimeout = 30 * time.Second

type defaultSender struct {
	client *http.Client
}

func (s defaultSender) Send(ctx context.Context, ch Channel, e Event) error {
	var err error
	switch {
	case ch.isWebhook():
		err = s.webhook(ctx, ch.URL, e)
	case ch.isSMTP():
		err = s.mail(ctx, ch.URL, e)
	default:
		err = s.shoutrrr(ctx, ch.URL, e)
	}
	return scrub(err, ch.URL)
}

// mail sends the event through the SMTP client the e-mail destination
// uses too: one mail per recipient, each addressed to that person.
func (s defaultSender) mail(ctx context.Context, rawURL string, e Event) error {
	c, err := smtpmail.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("set up channel: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	var errs []error
	for _, to := range c.To {
		if err := c.Send(ctx, smtpmail.Message{To: []string{to}, Subject: e.Subject, Text: e.Text, Date: e.Time}); err != nil {
			errs = append(errs, fmt.Errorf("mail to %s: %w", to, err))
		}
	}
	return errors.Join(errs...)
}

// webhookPayload is the JSON every plain http(s) channel receives.
type webhookPayload struct {
	Kind    Kind              `json:"kind"`
	Key     string            `json:"key"`
	Subject string            `json:"subject"`
	Text    string            `json:"text"`
	Fields  map[string]string `json:"fields"`
	Time    time.Time         `json:"time"`
}

func (s defaultSender) webhook(ctx context.Context, rawURL string, e Event) error {
	fields := e.Fields
	if fields == nil {
		fields = map[string]string{} // receivers can rely on an object
	}
	body, err := json.Marshal(webhookPayload{e.Kind, e.Key, e.Subject, e.Text, fields, e.Time})
	if err != nil {
		return fmt.Errorf("encode webhook: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "offsite")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// titled lists the shoutrrr services that take a separate title; the others get the subject as the message's first line,
// because shoutrrr rejects parameters a service does not know.
var titled = map[string]bool{
	"slack": true, "teams": true, "discord": true, "telegram": true,
	"ntfy": true, "gotify": true, "pushover": true,
}

func (s defaultSender) shoutrrr(ctx context.Context, rawURL string, e Event) error {
	// A fresh router per message: some services keep per-send settings (the
	// title) on the service value, and a message is rare enough not to care.
	r, err := router.NewWithOptions(nil, types.SenderOptions{HTTPClient: s.client, Timeout: sendTimeout}, rawURL)
	if err != nil {
		return fmt.Errorf("set up channel: %w", err)
	}
	msg, params := e.Text, types.Params{}
	if u, err := url.Parse(rawURL); err == nil && titled[strings.ToLower(u.Scheme)] {
		params.SetTitle(e.Subject)
	} else {
		msg = e.Subject + "\n\n" + e.Text
	}
	// Some shoutrrr services ignore contexts; run it aside so cancelling
	// Run is never held up by a stalled server.
	done := make(chan error, 1)
	go func() { done <- firstErr(r.Send(msg, &params)) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
