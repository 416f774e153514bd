package memstore_test

import (
	"testing"

	"github.com/shadowaccounts/shadow"
	"github.com/shadowaccounts/shadow/memstore"
	"github.com/shadowaccounts/shadow/shadowtest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	shadowtest.TestCartStore(t, func(*testing.T) shadow.CartStore { return memstore.New() })
}
