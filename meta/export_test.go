package meta

// ObservedWith is Observed reading the time from now (tests).
var ObservedWith = observedWith
