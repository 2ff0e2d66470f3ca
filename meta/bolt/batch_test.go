package bolt_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// TestGroupCommitIsolatesFailures runs many concurrent Updates, some of which
// fail or panic: every successful one must be committed whole, every failing
// one must leave nothing behind and get its own error.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s, _ := open(t, bolt.NoSync())
	defer s.Close()
	errOdd := errors.New("odd writer fails")
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	panics := make([]any, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = s.Update(t.Context(), func(tx meta.Tx) error {
				repo := fmt.Sprintf("r%03d", i)
				if _, _, err := tx.Repositories().Ensure(repo); err != nil {
					return err
				}
				switch {
				case i%10 == 7:
					panic("writer 7 panics")
				case i%2 == 1:
					return errOdd
				}
				return nil
			})
		}()
	}
	wg.Wait()
	err := s.View(t.Context(), func(tx meta.Tx) error {
		for i := range n {
			_, getErr := tx.Repositories().Get(fmt.Sprintf("r%03d", i))
			switch {
			case i%10 == 7:
				if panics[i] == nil || getErr == nil {
					t.Errorf("writer %d: panic %v, repo err %v; want a re-raised panic and no repo", i, panics[i], getErr)
				}
			case i%2 == 1:
				if !errors.Is(errs[i], errOdd) || getErr == nil {
					t.Errorf("writer %d: err %v, repo err %v; want its own error and no repo", i, errs[i], getErr)
				}
			default:
				if errs[i] != nil || panics[i] != nil || getErr != nil {
					t.Errorf("writer %d: err %v panic %v repo err %v; want committed", i, errs[i], panics[i], getErr)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
