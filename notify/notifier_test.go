package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// runUntil runs n until cond holds, failing after a few seconds.
func runUntil(t *testing.T, n *Notifier, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type hook struct {
	srv      *httptest.Server
	mu       sync.Mutex
	bodies   []webhookPayload
	failures atomic.Int32 // answer 500 this many more times
	calls    atomic.Int32
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.calls.Add(1)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		if h.failures.Add(-1) >= 0 {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var p webhookPayload
		if err := json.Unmarshal(b, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, p)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) received() []webhookPayload {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]webhookPayload(nil), h.bodies...)
}

func fastNotifier(t *testing.T, urls []string, on [][]Kind, box Outbox, opts ...Option) *Notifier {
	t.Helper()
	chs, err := ParseChannels(urls, on)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]Option{WithBackoff(5*time.Millisecond, 20*time.Millisecond), WithPollInterval(5 * time.Millisecond)}, opts...)
	return New(chs, box, nil, opts...)
}

func TestWebhookReceivesJSON(t *testing.T) {
	h := newHook(t)
	n := fastNotifier(t, []string{h.srv.URL + "/offsite"}, nil, NewMemoryOutbox())
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	ev := Small("pos", "day.bak", 1000, 50000)
	ev.Time = at
	if err := n.Notify(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	runUntil(t, n, func() bool { return len(h.received()) == 1 })
	got := h.received()[0]
	if got.Kind != KindMissed || got.Key != "small/pos/day.bak/1000" || got.Subject != ev.Subject ||
		got.Text != ev.Text || !got.Time.Equal(at) || got.Fields["size"] != "1000" || got.Fields["median"] != "50000" {
		t.Errorf("payload = %+v", got)
	}
}

// A webhook that answers 500 twice then 200 gets the event exactly once,
// after two retries; the same event notified again is not sent again.
func TestWebhookRetriesThenDeliversOnce(t *testing.T) {
	h := newHook(t)
	h.failures.Store(2)
	box := NewMemoryOutbox()
	n := fastNotifier(t, []string{h.srv.URL}, nil, box)
	ev := FolderMissing("pos", "/srv/pos")
	ctx := context.Background()
	if err := n.Notify(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(ctx, ev); err != nil {
		t.Fatal(err)
	}
	runUntil(t, n, func() bool { return len(h.received()) == 1 && len(box.Pending()) == 0 })
	// Notified again after delivery: still the same cause, nothing to send.
	if err := n.Notify(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if p := box.Pending(); len(p) != 0 {
		t.Errorf("re-notified event queued again: %+v", p)
	}
	if got := len(h.received()); got != 1 {
		t.Errorf("delivered %d times, want 1", got)
	}
	if got := h.calls.Load(); got != 3 {
		t.Errorf("webhook called %d times, want 3 (two 500s, one 200)", got)
	}
}

// Kinds go only to channels that subscribed to them.
func TestOnFilter(t *testing.T) {
	alerts, reports := newHook(t), newHook(t)
	n := fastNotifier(t, []string{alerts.srv.URL, reports.srv.URL}, [][]Kind{{KindFailure}, {KindReport}}, NewMemoryOutbox())
	ctx := context.Background()
	for _, e := range []Event{
		FolderMissing("pos", "/srv/pos"),
		Report(RunReport{Start: time.Unix(100, 0), End: time.Unix(160, 0)}),
		DestinationRecovered("cloud"), // nobody wants it
	} {
		if err := n.Notify(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	runUntil(t, n, func() bool { return len(alerts.received()) == 1 && len(reports.received()) == 1 })
	if a, r := alerts.received()[0].Kind, reports.received()[0].Kind; a != KindFailure || r != KindReport {
		t.Errorf("alerts got %s, reports got %s", a, r)
	}
}

// Messages stored before a restart are delivered by the next Notifier on the
// same outbox; delivered ones are not sent again.
func TestPendingSurvivesRestart(t *testing.T) {
	box := NewMemoryOutbox()
	h := newHook(t)
	urls := []string{h.srv.URL}
	before := fastNotifier(t, urls, nil, box)
	ctx := context.Background()
	if err := before.Notify(ctx, DestinationRecovered("usb")); err != nil {
		t.Fatal(err)
	}
	if err := before.Notify(ctx, DestinationRecovered("cloud")); err != nil {
		t.Fatal(err)
	}
	// "Crash": the first Notifier never ran. A new one picks both up.
	after := fastNotifier(t, urls, nil, box)
	runUntil(t, after, func() bool { return len(box.Pending()) == 0 })
	if got := len(h.received()); got != 2 {
		t.Errorf("delivered %d, want 2", got)
	}
	// The daemon re-derives the same events after the restart: nothing new.
	if err := after.Notify(ctx, DestinationRecovered("usb")); err != nil {
		t.Fatal(err)
	}
	if p := box.Pending(); len(p) != 0 {
		t.Errorf("re-notified after restart: %+v", p)
	}
}

// Messages for a channel that was removed from the config are dropped, not
// retried for ever; those for remaining channels are delivered.
func TestRemovedChannelIsDropped(t *testing.T) {
	box := NewMemoryOutbox()
	kept := newHook(t)
	old := fastNotifier(t, []string{kept.srv.URL, "https://gone.example/hook"}, nil, box)
	if err := old.Notify(context.Background(), DestinationRecovered("usb")); err != nil {
		t.Fatal(err)
	}
	n := fastNotifier(t, []string{kept.srv.URL}, nil, box)
	runUntil(t, n, func() bool { return len(box.Pending()) == 0 })
	if len(kept.received()) != 1 {
		t.Errorf("kept channel got %d messages", len(kept.received()))
	}
}

// After a channel's first failure the rest of its batch waits for the retry
// instead of each timing out; other channels are not held up.
func TestDownChannelDoesNotBlockOthers(t *testing.T) {
	box := NewMemoryOutbox()
	h := newHook(t)
	var deadCalls atomic.Int32
	dead := "https://dead.example/hook"
	sender := SenderFunc(func(ctx context.Context, ch Channel, e Event) error {
		if ch.URL == dead {
			deadCalls.Add(1)
			return errors.New("connection refused")
		}
		return defaultSender{client: http.DefaultClient}.Send(ctx, ch, e)
	})
	n := fastNotifier(t, []string{dead, h.srv.URL}, nil, box, WithBackoff(time.Hour, time.Hour), WithSender(sender))
	for _, d := range []string{"a", "b", "c"} {
		if err := n.Notify(context.Background(), DestinationRecovered(d)); err != nil {
			t.Fatal(err)
		}
	}
	runUntil(t, n, func() bool { return len(h.received()) == 3 && len(box.Pending()) == 3 })
	if got := deadCalls.Load(); got != 1 {
		t.Errorf("dead channel tried %d times, want 1", got)
	}
	for _, p := range box.Pending() {
		if p.Attempts != 1 || !strings.Contains(p.LastErr, "connection refused") {
			t.Errorf("pending %+v", p)
		}
	}
}

// A sender error that quotes the URL is scrubbed before it is stored.
func TestSendErrorsAreScrubbed(t *testing.T) {
	box := NewMemoryOutbox()
	const token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	raw := "telegram://" + token + "@telegram?chats=@shopalerts"
	sender := SenderFunc(func(ctx context.Context, ch Channel, e Event) error {
		return errors.New(`Post "https://api.telegram.org/bot` + token + `/sendMessage": dial tcp: i/o timeout`)
	})
	n := fastNotifier(t, []string{raw}, nil, box, WithBackoff(time.Hour, time.Hour), WithSender(sender))
	if err := n.Notify(context.Background(), DestinationRecovered("usb")); err != nil {
		t.Fatal(err)
	}
	runUntil(t, n, func() bool { p := box.Pending(); return len(p) == 1 && p[0].Attempts == 1 })
	got := box.Pending()[0].LastErr
	if strings.Contains(got, "AAHdqTcv") || !strings.Contains(got, "i/o timeout") {
		t.Errorf("stored error %q", got)
	}
}

func TestBackoffDoublesToAnHour(t *testing.T) {
	n := New(nil, NewMemoryOutbox(), nil)
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := n.backoff(i); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i, got, w)
		}
	}
	if got := n.backoff(1000); got != time.Hour {
		t.Errorf("backoff(1000) = %v", got)
	}
}

// Retry times come from the injected clock.
func TestRetryUsesClock(t *testing.T) {
	box := NewMemoryOutbox()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	fail := SenderFunc(func(context.Context, Channel, Event) error { return errors.New("down") })
	n := fastNotifier(t, []string{"https://hooks.example/x"}, nil, box,
		WithClock(func() time.Time { return now }), WithBackoff(30*time.Second, time.Hour), WithSender(fail))
	if err := n.Notify(context.Background(), DestinationRecovered("usb")); err != nil {
		t.Fatal(err)
	}
	runUntil(t, n, func() bool { p := box.Pending(); return len(p) == 1 && p[0].Attempts == 1 })
	p := box.Pending()[0]
	if want := now.Add(30 * time.Second); !p.Next.Equal(want) || !p.Event.Time.Equal(now) {
		t.Errorf("next = %v, event time %v; want %v, %v", p.Next, p.Event.Time, want, now)
	}
}

func TestNotifyRejectsBadEvents(t *testing.T) {
	n := New(nil, NewMemoryOutbox(), nil)
	if err := n.Notify(context.Background(), Event{Kind: "oops", Key: "k"}); err == nil {
		t.Error("unknown kind accepted")
	}
	if err := n.Notify(context.Background(), Event{Kind: KindFailure}); err == nil {
		t.Error("event without key accepted")
	}
}
