// Package settings keeps named pieces of configuration that change at run
// time (schedules set through the admin API, the default scanner) in the
// metadata store's record space, so that every instance and every restart
// sees the same value.
//
// A setting is JSON: Save encodes a value under a name, Load decodes it.
// Both run inside a transaction the caller opens, so a setting can change
// together with what it governs.
package settings
