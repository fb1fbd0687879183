package app

import (
	"testing"
	"time"

	"github.com/offsite-backup/offsite/config"
)

func TestBandwidthSharedPerDestinationAndGlobally(t *testing.T) {
	cfg := &config.Config{Bandwidth: 4 << 20, Destinations: []config.Destination{
		{Name: "dropbox", Bandwidth: 2 << 20}, {Name: "usb"},
	}}
	b := newBandwidth(cfg)
	a := &App{}
	drop, usb := &cfg.Destinations[0], &cfg.Destinations[1]
	l1, l2 := a.limiters(drop, b), a.limiters(drop, b)
	if len(l1) != 2 || l1[0] != l2[0] || l1[1] != l2[1] {
		t.Fatalf("dropbox limiters %v and %v: want the same two buckets each time", l1, l2)
	}
	if int(l1[0].Limit()) != 2<<20 || int(l1[1].Limit()) != 4<<20 {
		t.Errorf("limits %v, %v", l1[0].Limit(), l1[1].Limit())
	}
	if lu := a.limiters(usb, b); len(lu) != 1 || lu[0] != l1[1] {
		t.Errorf("usb limiters %v, want only the shared global one", lu)
	}
	if got := a.limiters(usb, newBandwidth(&config.Config{})); len(got) != 0 {
		t.Errorf("no bandwidth configured gave %v", got)
	}
}

// TestUploadWindowKeptOnlyByTheDaemon: `push`, `check` and `restore` are a
// person acting now and ignore the window; the daemon keeps to it, asked
// per upload since the stack is built before Run says it is the daemon.
func TestUploadWindowKeptOnlyByTheDaemon(t *testing.T) {
	a := &App{}
	start := time.Now().Add(2 * time.Hour)
	d := &config.Destination{Name: "usb", Timezone: "UTC",
		Window: start.UTC().Format("15:04") + "-" + start.Add(time.Minute).UTC().Format("15:04")}
	window := a.uploadWindow(d)
	if w := window(); w != nil {
		t.Fatal("a person's upload waits for the window")
	}
	a.daemon.Store(true)
	w := window()
	if w == nil || w(time.Now()) || !w(start.Truncate(time.Minute).Add(10*time.Second)) {
		t.Fatal("the daemon's upload does not keep to the window")
	}
}
