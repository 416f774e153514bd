package main

import (
	"sync"
	"time"
)

// boundedMap is a map with a size limit and a time to live: expired
// entries are dropped, and when it is full the oldest entry makes room.
// It is safe for concurrent use.
type boundedMap[V any] struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	now   func() time.Time
	items map[string]entry[V]
	order []stamp // insertion order; entries removed since are skipped
}

type entry[V any] struct {
	v       V
	created time.Time
}

type stamp struct {
	key     string
	created time.Time
}

func newBoundedMap[V any](max int, ttl time.Duration) *boundedMap[V] {
	return &boundedMap[V]{max: max, ttl: ttl, now: time.Now, items: map[string]entry[V]{}}
}

// Put stores v under k, evicting expired entries and then the oldest ones
// while the map is full.
func (m *boundedMap[V]) Put(k string, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(k, v)
}

func (m *boundedMap[V]) put(k string, v V) {
	now := m.now()
	delete(m.items, k)
	for len(m.order) > 0 {
		head := m.order[0]
		e, ok := m.items[head.key]
		current := ok && e.created.Equal(head.created)
		if current && now.Sub(e.created) <= m.ttl && len(m.items) < m.max {
			break
		}
		if current {
			delete(m.items, head.key)
		}
		m.order = m.order[1:]
	}
	if len(m.order) > 2*m.max { // drop the stamps of removed entries
		kept := make([]stamp, 0, len(m.items)+1)
		for _, st := range m.order {
			if e, ok := m.items[st.key]; ok && e.created.Equal(st.created) {
				kept = append(kept, st)
			}
		}
		m.order = kept
	}
	m.items[k] = entry[V]{v: v, created: now}
	m.order = append(m.order, stamp{key: k, created: now})
}

// Get returns the live value under k.
func (m *boundedMap[V]) Get(k string) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.items[k]
	if !ok || m.now().Sub(e.created) > m.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Take returns the live value under k and removes it: a second Take of the
// same key finds nothing.
func (m *boundedMap[V]) Take(k string) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.items[k]
	delete(m.items, k)
	if !ok || m.now().Sub(e.created) > m.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Delete removes k.
func (m *boundedMap[V]) Delete(k string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, k)
}

// Len is the number of entries held, live or not yet evicted.
func (m *boundedMap[V]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// onceSet remembers up to max keys, forgetting the oldest first.
type onceSet struct {
	m *boundedMap[struct{}]
}

func newOnceSet(max int) *onceSet {
	return &onceSet{m: newBoundedMap[struct{}](max, 100*365*24*time.Hour)}
}

// Add records k and reports whether it was new.
func (s *onceSet) Add(k string) bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if _, seen := s.m.items[k]; seen {
		return false
	}
	s.m.put(k, struct{}{})
	return true
}

// Has reports whether k is recorded.
func (s *onceSet) Has(k string) bool {
	_, ok := s.m.Get(k)
	return ok
}
