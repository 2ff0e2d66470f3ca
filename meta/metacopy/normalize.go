package metacopy

import (
	"encoding/json"
	"reflect"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"
)

// equal reports whether two records are the same once normalized.
func equal(a, b any) bool { return reflect.DeepEqual(normalize(a), normalize(b)) }

// normalize returns a copy of v as every backend keeps it: times in UTC
// to the microsecond (meta.Store's precision), empty slices and maps as
// absent, in nested structs and slices too.
func normalize(v any) any {
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

// renderMax bounds what a Difference shows of a record.
const renderMax = 300

// render shows a record in a Difference: a record value as a quoted
// string, a digest as itself, anything else as normalized JSON.
func render(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return "present"
	case []byte:
		s = strconv.Quote(string(x))
	case digest.Digest:
		s = string(x)
	case time.Time:
		s = normalize(x).(time.Time).Format(time.RFC3339Nano)
	default:
		raw, err := json.Marshal(normalize(x))
		if err != nil {
			raw = []byte(err.Error())
		}
		s = string(raw)
	}
	if len(s) > renderMax {
		s = s[:renderMax] + "…"
	}
	return s
}
