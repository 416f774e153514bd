package shadow

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMakeRoom(t *testing.T) {
	t.Parallel()
	fill := func(n, stale int) map[int]bool { // value: stale
		m := make(map[int]bool, n)
		for i := range n {
			m[i] = i < stale
		}
		return m
	}
	for _, c := range []struct {
		name         string
		n, stale     int
		wantLen      int
		wantAllFresh bool
	}{
		{"below the bound, stale entries stay", maxRemembered - 1, 10, maxRemembered - 1, false},
		{"full, the stale entries go", maxRemembered, 10, maxRemembered - 10, true},
		{"full and all live, cleared", maxRemembered, 0, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := fill(c.n, c.stale)
			makeRoom(m, func(stale bool) bool { return stale })
			if diff := cmp.Diff(c.wantLen, len(m)); diff != "" {
				t.Errorf("len (-want +got):\n%s", diff)
			}
			if c.wantAllFresh {
				for k, stale := range m {
					if stale {
						t.Fatalf("stale entry %d kept", k)
					}
				}
			}
		})
	}
}
