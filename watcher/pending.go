package watcher

import (
	"sync"
	"sync/atomic"

	"github.com/fsnotify/fsnotify"
)

// maxHints bounds the pending set: past it the hints are dropped in favour of one full
// rescan, as Syncthing collapses a flood of events into "scan the whole folder".
const maxHints = 200_000

// pending is the hand-off between the event drain and the watch loop. Its lock is only
// ever held for a map operation, so the drain never waits on disk I/O or on the sink.
type pending struct {
	mu       sync.Mutex
	paths    map[string]struct{} // absolute paths named by events
	rechecks map[string]struct{} // relative paths sent back by Recheck
	forgets  map[string]struct{} // relative paths sent back by Forget
	rescan   bool
	errs     []error // watcher errors, logged by the loop
	wake     chan struct{}

	dropEvents atomic.Bool // test hook: lose every event, as an overflow would
}

func newPending() *pending {
	return &pending{
		paths:    make(map[string]struct{}),
		rechecks: make(map[string]struct{}),
		forgets:  make(map[string]struct{}),
		wake:     make(chan struct{}, 1),
	}
}

func (p *pending) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *pending) hint(name string) {
	if p.dropEvents.Load() {
		return
	}
	p.mu.Lock()
	if len(p.paths) >= maxHints {
		p.paths = make(map[string]struct{})
		p.rescan = true
	} else {
		p.paths[name] = struct{}{}
	}
	p.mu.Unlock()
	p.signal()
}

// fail records a watcher error; every error, overflow included, means events may be
// lost, so it always schedules a full rescan.
func (p *pending) fail(err error) {
	p.mu.Lock()
	p.rescan = true
	if len(p.errs) < 16 {
		p.errs = append(p.errs, err)
	}
	p.mu.Unlock()
	p.signal()
}

func (p *pending) requestRescan() {
	p.mu.Lock()
	p.rescan = true
	p.mu.Unlock()
	p.signal()
}

func (p *pending) recheck(rel string) {
	p.mu.Lock()
	p.rechecks[rel] = struct{}{}
	p.mu.Unlock()
	p.signal()
}

func (p *pending) forget(rel string) {
	p.mu.Lock()
	p.forgets[rel] = struct{}{}
	p.mu.Unlock()
	p.signal()
}

// batch is what the loop takes out of pending in one go.
type batch struct {
	paths    map[string]struct{}
	rechecks map[string]struct{}
	forgets  map[string]struct{}
	rescan   bool
	errs     []error
}

func (p *pending) take() batch {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := batch{rescan: p.rescan, errs: p.errs}
	if len(p.paths) > 0 {
		b.paths = p.paths
		p.paths = make(map[string]struct{})
	}
	if len(p.rechecks) > 0 {
		b.rechecks = p.rechecks
		p.rechecks = make(map[string]struct{})
	}
	if len(p.forgets) > 0 {
		b.forgets = p.forgets
		p.forgets = make(map[string]struct{})
	}
	p.rescan, p.errs = false, nil
	return b
}

// drain moves fsnotify's events and errors into p until the watcher is closed. It does
// nothing else: a slow consumer here is how kernel queues overflow.
func drain(fsw *fsnotify.Watcher, p *pending, done chan<- struct{}) {
	defer close(done)
	events, errs := fsw.Events, fsw.Errors
	for events != nil || errs != nil {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			p.hint(ev.Name)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			p.fail(err)
		}
	}
}
