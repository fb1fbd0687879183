package providers

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestChunkSizerGrowsOnAFastLinkOnly(t *testing.T) {
	const unit = 320 << 10
	c := NewChunkSizer(10<<20, 56<<20, unit)
	if got := c.Next(1 << 40); got != 10<<20 {
		t.Fatalf("first chunk %d, want the configured 10 MiB", got)
	}
	var sizes []int64
	for range 5 {
		n := c.Next(1 << 40)
		sizes = append(sizes, n)
		if n%unit != 0 || n > 56<<20 {
			t.Fatalf("chunk %d: not a multiple of %d or over the maximum", n, unit)
		}
		c.Sent(n, 100*time.Millisecond)
	}
	if sizes[1] <= sizes[0] || sizes[len(sizes)-1] != 56<<20/unit*unit {
		t.Fatalf("sizes on a fast link %v: want them to double up to the maximum", sizes)
	}
	// The link slows down: back towards the start, never below it.
	for range 10 {
		c.Sent(c.Next(1<<40), 10*time.Second)
	}
	if got := c.Next(1 << 40); got != 10<<20 {
		t.Fatalf("after slow chunks: %d, want the start", got)
	}
	// A chunk of a few seconds keeps its size; the last, short one says nothing.
	c.Sent(10<<20, 2*time.Second)
	c.Sent(1<<20, time.Millisecond)
	if got := c.Next(5 << 20); got != 5<<20 {
		t.Fatalf("capped by what is left: %d", got)
	}
	if got := c.Next(1 << 40); got != 10<<20 {
		t.Fatalf("steady link: %d, want 10 MiB", got)
	}
	// A maximum below the start keeps every chunk at the start.
	fixed := NewChunkSizer(8<<20, 1, 256<<10)
	fixed.Sent(8<<20, time.Millisecond)
	if got := fixed.Next(1 << 40); got != 8<<20 {
		t.Fatalf("fixed size grew to %d", got)
	}
}

func TestChunkReaderTellsASourceThatShrank(t *testing.T) {
	src := bytes.NewReader([]byte(strings.Repeat("x", 100)))
	c, err := NewChunkReader(src, 60, 30)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(c); err != nil || len(b) != 30 || c.Err != nil {
		t.Fatalf("read %d, %v, %v", len(b), err, c.Err)
	}
	c, _ = NewChunkReader(src, 80, 30) // only 20 left
	if _, err := io.ReadAll(c); !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(c.Err, io.ErrUnexpectedEOF) {
		t.Fatalf("short source: %v, kept %v", err, c.Err)
	}
}

// TestClosedChunkLeavesTheSourceAlone: once its request is over, a chunk
// body the HTTP transport still reads gets an error and does not move the
// source the next attempt has positioned.
func TestClosedChunkLeavesTheSourceAlone(t *testing.T) {
	src := bytes.NewReader([]byte(strings.Repeat("y", 100)))
	old, _ := NewChunkReader(src, 0, 50)
	old.Detach()
	next, _ := NewChunkReader(src, 50, 50)
	if n, err := old.Read(make([]byte, 10)); n != 0 || err == nil || old.Err != nil {
		t.Fatalf("read after Detach: %d, %v (kept %v)", n, err, old.Err)
	}
	if b, err := io.ReadAll(next); err != nil || len(b) != 50 {
		t.Fatalf("the next chunk read %d bytes, %v: its source was moved", len(b), err)
	}
}
