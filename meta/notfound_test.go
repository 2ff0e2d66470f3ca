package meta_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/berthreg/berth/meta"
)

func TestNotFoundAs(t *testing.T) {
	mine := errors.New("mine: not found")
	err := meta.NotFoundAs(fmt.Errorf("get: %w", meta.ErrNotFound), mine, "project x")
	if !errors.Is(err, mine) || err.Error() != "mine: not found: project x" {
		t.Errorf("not found: %v", err)
	}
	other := errors.New("boom")
	if got := meta.NotFoundAs(other, mine, "x"); got != other {
		t.Errorf("another error became %v", got)
	}
	if got := meta.NotFoundAs(nil, mine, "x"); got != nil {
		t.Errorf("nil became %v", got)
	}
}
