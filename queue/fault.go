package queue

import "sync"

// faults lets tests make writes fail the way a full disk or a locked
// database does, without needing either.
type faults struct {
	mu sync.Mutex
	by map[string]func() error
}

// SetFault makes one kind of write ("enqueue", "fail", "requeue") fail
// with f's error whenever f returns one; a nil f clears it. For tests of
// what happens when the queue cannot take a write.
func (s *Store) SetFault(op string, f func() error) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if s.faults.by == nil {
		s.faults.by = map[string]func() error{}
	}
	s.faults.by[op] = f
}

func (s *Store) fault(op string) error {
	s.faults.mu.Lock()
	f := s.faults.by[op]
	s.faults.mu.Unlock()
	if f != nil {
		return f()
	}
	return nil
}
