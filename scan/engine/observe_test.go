package engine

import (
	"encoding/json"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta"
)

// TestObservedResults: each verdict is reported by its name.
func TestObservedResults(t *testing.T) {
	for v, want := range map[verdict]string{
		{outcome: outcomeDone}:                                 "succeeded",
		{outcome: outcomeInterrupted}:                          "interrupted",
		{outcome: outcomeGone}:                                 "gone",
		{outcome: outcomeFailed}:                               "retried",
		{outcome: outcomeFailed, final: true}:                  "failed",
		{outcome: outcomeFailed, final: true, permanent: true}: "failed",
	} {
		if got := v.observed(); got != want {
			t.Errorf("%+v reported as %q, want %q", v, got, want)
		}
	}
}

// TestObserverSeesScans: a scan attempt is reported with its result.
func TestObserverSeesScans(t *testing.T) {
	var seen []ScanAttempt
	e, err := New(testbolt.Open(t), WithObserver(func(a ScanAttempt) { seen = append(seen, a) }))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(payload{Repository: "team/app", Digest: digest.FromString("deleted"), Trigger: TriggerManual})
	if err := e.run(t.Context(), meta.Job{ID: 1, Kind: ScanKind, Payload: raw, Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].Result != "gone" {
		t.Errorf("observed %+v, want one scan of an artifact gone", seen)
	}
}
