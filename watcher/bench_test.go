package watcher

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countSink counts Ready calls and closes done at target; it keeps nothing else, so
// memory figures are the watcher's own.
type countSink struct {
	target int64
	n      atomic.Int64
	done   chan struct{}
	once   sync.Once
	ch     chan File // optional: every Ready, for latency measurement
}

func (s *countSink) Ready(f File) {
	if s.ch != nil {
		s.ch <- f
	}
	if s.n.Add(1) == s.target {
		s.once.Do(func() { close(s.done) })
	}
}
func (s *countSink) Missing(string, error)         {}
func (s *countSink) Back(string)                   {}
func (s *countSink) Stuck(File, time.Time, string) {}
func (s *countSink) Unstuck(string, string)        {}

func runBench(b *testing.B, cfg Config, sink Sink) (stop func()) {
	b.Helper()
	w, err := New([]Config{cfg}, sink, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// vmHWM is the process's peak resident set size, from /proc/self/status.
func vmHWM() (int64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err == nil
		}
	}
	return 0, false
}

// BenchmarkStartupScan100k: 100 folders × 1,000 old files, all reported by the start-up
// scan. Run it alone (-run x -bench StartupScan100k -benchtime 1x) for a clean VmHWM.
func BenchmarkStartupScan100k(b *testing.B) {
	dir := b.TempDir()
	old := time.Now().Add(-time.Hour)
	for d := range 100 {
		sub := filepath.Join(dir, fmt.Sprintf("d%03d", d))
		if err := os.Mkdir(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for i := range 1000 {
			p := filepath.Join(sub, fmt.Sprintf("backup-%05d.bak", i))
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				b.Fatal(err)
			}
			if err := os.Chtimes(p, old, old); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Reset the peak RSS so it measures the scan, not the set-up (Linux ≥ 4.0).
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	b.ResetTimer()
	for b.Loop() {
		sink := &countSink{target: 100_000, done: make(chan struct{})}
		stop := runBench(b, Config{Name: "w", Path: dir, Recursive: true, Settle: 5 * time.Second}, sink)
		select {
		case <-sink.done:
		case <-time.After(time.Minute):
			b.Fatalf("only %d of 100000 reported", sink.n.Load())
		}
		stop()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/100k")
	if hwm, ok := vmHWM(); ok {
		b.ReportMetric(float64(hwm)/(1<<20), "VmHWM-MiB")
	}
}

// BenchmarkBurst10k: 10,000 files written at once into a watched folder; reports how
// long after the last write the last Ready came, beyond the settle period.
func BenchmarkBurst10k(b *testing.B) {
	const settle = 200 * time.Millisecond
	worst := time.Duration(-1 << 62)
	var writing time.Duration
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		sink := &countSink{target: 10_000, done: make(chan struct{})}
		stop := runBench(b, Config{Name: "w", Path: dir, Settle: settle}, sink)
		time.Sleep(50 * time.Millisecond) // let the watch be placed
		b.StartTimer()
		began := time.Now()
		for i := range 10_000 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.bak", i)), []byte("x"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		written := time.Now()
		writing = max(writing, written.Sub(began))
		select {
		case <-sink.done:
		case <-time.After(time.Minute):
			b.Fatalf("only %d of 10000 reported", sink.n.Load())
		}
		worst = max(worst, time.Since(written)-settle)
		b.StopTimer()
		stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(worst.Milliseconds()), "ms-over-settle-worst")
	b.ReportMetric(float64(writing.Milliseconds()), "ms-writing")
}

// BenchmarkDetectionLatency: one file at a time, from its close to its Ready, beyond
// settle. The target is at most 250 ms.
func BenchmarkDetectionLatency(b *testing.B) {
	const settle = 200 * time.Millisecond
	dir := b.TempDir()
	sink := &countSink{target: -1, done: make(chan struct{}), ch: make(chan File, 1)}
	stop := runBench(b, Config{Name: "w", Path: dir, Settle: settle}, sink)
	defer stop()
	time.Sleep(50 * time.Millisecond)
	var over []time.Duration
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("f%06d.bak", i)
		i++
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
		closed := time.Now()
		select {
		case f := <-sink.ch:
			if f.Rel != name {
				b.Fatalf("got %s, want %s", f.Rel, name)
			}
		case <-time.After(10 * time.Second):
			b.Fatal("no Ready")
		}
		over = append(over, time.Since(closed)-settle)
	}
	slices.Sort(over)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(over[len(over)/2]), "ms-over-settle-p50")
	b.ReportMetric(ms(over[len(over)-1]), "ms-over-settle-max")
}
