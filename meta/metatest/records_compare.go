package metatest

import "github.com/berthreg/berth/meta/internal/recordeq"

// sameRecord compares two records field by field as every backend keeps
// them: times by instant to the microsecond, empty slices as absent
// (recordeq, the rule meta/metacopy compares stores by).
func sameRecord[T any](a, b T) bool { return recordeq.Equal(a, b) }
