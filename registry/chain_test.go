package registry

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/berthreg/berth/meta"
)

func TestChain(t *testing.T) {
	var calls []string
	rec := func(name string, err error) func(context.Context, *Event) error {
		return func(context.Context, *Event) error { calls = append(calls, name); return err }
	}
	after := func(name string) func(context.Context, *Event) {
		return func(context.Context, *Event) { calls = append(calls, name) }
	}
	deny := errors.New("deny")
	h := Chain(
		Hooks{Authorize: rec("auth1", nil), AfterPush: after("after1"),
			InTx: func(context.Context, meta.Tx, *Event) error { calls = append(calls, "tx1"); return nil }},
		Hooks{},
		Hooks{Authorize: rec("auth2", deny), BeforePull: rec("pull2", nil), AfterPush: after("after2"),
			InTx: func(context.Context, meta.Tx, *Event) error { calls = append(calls, "tx2"); return deny }},
		Hooks{Authorize: rec("auth3", nil)},
	)
	ctx, ev := context.Background(), &Event{}
	if err := h.Authorize(ctx, ev); !errors.Is(err, deny) {
		t.Errorf("Authorize = %v", err)
	}
	_ = h.BeforePull(ctx, ev)
	h.AfterPush(ctx, ev)
	if err := h.InTx(ctx, nil, ev); !errors.Is(err, deny) {
		t.Errorf("InTx = %v", err)
	}
	if want := []string{"auth1", "auth2", "pull2", "after1", "after2", "tx1", "tx2"}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
	if h.BeforePush != nil || h.AfterDelete != nil {
		t.Error("fields no hook set are not nil")
	}
}
