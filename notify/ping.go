package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Pinger calls dead-man's-switch URLs (healthchecks.io, Uptime Kuma push
// monitors, ...). The monitor raises the alarm when the pings stop, which
// covers what offsite cannot report itself: the PC is off, the daemon died.
// The daemon calls Success only while the producer is fresh and uploads are
// green, so a silent stop of either one also stops the pings.
type Pinger struct {
	urls   []string
	client *http.Client
}

// NewPinger pings urls with client (nil: a client with a 30s timeout).
func NewPinger(urls []string, client *http.Client) *Pinger {
	if client == nil {
		client = &http.Client{Timeout: sendTimeout}
	}
	return &Pinger{urls: urls, client: client}
}

// Start says a run began (URL/start), so the monitor can measure its length.
func (p *Pinger) Start(ctx context.Context) error { return p.ping(ctx, "start") }

// Success says all is well (URL).
func (p *Pinger) Success(ctx context.Context) error { return p.ping(ctx, "") }

// Fail says something is wrong (URL/fail), to alert without waiting for the
// monitor's grace time.
func (p *Pinger) Fail(ctx context.Context) error { return p.ping(ctx, "fail") }

func (p *Pinger) ping(ctx context.Context, signal string) error {
	var errs []error
	for _, raw := range p.urls {
		if err := p.one(ctx, raw, signal); err != nil {
			errs = append(errs, fmt.Errorf("ping %s: %w", Redact(raw), scrub(err, raw)))
		}
	}
	return errors.Join(errs...)
}

func (p *Pinger) one(ctx context.Context, raw, signal string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return errors.New("not a valid URL")
	}
	if q := u.Query(); q.Has("status") {
		// Uptime Kuma push URLs carry the state in ?status=up|down and have
		// no start signal.
		if signal == "start" {
			return nil
		}
		q.Set("status", "up")
		if signal == "fail" {
			q.Set("status", "down")
		}
		u.RawQuery = q.Encode()
	} else if signal != "" {
		u = u.JoinPath(signal)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "offsite")
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}
