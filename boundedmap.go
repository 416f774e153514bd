package shadow

// maxRemembered bounds each per-guest memory of the process (renewals,
// activity writes, shared ended-guest checks), in entries (guests).
const maxRemembered = 100_000

// makeRoom keeps m below maxRemembered entries before an insert: when it
// is full, the entries stale reports go; when all are live, m is cleared,
// which costs each forgotten guest one extra store or ZITADEL call, never
// a wrong answer. The caller holds m's lock.
func makeRoom[K comparable, V any](m map[K]V, stale func(V) bool) {
	if len(m) < maxRemembered {
		return
	}
	for k, v := range m {
		if stale(v) {
			delete(m, k)
		}
	}
	if len(m) >= maxRemembered {
		clear(m)
	}
}
