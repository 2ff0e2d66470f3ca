package objectstore

import "testing"

func TestCopyRanges(t *testing.T) {
	const minPart = 5 << 20
	for _, tc := range []struct{ n, limit int64 }{
		{1, 10}, {10, 10}, {11, 10}, {25, 10}, {5<<30 + 1, 5 << 30}, {12 << 30, 5 << 30},
	} {
		rs := copyRanges(tc.n, tc.limit)
		var next int64
		for i, r := range rs {
			if r[0] != next || r[1] <= r[0] || r[1]-r[0] > tc.limit {
				t.Fatalf("copyRanges(%d, %d) = %v: bad range %d", tc.n, tc.limit, rs, i)
			}
			next = r[1]
		}
		if next != tc.n || int64(len(rs)) != (tc.n+tc.limit-1)/tc.limit {
			t.Fatalf("copyRanges(%d, %d) = %v", tc.n, tc.limit, rs)
		}
	}
	if rs := copyRanges(5<<30+1, 5<<30); rs[1][1]-rs[1][0] < minPart {
		t.Fatalf("last copy part below the S3 minimum: %v", rs)
	}
}
