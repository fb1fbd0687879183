package throttle

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

const mib = 1 << 20

// transfer POSTs size bytes through limiters to a loopback server and
// returns the rate the server received them at, in bytes per second.
func transfer(t *testing.T, size int64, limiters ...*rate.Limiter) float64 {
	t.Helper()
	var got int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	body := NewReader(context.Background(), bytes.NewReader(make([]byte, size)), limiters...)
	req, err := http.NewRequest(http.MethodPut, srv.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	took := time.Since(start)
	if got != size {
		t.Fatalf("server received %d bytes, want %d", got, size)
	}
	return float64(size) / took.Seconds()
}

func within(t *testing.T, got, want, tolerance float64) {
	t.Helper()
	if got < want*(1-tolerance) || got > want*(1+tolerance) {
		t.Errorf("rate %.0f B/s (%.2f MiB/s), want %.2f MiB/s ±%.0f%%", got, got/mib, want/mib, tolerance*100)
	} else {
		t.Logf("rate %.3f MiB/s, target %.3f MiB/s (%+.1f%%)", got/mib, want/mib, (got/want-1)*100)
	}
}

func TestBandwidthOverLoopback(t *testing.T) {
	const bps = 2 * mib
	within(t, transfer(t, 3*bps, NewLimiter(bps)), bps, 0.10)
}

func TestBandwidthOverLoopback30s(t *testing.T) {
	if testing.Short() || os.Getenv("OFFSITE_LONG") == "" {
		t.Skip("30 s transfer: run by make test-long (OFFSITE_LONG=1)")
	}
	const bps = 2 * mib
	within(t, transfer(t, 30*bps, NewLimiter(bps)), bps, 0.10)
}

// The slower of a destination's and the global limit wins.
func TestStrictestLimiterWins(t *testing.T) {
	const global = 1 * mib
	within(t, transfer(t, 2*global, NewLimiter(8*mib), NewLimiter(global)), global, 0.10)
}

// One global limiter shared by two uploads caps their sum.
func TestGlobalLimiterShared(t *testing.T) {
	const global = 2 * mib
	g := NewLimiter(global)
	var wg sync.WaitGroup
	start := time.Now()
	for range 2 {
		wg.Go(func() {
			r := NewReader(context.Background(), bytes.NewReader(make([]byte, 2*mib)), NewLimiter(8*mib), g)
			if n, err := io.Copy(io.Discard, r); err != nil || n != 2*mib {
				t.Errorf("copied %d, %v", n, err)
			}
		})
	}
	wg.Wait()
	within(t, float64(4*mib)/time.Since(start).Seconds(), global, 0.10)
}

func TestReadCappedAtBurstAndSeekPassesThrough(t *testing.T) {
	data := make([]byte, 200<<10)
	rand.Read(data)
	l := rate.NewLimiter(rate.Limit(100*mib), 4096)
	r := NewReader(context.Background(), bytes.NewReader(data), l)
	buf := make([]byte, 64<<10)
	n, err := r.Read(buf)
	if err != nil || n != 4096 {
		t.Fatalf("Read = %d, %v; want 4096 (the burst)", n, err)
	}
	if pos, err := r.Seek(0, io.SeekStart); err != nil || pos != 0 {
		t.Fatalf("Seek = %d, %v", pos, err)
	}
	all, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(all, data) {
		t.Fatalf("after Seek read %d bytes, err %v; want the whole %d", len(all), err, len(data))
	}
}

func TestNoLimitersIsTheReader(t *testing.T) {
	src := bytes.NewReader(nil)
	if r := NewReader(context.Background(), src, nil, NewLimiter(0)); r != io.ReadSeeker(src) {
		t.Error("no limit should return the reader itself")
	}
}

func TestReaderStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := NewReader(ctx, bytes.NewReader(make([]byte, 10*mib)), NewLimiter(64<<10))
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := io.Copy(io.Discard, r)
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v to stop", d)
	}
}
