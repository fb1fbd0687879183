package providertest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offsite-backup/offsite/providers"
)

// SilentServer returns the root URL of a listener that accepts connections
// and then neither reads nor answers: a service that has stalled.
func SilentServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// StallCall is one adapter call made while the service stalls.
type StallCall struct {
	Name string
	Call func(ctx context.Context) error
}

// StallCalls are the calls of p a stall test makes: each must give up.
// big is the size of an upload that takes a resumable session.
func StallCalls(p providers.Provider, big int) []StallCall {
	put := func(name string, n int) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := p.Put(ctx, "stall/"+name, bytes.NewReader(Data(uint64(n), n)), int64(n), providers.PutOptions{})
			return err
		}
	}
	return []StallCall{
		{"Stat", func(ctx context.Context) error { _, err := p.Stat(ctx, "stall/a.bak"); return err }},
		{"List", func(ctx context.Context) error { _, err := p.List(ctx, "stall"); return err }},
		{"Put small", put("small.bak", 1000)},
		{"Put resumable", put("big.bak", big)},
		{"Get", func(ctx context.Context) error {
			rc, err := p.Get(ctx, "stall/a.bak")
			if err == nil {
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
			}
			return err
		}},
	}
}

// Pick returns the calls of those names.
func Pick(calls []StallCall, names ...string) []StallCall {
	var out []StallCall
	for _, c := range calls {
		for _, n := range names {
			if c.Name == n {
				out = append(out, c)
			}
		}
	}
	return out
}

// Fault installs a fault through an emulator's control API at root, as a
// test script would (fault JSON as /_fakecloud/faults takes it); "" clears
// every fault.
func Fault(t testing.TB, root, fault string) {
	t.Helper()
	method := http.MethodPost
	if fault == "" {
		method = http.MethodDelete
	}
	req, _ := http.NewRequest(method, root+"/_fakecloud/faults", strings.NewReader(fault))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s fault %s: %v", method, fault, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("%s fault %s: %s", method, fault, resp.Status)
	}
}

// CheckStalls makes each call and checks that it gives up within limit
// with the shared Temporary stall error, whose words say what happened.
// The caller's context has no deadline: giving up is the adapter's job.
func CheckStalls(t *testing.T, limit time.Duration, calls ...StallCall) {
	t.Helper()
	for _, c := range calls {
		t.Run(c.Name, func(t *testing.T) {
			done := make(chan error, 1)
			start := time.Now()
			go func() { done <- c.Call(context.Background()) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(limit + 30*time.Second):
				t.Fatalf("%s still hangs after %v", c.Name, time.Since(start))
			}
			took := time.Since(start)
			if !errors.Is(err, providers.ErrStalled) || providers.KindOf(err) != providers.Temporary {
				t.Fatalf("%s: err = %v (kind %v), want the Temporary stall error", c.Name, err, providers.KindOf(err))
			}
			if msg := err.Error(); !strings.Contains(msg, "the service or the network stalled") {
				t.Errorf("%s: err = %q, want it to say the service or network stalled", c.Name, msg)
			}
			if took > limit {
				t.Errorf("%s gave up after %v, want within %v", c.Name, took, limit)
			}
			t.Logf("gave up after %v: %v", took.Round(10*time.Millisecond), err)
		})
	}
}

// HugeErrorServer returns the root URL of a service that answers every
// request with 400 and an error body of size bytes, and a func that tells
// how many body bytes it managed to send in all. A client that reads error
// bodies through a limit stops taking them early.
func HugeErrorServer(t testing.TB, size int64) (root string, sent func() int64) {
	t.Helper()
	var mu sync.Mutex
	var total int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		buf := bytes.Repeat([]byte(" "), 64<<10)
		for n := int64(0); n < size; n += int64(len(buf)) {
			m, err := w.Write(buf)
			mu.Lock()
			total += int64(m)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() int64 {
		mu.Lock()
		defer mu.Unlock()
		return total
	}
}
