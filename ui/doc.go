// Package ui is Berth's web portal: pages to browse, search and manage
// projects, repositories, artifacts and the registry's policies, in
// English and Simplified Chinese, light and dark.
//
// New(api) takes the admin API's handler (package api) and serves the
// portal beside it on the same origin (the example server mounts it at
// "/"). The portal holds no store and no rule of its own: every page reads
// and every form writes through the API in process, as the person signed
// in (their session cookie goes with each call), so what the portal shows
// and allows is exactly what the API allows that person; buttons the
// person could not use are hidden, and the API refuses them anyway.
//
// Why pages rendered in Go: a host gets the portal with `go get` and a
// fresh machine shows it after `go run ./examples/registry` with only Go
// installed, with no JavaScript tool chain, no bundle to rebuild and keep
// fresh, and no third-party script to vendor. Templates (html/template,
// escaping by context) and the one stylesheet and script are embedded in
// the binary. Every page works without script; the portal's own small
// script (static/app.js) only refreshes live progress and copies text.
//
// Security: every answer carries a strict Content-Security-Policy (only
// the portal's own script and styles, no inline code, no framing, forms
// post only to the portal); every form carries a CSRF token matched
// against a SameSite=Strict cookie, and the browser's Origin and
// Sec-Fetch-Site must say same-origin; the session cookie is the API's
// (HttpOnly, SameSite=Strict); no secret ever goes into a URL (a new
// robot's secret is shown once in the answer to the form that made it,
// with Cache-Control: no-store, as every page is).
//
// Languages: each page's file adds its messages in both languages to one
// catalog; a person's choice is remembered in a cookie, else the browser's
// Accept-Language decides. Themes: the browser's preference, or the one
// chosen (a cookie).
package ui
