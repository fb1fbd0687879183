package app

import (
	"context"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/notify"
)

// TestWeeklyProofAfterMondayOnceAWeek: the proof goes out at the first check
// after Monday 08:00 (a `once` on Tuesday evening, a PC off on Monday), once
// per week across separate runs, and not in the week offsite started.
func TestWeeklyProofAfterMondayOnceAWeek(t *testing.T) {
	a, _ := testApp(t)
	ctx := context.Background()
	p, err := a.pipeline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.notifier = notify.New([]notify.Channel{{ID: "hook", URL: "http://127.0.0.1:1/hook", On: []notify.Kind{notify.KindWeekly}}}, outbox{a.Store}, a.Log)
	weekly := func() int {
		msgs, err := outbox{a.Store}.Due(ctx, time.Now().Add(1000*time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range msgs {
			if m.Event.Kind == notify.KindWeekly {
				n++
			}
		}
		return n
	}
	m := a.monitorFor(p)
	wed := time.Date(2026, 11, 25, 12, 0, 0, 0, time.Local) // offsite first runs on a Wednesday
	m.Weekly(ctx, wed)
	m.Weekly(ctx, wed.AddDate(0, 0, 3))
	if n := weekly(); n != 0 {
		t.Fatalf("%d proofs in the week offsite started, want none", n)
	}
	m.Weekly(ctx, time.Date(2026, 11, 30, 7, 0, 0, 0, time.Local)) // Monday, before 08:00
	if n := weekly(); n != 0 {
		t.Fatalf("proof before Monday 08:00")
	}
	tue := time.Date(2026, 12, 1, 19, 0, 0, 0, time.Local) // the first `once` of the week
	m.Weekly(ctx, tue)
	m.Weekly(ctx, tue.Add(24*time.Hour))
	if n := weekly(); n != 1 {
		t.Fatalf("%d proofs in the first full week, want 1", n)
	}
	m.Weekly(ctx, tue.AddDate(0, 0, 7))
	if n := weekly(); n != 2 {
		t.Fatalf("%d proofs after the second week, want 2", n)
	}
}
