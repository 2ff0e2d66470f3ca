package api

import (
	"reflect"
	"testing"

	"github.com/berthreg/berth/meta"
)

// TestHandlerHoldsNoStore fails when the admin API keeps a metadata store
// again: it translates HTTP to the feature services, which own their
// rules and transactions, so no handler can open a transaction of its own.
func TestHandlerHoldsNoStore(t *testing.T) {
	store := reflect.TypeFor[meta.Store]()
	h := reflect.TypeFor[Handler]()
	for i := range h.NumField() {
		if f := h.Field(i); f.Type == store || f.Type.Implements(store) {
			t.Errorf("api.Handler.%s holds a %s", f.Name, f.Type)
		}
	}
}
