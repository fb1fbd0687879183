package queue

import "sync/atomic"

// faults lets tests make writes fail the way a full disk or a locked
// database does, without needing either.
type faults struct {
	enqueue atomic.Pointer[func() error]
}

// SetEnqueueFault makes Enqueue fail with f's error whenever f returns one
// (nil f clears it). For tests of what happens when the queue cannot take
// new files.
func (s *Store) SetEnqueueFault(f func() error) {
	if f == nil {
		s.faults.enqueue.Store(nil)
		return
	}
	s.faults.enqueue.Store(&f)
}

func (s *Store) enqueueFault() error {
	if f := s.faults.enqueue.Load(); f != nil {
		return (*f)()
	}
	return nil
}
