package metatest

import (
	"reflect"
	"time"
)

// sameRecord compares two records field by field, times by instant (a
// backend may keep another zone) and empty slices as absent.
func sameRecord[T any](a, b T) bool {
	return reflect.DeepEqual(normalize(a), normalize(b))
}

// normalize returns a copy of the struct v with its time fields in UTC and
// its empty slices nil, in nested structs and slices of them too.
func normalize[T any](v T) T {
	normalizeValue(reflect.ValueOf(&v).Elem())
	return v
}

func normalizeValue(rv reflect.Value) {
	switch {
	case rv.Type() == reflect.TypeFor[time.Time]():
		rv.Set(reflect.ValueOf(rv.Interface().(time.Time).UTC()))
	case rv.Kind() == reflect.Struct:
		for i := range rv.NumField() {
			if rv.Type().Field(i).IsExported() {
				normalizeValue(rv.Field(i))
			}
		}
	case rv.Kind() == reflect.Slice && rv.Len() == 0:
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
