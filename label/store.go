package label

import (
	"github.com/berthreg/berth/internal/ondelete"
	"github.com/berthreg/berth/meta"
)

// Forgetting returns store with attachments kept in step with every
// deletion made through it: in its Update transactions,
// Manifests.Delete also drops the manifest's attachments (Forget) and
// Repositories.Delete the repository's (ForgetRepository). Whoever
// deletes manifests through it (the registry, retention, garbage
// collection, a proxy cache's expiry, the artifact service) then needs no
// hook of its own. Views read the store as it is; Close does nothing.
func Forgetting(store meta.Store) meta.Store {
	return ondelete.Wrap(store, ondelete.Funcs{Manifest: Forget, Repository: ForgetRepository})
}
