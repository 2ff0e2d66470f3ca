// Package recordeq compares metadata records as every backend keeps them:
// times in UTC to the microsecond (meta.Store's precision, a zero time as
// the zero time) and empty slices and maps as absent, in nested structs
// and slices too. meta/metatest checks backends with it and meta/metacopy
// compares two stores with it: one rule for both.
package recordeq

import (
	"reflect"
	"time"
)

// Equal reports whether a and b are the same record once normalized.
func Equal(a, b any) bool { return reflect.DeepEqual(Normalize(a), Normalize(b)) }

// Normalize returns a copy of v as every backend keeps it; v itself is not
// changed.
func Normalize(v any) any {
	if v == nil {
		return nil
	}
	rv := reflect.New(reflect.TypeOf(v)).Elem()
	rv.Set(reflect.ValueOf(v))
	normalizeValue(rv)
	return rv.Interface()
}

var timeType = reflect.TypeFor[time.Time]()

func normalizeValue(rv reflect.Value) {
	switch {
	case rv.Type() == timeType:
		t := rv.Interface().(time.Time)
		if t.IsZero() {
			t = time.Time{}
		} else {
			t = t.UTC().Truncate(time.Microsecond)
		}
		rv.Set(reflect.ValueOf(t))
	case rv.Kind() == reflect.Struct:
		for i := range rv.NumField() {
			if rv.Type().Field(i).IsExported() {
				normalizeValue(rv.Field(i))
			}
		}
	case (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map) && rv.Len() == 0:
		rv.Set(reflect.Zero(rv.Type()))
	case rv.Kind() == reflect.Slice:
		cp := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
		reflect.Copy(cp, rv)
		for i := range cp.Len() {
			normalizeValue(cp.Index(i))
		}
		rv.Set(cp)
	}
}
