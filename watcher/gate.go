package watcher

import (
	"container/heap"
	"io/fs"
	"time"
)

// stamp is what the gate compares: a file counts as unchanged while both agree.
type stamp struct {
	size  int64
	mtime int64 // UnixNano
}

func stampOf(fi fs.FileInfo) stamp {
	return stamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

// entry is one file waiting to be declared complete.
type entry struct {
	rel      string
	seen     stamp     // last observation
	deadline time.Time // when to stat again
	index    int       // position in the heap, -1 when not queued
}

// gate holds every file not yet known to be complete, ordered by deadline, so one
// timer serves any number of files.
type gate struct {
	byRel map[string]*entry
	queue deadlines
}

func newGate() *gate { return &gate{byRel: make(map[string]*entry)} }

// observe records a fresh stat of rel and (re)arms its deadline after wait.
func (g *gate) observe(rel string, s stamp, at time.Time, wait time.Duration) {
	e := g.byRel[rel]
	if e == nil {
		e = &entry{rel: rel, index: -1}
		g.byRel[rel] = e
	}
	e.seen = s
	e.deadline = at.Add(wait)
	if e.index < 0 {
		heap.Push(&g.queue, e)
	} else {
		heap.Fix(&g.queue, e.index)
	}
}

func (g *gate) get(rel string) *entry { return g.byRel[rel] }

func (g *gate) drop(rel string) {
	e := g.byRel[rel]
	if e == nil {
		return
	}
	delete(g.byRel, rel)
	if e.index >= 0 {
		heap.Remove(&g.queue, e.index)
	}
}

// due removes and returns the earliest entry whose deadline is not after now.
func (g *gate) due(now time.Time) *entry {
	if len(g.queue) == 0 || g.queue[0].deadline.After(now) {
		return nil
	}
	e := heap.Pop(&g.queue).(*entry)
	delete(g.byRel, e.rel)
	return e
}

// next is the earliest deadline, or false when nothing waits.
func (g *gate) next() (time.Time, bool) {
	if len(g.queue) == 0 {
		return time.Time{}, false
	}
	return g.queue[0].deadline, true
}

func (g *gate) len() int { return len(g.queue) }

func (g *gate) reset() {
	g.byRel = make(map[string]*entry)
	g.queue = nil
}

type deadlines []*entry

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].deadline.Before(d[j].deadline) }
func (d deadlines) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d[i].index, d[j].index = i, j
}
func (d *deadlines) Push(x any) {
	e := x.(*entry)
	e.index = len(*d)
	*d = append(*d, e)
}
func (d *deadlines) Pop() any {
	old := *d
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*d = old[:len(old)-1]
	return e
}
