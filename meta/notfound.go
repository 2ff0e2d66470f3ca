package meta

import (
	"errors"
	"fmt"
)

// NotFoundAs is err with ErrNotFound replaced by sentinel (a package's
// own "not found"), saying what is missing: what a package answers when
// a record it looked up is not there. Other errors, nil included, are
// returned as they are.
func NotFoundAs(err, sentinel error, what string) error {
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %s", sentinel, what)
	}
	return err
}
