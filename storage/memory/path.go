package memory

import (
	"fmt"
	"path"
	"strings"

	"github.com/berthreg/berth/storage"
)

// checkPath rejects paths that are empty, absolute, not clean, or that
// contain "." or ".." elements.
func checkPath(p string) error {
	if p == "" || p[0] == '/' || path.Clean(p) != p || p == "." || p == ".." ||
		strings.HasPrefix(p, "../") || strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("memory: %q: %w", p, storage.ErrInvalidPath)
	}
	return nil
}

// checkPrefix is checkPath for List and Walk, where "" names the root.
func checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	return checkPath(p)
}

// parents calls fn with every proper ancestor directory of p, innermost
// first: "a/b/c" gives "a/b" then "a".
func parents(p string, fn func(dir string)) {
	for i := strings.LastIndexByte(p, '/'); i > 0; i = strings.LastIndexByte(p[:i], '/') {
		fn(p[:i])
	}
}

// childPrefix is the key prefix of everything below dir ("" is the root).
func childPrefix(dir string) string {
	if dir == "" {
		return ""
	}
	return dir + "/"
}
