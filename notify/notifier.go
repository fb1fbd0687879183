package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Defaults for delivery retries: 30s doubling to an hour, for ever. A
// notification is never given up on; a channel that stays broken shows up
// in the logs once per attempt.
const (
	DefaultMinBackoff = 30 * time.Second
	DefaultMaxBackoff = time.Hour
	defaultPoll       = 15 * time.Second
	batchSize         = 50
)

// Notifier stores events durably and delivers them to channels.
type Notifier struct {
	channels map[string]Channel
	order    []Channel
	box      Outbox
	log      *slog.Logger
	now      func() time.Time
	sender   Sender
	client   *http.Client
	min, max time.Duration
	poll     time.Duration
	wake     chan struct{}
}

// Option adjusts a Notifier.
type Option func(*Notifier)

// WithClock sets the clock used for event times and retry schedules.
func WithClock(now func() time.Time) Option { return func(n *Notifier) { n.now = now } }

// WithHTTPClient sets the client for webhooks and HTTP-based chat services.
func WithHTTPClient(c *http.Client) Option { return func(n *Notifier) { n.client = c } }

// WithSender replaces delivery itself (tests, or a daemon that wants to wrap it).
func WithSender(s Sender) Option { return func(n *Notifier) { n.sender = s } }

// WithBackoff sets the first retry delay and its cap.
func WithBackoff(min, max time.Duration) Option {
	return func(n *Notifier) { n.min, n.max = min, max }
}

// WithPollInterval sets how often Run looks for messages whose retry time has
// come. Notify wakes Run at once; polling only serves retries.
func WithPollInterval(d time.Duration) Option { return func(n *Notifier) { n.poll = d } }

