package retry

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/offsite-backup/offsite/providers"
)

func TestBackoffGrowsAndCaps(t *testing.T) {
	p := Policy{Initial: time.Second, Max: 10 * time.Second, Attempts: 10}
	for _, tc := range []struct {
		attempt int
		u       float64
		want    time.Duration
	}{
		{1, 0.999999, time.Second - time.Microsecond},
		{2, 0.5, time.Second},
		{3, 0.5, 2 * time.Second},
		{4, 0.99, 7920 * time.Millisecond},
		{9, 0.99, 9900 * time.Millisecond}, // capped at Max
		{5, 0, 250 * time.Millisecond},     // floor: Initial/4
	} {
		got := Backoff(p, tc.attempt, tc.u).Round(time.Microsecond)
		if got != tc.want {
			t.Errorf("Backoff(attempt %d, u %.2f) = %v, want %v", tc.attempt, tc.u, got, tc.want)
		}
	}
}

func TestDoStopsOnKinds(t *testing.T) {
	for _, tc := range []struct {
		kind  providers.Kind
		calls int
	}{
		{providers.Temporary, 3},
		{providers.RateLimited, 3},
		{providers.Permanent, 1},
		{providers.Fatal, 1},
	} {
		synctest.Test(t, func(t *testing.T) {
			calls := 0
			err := Do(t.Context(), Policy{Initial: time.Second, Attempts: 3}, &Pacer{}, func(context.Context) error {
				calls++
				return providers.Classify(tc.kind, errors.New("boom"))
			})
			if err == nil || calls != tc.calls {
				t.Errorf("%v: calls = %d (err %v), want %d", tc.kind, calls, err, tc.calls)
			}
			if providers.KindOf(err) != tc.kind {
				t.Errorf("%v: kind lost: %v", tc.kind, providers.KindOf(err))
			}
		})
	}
}

func TestDoNeverRetriesCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		calls := 0
		err := Do(ctx, Policy{Attempts: 10}, nil, func(context.Context) error {
			calls++
			cancel()
			return ctx.Err()
		})
		if calls != 1 || !errors.Is(err, context.Canceled) {
			t.Fatalf("calls %d err %v", calls, err)
		}
	})
}

func TestRetryAfterHonouredAndShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pacer := &Pacer{}
		start := time.Now()
		var mu sync.Mutex
		var starts []time.Duration
		limited := true
		op := func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			starts = append(starts, time.Since(start))
			if limited {
				limited = false
				return &providers.Error{Kind: providers.RateLimited, RetryAfter: 120 * time.Second, Err: errors.New("429")}
			}
			return nil
		}
		if err := Do(t.Context(), Policy{Initial: time.Second, Attempts: 3}, pacer, op); err != nil {
			t.Fatal(err)
		}
		if len(starts) != 2 || starts[1] != 120*time.Second {
			t.Fatalf("retry started at %v, want exactly 2m0s after the first", starts)
		}
		// A second worker starting during a hold waits for it too.
		pacer.Hold(30 * time.Second)
		t0 := time.Now()
		if err := Do(t.Context(), Policy{}, pacer, func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(t0); waited != 30*time.Second {
			t.Fatalf("other worker waited %v, want 30s", waited)
		}
	})
}

func TestRateLimitWithoutRetryAfterBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var at []time.Time
		err := Do(t.Context(), Policy{Initial: 4 * time.Second, Max: 4 * time.Second, Attempts: 2}, &Pacer{}, func(context.Context) error {
			at = append(at, time.Now())
			return providers.Classify(providers.RateLimited, errors.New("429"))
		})
		if err == nil || len(at) != 2 {
			t.Fatalf("err %v calls %d", err, len(at))
		}
		if gap := at[1].Sub(at[0]); gap < time.Second || gap > 4*time.Second {
			t.Fatalf("gap %v outside [Initial/4, Max]", gap)
		}
	})
}

// A Retry-After beyond MaxRetryAfter (a service once asked for a year) is
// handed back at once: no sleep, and no hold on the destination's pacer.
func TestRetryAfterBeyondCapReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pacer := &Pacer{}
		calls := 0
		start := time.Now()
		err := Do(t.Context(), Policy{Initial: time.Second, Attempts: 5, MaxRetryAfter: time.Hour}, pacer, func(context.Context) error {
			calls++
			return &providers.Error{Kind: providers.RateLimited, RetryAfter: 365 * 24 * time.Hour, Err: errors.New("429")}
		})
		if calls != 1 || providers.RetryAfterOf(err) != 365*24*time.Hour {
			t.Fatalf("calls %d err %v, want one call and the year-long Retry-After returned", calls, err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("Do waited %v for a Retry-After beyond its cap", waited)
		}
		if !pacer.Until().IsZero() {
			t.Fatalf("pacer held until %v", pacer.Until())
		}
	})
}

// A stall has already cost a whole timeout: retrying it inside the call
// would multiply that by every layer's attempts, so it is returned at once
// (the queue retries later). Other temporary errors are still retried.
func TestStallIsNotRetriedWithinACall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		err := Do(t.Context(), Policy{Initial: time.Second, Attempts: 5}, &Pacer{}, func(context.Context) error {
			calls++
			return providers.Stalled("no answer for 1m0s")
		})
		if calls != 1 || !errors.Is(err, providers.ErrStalled) || providers.KindOf(err) != providers.Temporary {
			t.Fatalf("calls %d, err %v (kind %v): want one call and the Temporary stall back", calls, err, providers.KindOf(err))
		}
		calls = 0
		_ = Do(t.Context(), Policy{Initial: time.Second, Attempts: 3}, &Pacer{}, func(context.Context) error {
			calls++
			return &providers.Error{Kind: providers.Temporary, Err: errors.New("503")}
		})
		if calls != 3 {
			t.Fatalf("a plain temporary error was tried %d times, want 3", calls)
		}
	})
}
