// Package browsertest drives Berth's web portal (package ui, mounted at /
// by package server) in a real, headless Debian Chromium through the
// Chrome DevTools Protocol (chromedp), against whole Berth servers
// started in process on 127.0.0.1: fs storage and bbolt metadata in a
// temporary directory, authentication on, the built-in scanner on the
// OSV fixtures of scan/builtin/testdata.
//
// It is a module of its own so that chromedp, a test-only dependency,
// stays out of the main module's go.mod. The tests need:
//
//	BERTH_CHROMIUM   the browser (default /usr/bin/chromium)
//	BERTH_AXE        axe-core's axe.min.js, for the accessibility checks
//	BERTH_CRANE      the crane binary (default <repo>/.tools/bin/crane,
//	                 then crane on PATH; scripts/tools.sh crane builds it)
//	BERTH_ARTIFACTS  where screenshots go, under portal/ (default
//	                 <repo>/.artifacts)
//
// scripts/chromium.sh installs the browser and axe-core and sets the
// first two; run the suite from this directory with
//
//	../../scripts/chromium.sh -- go test -count=1 -timeout 30m ./...
//
// A missing browser, axe-core or crane fails the tests: none is skipped.
package browsertest