// New returns a Notifier for chs that stores into box. log may be nil.
func New(chs []Channel, box Outbox, log *slog.Logger, opts ...Option) *Notifier {
	n := &Notifier{
		channels: make(map[string]Channel, len(chs)),
		order:    chs,
		box:      box,
		log:      log,
		now:      time.Now,
		min:      DefaultMinBackoff,
		max:      DefaultMaxBackoff,
		poll:     defaultPoll,
		wake:     make(chan struct{}, 1),
	}
	for _, ch := range chs {
		n.channels[ch.ID] = ch
	}
	for _, o := range opts {
		o(n)
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.client == nil {
		n.client = &http.Client{Timeout: sendTimeout}
	}
	if n.sender == nil {
		n.sender = defaultSender{client: n.client}
	}
	return n
}

// Channels returns the configured channels.
func (n *Notifier) Channels() []Channel { return n.order }

// Notify stores e for every channel whose On includes e.Kind and returns once
// it is stored; delivery happens in Run. An event whose Key was stored before
// for a channel is not stored again.
func (n *Notifier) Notify(ctx context.Context, e Event) error {
	if !e.Kind.valid() {
		return fmt.Errorf("notify: unknown kind %q", e.Kind)
	}
	if e.Key == "" {
		return fmt.Errorf("notify %s %q: event has no key", e.Kind, e.Subject)
	}
	if e.Time.IsZero() {
		e.Time = n.now()
	}
	var ids []string
	for _, ch := range n.order {
		if ch.Wants(e.Kind) {
			ids = append(ids, ch.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	added, err := n.box.Add(ctx, ids, e)
	if err != nil {
		return fmt.Errorf("notify %s %s: %w", e.Kind, e.Key, err)
	}
	n.log.Debug("notification stored", "kind", e.Kind, "key", e.Key, "new", added, "channels", len(ids))
	if added > 0 {
		select {
		case n.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Run delivers due messages until ctx ends, then returns nil. Run one per
// Notifier, in its own goroutine: sends can take up to 30s each.
func (n *Notifier) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-n.wake:
		case <-timer.C:
		}
		if err := n.flush(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("notification outbox", "err", err)
		}
		timer.Reset(n.poll)
	}
}

// Flush delivers everything due now and returns; failed messages stay in
// the outbox for a later Run or Flush. For one-shot commands (`offsite once`).
func (n *Notifier) Flush(ctx context.Context) error { return n.flush(ctx) }

// flush delivers everything due now, batch by batch.
func (n *Notifier) flush(ctx context.Context) error {
	for ctx.Err() == nil {
		msgs, err := n.box.Due(ctx, n.now(), batchSize)
		if err != nil {
			return fmt.Errorf("due: %w", err)
		}
		if err := n.deliver(ctx, msgs); err != nil {
			// The same messages would come back at once: wait for the next poll.
			return err
		}
		if len(msgs) < batchSize {
			return nil
		}
	}
	return nil
}

// deliver sends one batch. Channels go in parallel so one dead mail server
// does not delay the chat alerts; within a channel messages keep their order,
// and after the first failure the rest wait for the same retry time instead
// of each timing out against a channel known to be down.
func (n *Notifier) deliver(ctx context.Context, msgs []Message) error {
	byChannel := map[string][]Message{}
	var chOrder []string
	for _, m := range msgs {
		if _, ok := byChannel[m.Channel]; !ok {
			chOrder = append(chOrder, m.Channel)
		}
		byChannel[m.Channel] = append(byChannel[m.Channel], m)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, id := range chOrder {
		wg.Go(func() {
			if err := n.deliverChannel(ctx, id, byChannel[id]); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// deliverChannel returns only outbox errors; send errors become retries.
func (n *Notifier) deliverChannel(ctx context.Context, id string, msgs []Message) error {
	ch, ok := n.channels[id]
	if !ok {
		// The URL was removed or changed in the config: there is nobody to
		// deliver to, and keeping the message would retry it for ever.
		for _, m := range msgs {
			n.log.Warn("notification dropped: its channel is no longer configured",
				"channel", id, "kind", m.Event.Kind, "key", m.Event.Key)
			if err := n.box.Sent(ctx, m.ID, n.now()); err != nil {
				return fmt.Errorf("mark %d dropped: %w", m.ID, err)
			}
		}
		return nil
	}
	var down error
	for _, m := range msgs {
		if ctx.Err() != nil {
			return nil
		}
		err := down
		if err == nil {
			err = scrub(n.sender.Send(ctx, ch, m.Event), ch.URL)
		}
		if ctx.Err() != nil {
			return nil // shutting down: not the channel's fault, try again after restart
		}
		if err == nil {
			if err := n.box.Sent(ctx, m.ID, n.now()); err != nil {
				return fmt.Errorf("mark %d sent: %w", m.ID, err)
			}
			n.log.Info("notification sent", "channel", ch.String(), "kind", m.Event.Kind, "key", m.Event.Key)
			continue
		}
		down = err
		next := n.now().Add(n.backoff(m.Attempts))
		n.log.Warn("notification not delivered, will retry", "channel", ch.String(),
			"kind", m.Event.Kind, "key", m.Event.Key, "attempt", m.Attempts+1, "next", next, "err", err)
		if err := n.box.Retry(ctx, m.ID, next, err.Error()); err != nil {
			return fmt.Errorf("reschedule %d: %w", m.ID, err)
		}
	}
	return nil
}

// backoff is min·2^attempts, capped at max.
func (n *Notifier) backoff(attempts int) time.Duration {
	d := n.min
	for range attempts {
		if d >= n.max/2 {
			return n.max
		}
		d *= 2
	}
	return min(d, n.max)
}

// Test sends a test message to ch at once, bypassing the outbox, for
// `offsite check`. The error is free of secrets.
func (n *Notifier) Test(ctx context.Context, ch Channel) error {
	e := Event{
		Kind:    "test",
		Key:     "test",
		Subject: "offsite: test message",
		Text:    "This is a test message from offsite. If you can read it, this channel works.",
		Time:    n.now(),
	}
	if err := n.sender.Send(ctx, ch, e); err != nil {
		return fmt.Errorf("test %s: %w", ch, scrub(err, ch.URL))
	}
	return nil
}
