package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metacopy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // the copy failed, or the stores differ
	exitUsage = 2
)

// progressEvery is how often a long copy reports how far it is.
const progressEvery = 5 * time.Second

// run is the command: it parses args, copies (unless -compare-only) and
// compares, writing its report to stdout and errors to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth-metacopy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the source store: bolt:PATH or postgres:DSN")
	to := fs.String("to", "", "the destination store, which must be empty: bolt:PATH or postgres:DSN")
	compareOnly := fs.Bool("compare-only", false, "copy nothing: only compare the two stores")
	batch := fs.Int("batch", metacopy.DefaultBatchSize, "records written per destination transaction")
	lockTimeout := fs.Duration("lock-timeout", 2*time.Second, "how long to wait for a bbolt file another process holds")
	maxDiffs := fs.Int("max-differences", 100, "stop comparing after this many differences")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: berth-metacopy -from bolt:PATH|postgres:DSN -to bolt:PATH|postgres:DSN [-compare-only]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	src, err := parseSpec("from", *from)
	switch {
	case err != nil:
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected arguments %q: every setting is a flag", fs.Args())
	case *batch < 1 || *maxDiffs < 1:
		err = errors.New("-batch and -max-differences must be at least 1")
	}
	if err == nil {
		var dst spec
		if dst, err = parseSpec("to", *to); err == nil {
			return execute(ctx, src, dst, *compareOnly, options{*batch, *lockTimeout, *maxDiffs}, stdout, stderr)
		}
	}
	fmt.Fprintln(stderr, "berth-metacopy:", err)
	fs.Usage()
	return exitUsage
}

// options are the flags that tune a run.
type options struct {
	batch       int
	lockTimeout time.Duration
	maxDiffs    int
}

// execute opens both stores, copies and compares.
func execute(ctx context.Context, from, to spec, compareOnly bool, o options, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "berth-metacopy:", err)
		return exitFail
	}
	if from == to {
		return fail(errors.New("the source and the destination are the same store"))
	}
	src, err := from.open(ctx, "source", true, o.lockTimeout)
	if err != nil {
		return fail(err)
	}
	defer src.Close()
	dst, err := to.open(ctx, "destination", compareOnly, o.lockTimeout)
	if err != nil {
		return fail(err)
	}
	defer dst.Close()
	if !compareOnly {
		fmt.Fprintf(stdout, "copying %s to %s\n", from, to)
		if err := copyStore(ctx, dst, src, o, stdout); err != nil {
			if !errors.Is(err, metacopy.ErrNotEmpty) && !errors.Is(err, metacopy.ErrNotPortable) {
				err = fmt.Errorf("%w\nthe destination holds part of the source now: empty it (a fresh database, or delete the file) before copying again", err)
			}
			return fail(err)
		}
	}
	fmt.Fprintf(stdout, "comparing %s with %s\n", from, to)
	diffs, err := metacopy.Compare(ctx, src, dst, metacopy.WithBatchSize(o.batch), metacopy.WithMaxDifferences(o.maxDiffs))
	if err != nil {
		return fail(err)
	}
	if len(diffs) == 0 {
		fmt.Fprintln(stdout, "no differences: the destination holds everything the source does")
		return exitOK
	}
	more := ""
	if len(diffs) >= o.maxDiffs {
		more = " (or more: the comparison stopped there)"
	}
	fmt.Fprintf(stdout, "%d differences%s (a: the source, b: the destination):\n", len(diffs), more)
	for _, d := range diffs {
		fmt.Fprintln(stdout, " ", d)
	}
	return exitFail
}

// copyStore copies src into dst, reporting progress now and then.
func copyStore(ctx context.Context, dst, src meta.Store, o options, stdout io.Writer) error {
	last := time.Now()
	counts, err := metacopy.Copy(ctx, dst, src, metacopy.WithBatchSize(o.batch), metacopy.WithProgress(func(c metacopy.Counts) {
		if time.Since(last) >= progressEvery {
			last = time.Now()
			fmt.Fprintf(stdout, "  so far: %s\n", c)
		}
	}))
	if err != nil {
		return err
	}
	if len(counts) == 0 {
		fmt.Fprintln(stdout, "copied: nothing (the source is empty)")
	} else {
		fmt.Fprintf(stdout, "copied: %s\n", counts)
	}
	return nil
}
