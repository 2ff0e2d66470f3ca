package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"testing"

	"github.com/berthreg/berth/meta"
)

// chartBytes packs files into a gzipped tar, as Helm packages a chart.
func chartBytes(files map[string]string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

// FuzzChartAddition checks that no pushed chart layer makes reading its
// additions panic, and that every failure is a bad chart or a missing
// file, never anything else.
func FuzzChartAddition(f *testing.F) {
	f.Add(chartBytes(map[string]string{"c/Chart.yaml": "dependencies:\n- name: a\n  version: 1\n", "c/README.md": "hi"}), 0)
	f.Add(chartBytes(map[string]string{"c/requirements.yaml": "dependencies: [{name: b}]"}), 2)
	f.Add([]byte("not a chart"), 1)
	f.Fuzz(func(t *testing.T, tgz []byte, k int) {
		kinds := []string{AdditionReadme, AdditionValues, AdditionDependencies}
		kind := kinds[(k%3+3)%3]
		missing := notFoundError("missing")
		body, ctype, err := chartAddition(tgz, kind, missing)
		switch {
		case err == nil && ctype == "":
			t.Fatalf("%s: no content type", kind)
		case err == nil && len(body) > maxChartRead+64:
			t.Fatalf("%s: %d bytes, above the bound", kind, len(body))
		case err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, meta.ErrNotFound):
			t.Fatalf("%s: unexpected error %v", kind, err)
		}
	})
}
