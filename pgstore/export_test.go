package pgstore

// OwnerKey exposes the advisory lock key of owner's cart to the tests, so
// they can hold it from another session.
func (s *Store) OwnerKey(owner string) int64 { return s.ownerKey(owner) }

// LockKey exposes the advisory lock key of a Locker name to the tests.
var LockKey = lockKey
