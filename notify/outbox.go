package notify

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Message is one event waiting for, or delivered to, one channel.
type Message struct {
	ID       int64
	Channel  string // Channel.ID
	Event    Event
	Attempts int // failed delivery attempts so far
}

// Outbox is the durable store behind Notify. The daemon implements it on its
// SQLite queue; MemoryOutbox is the in-process version.
type Outbox interface {
	// Add stores one message per channel unless that (channel, key) was stored
	// before; reports how many were new. Stored means it survives a restart.
	Add(ctx context.Context, channels []string, e Event) (int, error)
	// Due returns up to limit unsent messages whose next attempt is at or
	// before now, oldest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Message, error)
	// Sent marks a message delivered; it is never returned by Due again.
	Sent(ctx context.Context, id int64, at time.Time) error
	// Retry records a failed attempt (Attempts+1) and when to try again.
	// lastErr is already free of secrets.
	Retry(ctx context.Context, id int64, next time.Time, lastErr string) error
}

// MemoryOutbox is an Outbox that lives in memory: for tests, and for
// one-shot commands that have no state directory. It is not durable.
type MemoryOutbox struct {
	mu   sync.Mutex
	last int64
	keys map[[2]string]bool
	msgs map[int64]*memMessage
}

type memMessage struct {
	Message
	next    time.Time
	sentAt  time.Time
	lastErr string
}

var _ Outbox = (*MemoryOutbox)(nil)

// NewMemoryOutbox returns an empty MemoryOutbox.
func NewMemoryOutbox() *MemoryOutbox {
	return &MemoryOutbox{keys: map[[2]string]bool{}, msgs: map[int64]*memMessage{}}
}

func (b *MemoryOutbox) Add(_ context.Context, channels []string, e Event) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, ch := range channels {
		k := [2]string{ch, e.Key}
		if b.keys[k] {
			continue
		}
		b.keys[k] = true
		b.last++
		b.msgs[b.last] = &memMessage{Message: Message{ID: b.last, Channel: ch, Event: e}}
		n++
	}
	return n, nil
}

func (b *MemoryOutbox) Due(_ context.Context, now time.Time, limit int) ([]Message, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Message
	for _, m := range b.msgs {
		if m.sentAt.IsZero() && !m.next.After(now) {
			out = append(out, m.Message)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (b *MemoryOutbox) Sent(_ context.Context, id int64, at time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	m, ok := b.msgs[id]
	if !ok {
		return fmt.Errorf("sent: no message %d", id)
	}
	m.sentAt = at
	return nil
}

func (b *MemoryOutbox) Retry(_ context.Context, id int64, next time.Time, lastErr string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	m, ok := b.msgs[id]
	if !ok {
		return fmt.Errorf("retry: no message %d", id)
	}
	m.Attempts++
	m.next = next
	m.lastErr = lastErr
	return nil
}

// Pending reports the messages not yet delivered, with their last error, for
// `offsite status` and tests.
func (b *MemoryOutbox) Pending() []PendingMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []PendingMessage
	for _, m := range b.msgs {
		if m.sentAt.IsZero() {
			out = append(out, PendingMessage{Message: m.Message, Next: m.next, LastErr: m.lastErr})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// PendingMessage is an undelivered message and why.
type PendingMessage struct {
	Message
	Next    time.Time
	LastErr string
}
