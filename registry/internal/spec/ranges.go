package spec

import (
	"errors"
	"strconv"
	"strings"
)

var errBadContentRange = errors.New("Content-Range must be <start>-<end>")

// ParseContentRange parses the Content-Range header of an upload chunk,
// "<start>-<end>" with both ends inclusive; the forms "bytes <start>-<end>"
// and a trailing "/<total>" or "/*" are accepted too. end >= start >= 0.
func ParseContentRange(s string) (start, end int64, err error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "bytes ")
	s = strings.TrimPrefix(s, "bytes=")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		total := s[i+1:]
		if total != "*" {
			if _, err := parseNonNegative(total); err != nil {
				return 0, 0, errBadContentRange
			}
		}
		s = s[:i]
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, errBadContentRange
	}
	if start, err = parseNonNegative(a); err != nil {
		return 0, 0, errBadContentRange
	}
	if end, err = parseNonNegative(b); err != nil {
		return 0, 0, errBadContentRange
	}
	if end < start {
		return 0, 0, errBadContentRange
	}
	return start, end, nil
}

// parseNonNegative parses a decimal int64 made only of digits.
func parseNonNegative(s string) (int64, error) {
	if s == "" || len(s) > 19 {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// ByteRange is one satisfiable range of a blob, end inclusive.
type ByteRange struct {
	Start, End int64
}

// Length is the number of bytes in the range.
func (r ByteRange) Length() int64 { return r.End - r.Start + 1 }

// Errors of ParseRange.
var (
	// ErrRangeSyntax is a malformed Range header.
	ErrRangeSyntax = errors.New("malformed Range header")
	// ErrRangeNotSatisfiable is a range outside the object.
	ErrRangeNotSatisfiable = errors.New("range not satisfiable")
	// ErrRangeMultiple is a request for more than one range.
	ErrRangeMultiple = errors.New("multiple ranges are not supported")
)

// ParseRange parses a Range request header ("bytes=a-b", "bytes=a-",
// "bytes=-n") against an object of the given size. Only one range is
// supported. It returns ErrRangeNotSatisfiable when the range lies outside
// the object, and ErrRangeSyntax for anything malformed (which callers may
// ignore and serve the whole object, as RFC 9110 allows).
func ParseRange(h string, size int64) (ByteRange, error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok {
		return ByteRange{}, ErrRangeSyntax
	}
	if strings.Contains(spec, ",") {
		return ByteRange{}, ErrRangeMultiple
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return ByteRange{}, ErrRangeSyntax
	}
	if a == "" {
		n, err := parseNonNegative(b)
		if err != nil {
			return ByteRange{}, ErrRangeSyntax
		}
		if n == 0 || size == 0 {
			return ByteRange{}, ErrRangeNotSatisfiable
		}
		n = min(n, size)
		return ByteRange{Start: size - n, End: size - 1}, nil
	}
	start, err := parseNonNegative(a)
	if err != nil {
		return ByteRange{}, ErrRangeSyntax
	}
	end := size - 1
	if b != "" {
		if end, err = parseNonNegative(b); err != nil {
			return ByteRange{}, ErrRangeSyntax
		}
		if end < start {
			return ByteRange{}, ErrRangeNotSatisfiable
		}
		end = min(end, size-1)
	}
	if start >= size {
		return ByteRange{}, ErrRangeNotSatisfiable
	}
	return ByteRange{Start: start, End: end}, nil
}
