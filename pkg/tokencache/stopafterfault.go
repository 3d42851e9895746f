package tokencache

import (
	"errors"
	"sync"
)

// StopAfterFault returns s such that, once a call has failed with
// ErrKeyringFault, every later call fails at once with that error: a keyring
// that did not answer in time would make each further call wait as long
// again. logout reads and then deletes through the same stores.
func StopAfterFault(s Store) Store {
	return &stopAfterFault{next: s}
}

type stopAfterFault struct {
	next Store

	mu    sync.Mutex
	fault error
}

func (s *stopAfterFault) do(op func() error) error {
	s.mu.Lock()
	fault := s.fault
	s.mu.Unlock()
	if fault != nil {
		return fault
	}
	err := op()
	if errors.Is(err, ErrKeyringFault) {
		s.mu.Lock()
		s.fault = err
		s.mu.Unlock()
	}
	return err
}

func (s *stopAfterFault) Load(id string) (Entry, error) {
	var e Entry
	err := s.do(func() (err error) {
		e, err = s.next.Load(id)
		return err
	})
	return e, err
}

func (s *stopAfterFault) Save(id string, e Entry) error {
	return s.do(func() error { return s.next.Save(id, e) })
}

func (s *stopAfterFault) Delete(id string) error {
	return s.do(func() error { return s.next.Delete(id) })
}

func (s *stopAfterFault) DeleteAll() error {
	return s.do(s.next.DeleteAll)
}
