package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxCodeLines bounds this command: flags, the config file and the
// environment, server.New, the listeners and the shutdown. Everything
// else belongs in package server, where every host gets it.
const maxCodeLines = 300

// TestExampleStaysSmall counts the lines of code (neither blank nor
// comment) of the non-test Go files here and fails above maxCodeLines.
func TestExampleStaysSmall(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		n, err := codeLines(name)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	t.Logf("examples/registry: %d lines of code", total)
	if total > maxCodeLines {
		t.Errorf("examples/registry has %d lines of code, more than %d: move the wiring into package server", total, maxCodeLines)
	}
}

// codeLines counts the lines of name that hold something besides
// comments and white space.
func codeLines(name string) (int, error) {
	src, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return 0, err
	}
	// Blank out the comments, then count the lines left with text.
	b := src
	for _, g := range f.Comments {
		for _, c := range g.List {
			start, end := fset.Position(c.Pos()).Offset, fset.Position(c.End()).Offset
			for i := start; i < end; i++ {
				if b[i] != '\n' {
					b[i] = ' '
				}
			}
		}
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) != "" {
			n++
		}
	}
	return n, nil
}
