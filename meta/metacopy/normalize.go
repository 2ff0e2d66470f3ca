package metacopy

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/berthreg/berth/meta/internal/recordeq"
	"github.com/opencontainers/go-digest"
)

// equal reports whether two records are the same once normalized.
func equal(a, b any) bool { return recordeq.Equal(a, b) }

// normalize returns v as every backend keeps it (recordeq.Normalize).
func normalize(v any) any { return recordeq.Normalize(v) }

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
