package label

import (
	"time"

	"github.com/berthreg/berth/meta"
)

// DeleteProject deletes the labels of project, with their attachments,
// in tx: the cleanup (an accounts.ProjectCleanup, see
// accounts.WithProjectCleanup) that runs when the project is deleted, so
// that a project created again under the name starts without them.
// Without it, such labels are still never shown nor used (they carry
// the old project's id), and a new label may take their names.
func DeleteProject(tx meta.Tx, project string, _ time.Time) error {
	recs, err := meta.RecordsWithPrefix(tx.Records(kindNames), scopePrefix(ProjectScope, project), 0)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		l, found, err := named(tx, ProjectScope, project, rec.Key[len(scopePrefix(ProjectScope, project)):])
		if err != nil {
			return err
		}
		if !found {
			if err := ignoreMissing(tx.Records(kindNames).Delete(rec.Key)); err != nil {
				return err
			}
			continue
		}
		if err := purge(tx, l); err != nil {
			return err
		}
	}
	return nil
}
