// Package fillcache is an in-memory map of values read from a store,
// emptied when the store changes, that a read begun before the change
// cannot fill again with what it read.
//
// A reader takes the cache's epoch before it reads the store, and offers
// what it read with Put under that epoch; Reset, called once a change
// has committed, empties the map and starts a new epoch, so a Put of a
// read that may predate the change is dropped. Every value in the map was
// so read after the last Reset began: the map is never staler than the
// last change whose Reset has run.
//
// The map holds at most the size given to New; a Put into a full map
// empties it first (values are refilled on the next reads).
package fillcache
