package label

import (
	"fmt"
	"strconv"

	"github.com/berthreg/berth/meta"
)

// Resolve returns the ids of the labels refs names that may be used in
// project, in the order of refs: a ref is a label id (Harbor's filters,
// q=labels=(1 2), take ids) or a name, looked up among project's labels
// first, then the global ones. A ref that names no such label is
// meta.ErrNotFound (wrapped, naming it): a label of another project is
// not found either. An artifact filter over labels keeps the artifacts
// carrying every resolved label (ArtifactsWith); no rights are checked.
func Resolve(tx meta.Tx, project string, refs []string) ([]int64, error) {
	out := make([]int64, 0, len(refs))
	for _, ref := range refs {
		id, err := resolve(tx, project, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// resolve is Resolve of one ref.
func resolve(tx meta.Tx, project, ref string) (int64, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		l, err := load(tx, id)
		if err != nil {
			return 0, err
		}
		if l.Scope == ProjectScope && l.Project != project {
			return 0, notFound("label %d in project %s", id, project)
		}
		return id, nil
	}
	for _, scope := range []Scope{ProjectScope, Global} {
		l, found, err := named(tx, scope, project, ref)
		if err != nil {
			return 0, err
		}
		if !found {
			continue
		}
		if ok, err := current(tx, l); err != nil {
			return 0, err
		} else if ok {
			return l.ID, nil
		}
	}
	return 0, fmt.Errorf("label %q in project %s: %w", ref, project, meta.ErrNotFound)
}
