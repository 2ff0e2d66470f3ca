package stats_test

import (
	"fmt"
	"testing"

	"github.com/berthreg/berth/bench/internal/stats"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := stats.Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func ExampleFormatValue() {
	for _, v := range []float64{1234.5, 12.34, 1.234, 0.01234} {
		fmt.Println(stats.FormatValue(v))
	}
	// Output:
	// 1234
	// 12.3
	// 1.23
	// 0.0123
}
