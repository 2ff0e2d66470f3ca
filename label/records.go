package label

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
)

// The record kinds of the package.
const (
	// kindLabels holds the labels by id (idKey).
	kindLabels = "labels"
	// kindNames indexes the labels by scope and name (nameKey): the
	// label's id, in decimal. A scope's labels are a prefix scan.
	kindNames = "labelNames"
	// kindSeq holds the last id given (seqKey), in decimal.
	kindSeq = "labelSeq"
	seqKey  = "last"
)

// labels is the Label record type.
var labels = meta.RecordType[Label]{Kind: kindLabels, Key: func(l Label) string { return idKey(l.ID) }}

// idKey is the key of label id: fixed width, so keys sort by id.
func idKey(id int64) string { return fmt.Sprintf("%020d", id) }

// scopePrefix is the prefix of the name keys of a scope: "g/" for the
// global labels, "p/<project>/" for a project's (project names hold no
// '/').
func scopePrefix(scope Scope, project string) string {
	if scope == Global {
		return "g/"
	}
	return "p/" + project + "/"
}

// nameKey is l's key in the name index.
func nameKey(l Label) string { return scopePrefix(l.Scope, l.Project) + l.Name }

// nextID allocates a label id in tx: one more than the last given, so no
// id is given twice.
func nextID(tx meta.Tx) (int64, error) {
	r := tx.Records(kindSeq)
	var last int64
	raw, err := r.Get(seqKey)
	switch {
	case errors.Is(err, meta.ErrNotFound):
	case err != nil:
		return 0, err
	default:
		if last, err = strconv.ParseInt(string(raw), 10, 64); err != nil {
			return 0, fmt.Errorf("label: the last id %q: %w", raw, err)
		}
	}
	last++
	return last, r.Put(seqKey, []byte(strconv.FormatInt(last, 10)))
}

// noProject is the id projectIDs gives a project that does not exist:
// no label's.
const noProject = ^uint64(0)

// projectIDs holds, within one transaction, the ids of the projects
// read so far, by name.
type projectIDs map[string]uint64

// current reports whether l may be used: a global label, or a project
// label of the project that now has its name (not of an earlier
// project of the name, which a project cleanup had not deleted).
func (c projectIDs) current(tx meta.Tx, l Label) (bool, error) {
	if l.Scope == Global {
		return true, nil
	}
	id, seen := c[l.Project]
	if !seen {
		proj, err := accounts.Projects.In(tx).Get(l.Project)
		switch {
		case errors.Is(err, meta.ErrNotFound):
			id = noProject
		case err != nil:
			return false, err
		default:
			id = proj.ID
		}
		c[l.Project] = id
	}
	return id == l.ProjectID, nil
}

// current is projectIDs.current without a cache.
func current(tx meta.Tx, l Label) (bool, error) { return projectIDs{}.current(tx, l) }

// load returns label id as it stands in tx: meta.ErrNotFound when there
// is none or it is a stale project label (see current).
func load(tx meta.Tx, id int64) (Label, error) {
	l, err := labels.In(tx).Get(idKey(id))
	if errors.Is(err, meta.ErrNotFound) {
		return Label{}, notFound("label %d", id)
	}
	if err != nil {
		return Label{}, err
	}
	switch ok, err := current(tx, l); {
	case err != nil:
		return Label{}, err
	case !ok:
		return Label{}, notFound("label %d", id)
	}
	return l, nil
}

// nameID reads the id a name key holds.
func nameID(key string, raw []byte) (int64, error) {
	id, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("label: name key %q: id %q: %w", key, raw, err)
	}
	return id, nil
}

// inScope returns the labels of a scope (one project's, for
// ProjectScope) in name order, leaving out stale ones.
func inScope(tx meta.Tx, scope Scope, project string) ([]Label, error) {
	recs, err := meta.RecordsWithPrefix(tx.Records(kindNames), scopePrefix(scope, project), 0)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(recs))
	for _, rec := range recs {
		id, err := nameID(rec.Key, rec.Value)
		if err != nil {
			return nil, err
		}
		keys = append(keys, idKey(id))
	}
	return getMany(tx, keys)
}

// getMany returns the current labels (see current) stored under keys,
// in the order of keys, leaving out those missing.
func getMany(tx meta.Tx, keys []string) ([]Label, error) {
	raw, err := tx.Records(kindLabels).GetMany(keys)
	if err != nil {
		return nil, err
	}
	var out []Label
	ids := projectIDs{}
	for _, k := range keys {
		v, ok := raw[k]
		if !ok {
			continue
		}
		l, err := decode(k, v)
		if err != nil {
			return nil, err
		}
		if ok, err := ids.current(tx, l); err != nil {
			return nil, err
		} else if ok {
			out = append(out, l)
		}
	}
	return out, nil
}

// decode reads a label stored under key.
func decode(key string, raw []byte) (Label, error) {
	var l Label
	if err := json.Unmarshal(raw, &l); err != nil {
		return l, fmt.Errorf("label: %s: %w", key, err)
	}
	if idKey(l.ID) != key {
		return l, fmt.Errorf("label: %s: record is keyed %s", key, idKey(l.ID))
	}
	return l, nil
}

// put stores l and its name key.
func put(tx meta.Tx, l Label) error {
	if err := labels.In(tx).Put(l); err != nil {
		return err
	}
	return tx.Records(kindNames).Put(nameKey(l), []byte(strconv.FormatInt(l.ID, 10)))
}

// named returns the label that name holds in a scope (one project's,
// for ProjectScope), stale or not; found is false when none does.
func named(tx meta.Tx, scope Scope, project, name string) (Label, bool, error) {
	key := scopePrefix(scope, project) + name
	raw, err := tx.Records(kindNames).Get(key)
	if errors.Is(err, meta.ErrNotFound) {
		return Label{}, false, nil
	}
	if err != nil {
		return Label{}, false, err
	}
	id, err := nameID(key, raw)
	if err != nil {
		return Label{}, false, err
	}
	l, err := labels.In(tx).Get(idKey(id))
	if errors.Is(err, meta.ErrNotFound) {
		return Label{}, false, nil
	}
	return l, err == nil, err
}

// claimName makes l's name key free for l: ErrExists when another
// current label holds it; a stale one (see current) is purged.
func claimName(tx meta.Tx, l Label) error {
	old, found, err := named(tx, l.Scope, l.Project, l.Name)
	if err != nil || !found || old.ID == l.ID {
		return err
	}
	ok, err := current(tx, old)
	switch {
	case err != nil:
		return err
	case ok:
		return fmt.Errorf("%w: a label named %q (id %d)", ErrExists, l.Name, old.ID)
	}
	return purge(tx, old)
}

// purge deletes l, its name key (when it is still l's) and its
// attachments.
func purge(tx meta.Tx, l Label) error {
	if err := detachAll(tx, l.ID); err != nil {
		return err
	}
	holder, found, err := named(tx, l.Scope, l.Project, l.Name)
	if err != nil {
		return err
	}
	if found && holder.ID == l.ID {
		if err := tx.Records(kindNames).Delete(nameKey(l)); err != nil {
			return err
		}
	}
	return ignoreMissing(labels.In(tx).Delete(idKey(l.ID)))
}

// ignoreMissing is err unless it is meta.ErrNotFound.
func ignoreMissing(err error) error {
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	return err
}
