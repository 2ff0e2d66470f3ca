package securityhub

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/ondelete"
	"github.com/berthreg/berth/meta"
)

// Record makes s the artifact's contribution to the hub, in tx: the
// transaction that records the scan's result (the scan engine calls it).
// A rescan's contribution replaces the one before; only the records that
// differ are written. It reads what it changes in tx, so it may run
// again when tx is retried.
func Record(tx meta.Tx, s Scan) error {
	if s.Repository == "" || s.Digest == "" {
		return errors.New("securityhub: Record: no artifact named")
	}
	a, info := artifactOf(s)
	old, err := artifacts.In(tx).Get(artifactKey(s.Repository, s.Digest))
	switch {
	case errors.Is(err, meta.ErrNotFound):
		err = replace(tx, nil, &a)
	case err == nil:
		err = replace(tx, &old, &a)
	}
	if err != nil {
		return fmt.Errorf("securityhub: recording %s@%s: %w", s.Repository, s.Digest, err)
	}
	if err := artifacts.In(tx).Put(a); err != nil {
		return err
	}
	return keepInfo(tx, info)
}

// Forget removes repo@d's contribution, in tx (nothing when it has
// none): call it in the transaction that deletes the manifest, or once
// it is gone.
func Forget(tx meta.Tx, repo string, d digest.Digest) error {
	old, err := artifacts.In(tx).Get(artifactKey(repo, d))
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := replace(tx, &old, nil); err != nil {
		return fmt.Errorf("securityhub: forgetting %s@%s: %w", repo, d, err)
	}
	return artifacts.In(tx).Delete(artifactKey(repo, d))
}

// ForgetRepository removes the contributions of repo's artifacts whose
// manifests are gone, in tx: in the transaction that deletes the
// repository, every one (an artifact pushed to a repository of the name
// since keeps its own).
func ForgetRepository(tx meta.Tx, repo string) error {
	prefix := esc(repo) + "@"
	recs, err := meta.RecordsWithPrefix(tx.Records(kindArtifacts), prefix, 0)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		d := digest.Digest(strings.TrimPrefix(rec.Key, prefix))
		var a Artifact
		if err := json.Unmarshal(rec.Value, &a); err == nil && a.Digest != "" {
			d = a.Digest
		}
		_, err := tx.Manifests().Get(repo, d)
		switch {
		case err == nil:
			continue
		case !errors.Is(err, meta.ErrNotFound):
			return err
		}
		if err := Forget(tx, repo, d); err != nil {
			return err
		}
	}
	return nil
}

// Forgetting returns store with the hub kept in step with every
// deletion made through it: in its Update transactions,
// Manifests.Delete also forgets the manifest (Forget), and
// Repositories.Delete the repository's artifacts (ForgetRepository). A
// server hands it to whatever deletes manifests (the registry,
// retention, garbage collection, proxy caches, the artifact service).
// Views read the store as it is; Close does nothing.
func Forgetting(store meta.Store) meta.Store {
	return ondelete.Wrap(store, ondelete.Funcs{Manifest: Forget, Repository: ForgetRepository})
}

// replace turns the contribution of old into that of new (nil: none),
// both of the same artifact.
func replace(tx meta.Tx, old, new *Artifact) error {
	a := old
	if a == nil {
		a = new
	}
	before, err := contributionOf(old)
	if err != nil {
		return err
	}
	after, err := contributionOf(new)
	if err != nil {
		return err
	}
	return apply(tx, shardOf(a.Repository, a.Digest), before, after)
}

// keepInfo stores the descriptions and links of the CVEs that have
// none yet, with one PutNew: the first scanner to describe a CVE
// describes it.
func keepInfo(tx meta.Tx, info map[string]CVEInfo) error {
	if len(info) == 0 {
		return nil
	}
	recs := make([]meta.Record, 0, len(info))
	for _, id := range slices.Sorted(maps.Keys(info)) {
		b, err := json.Marshal(info[id])
		if err != nil {
			return err
		}
		recs = append(recs, meta.Record{Key: esc(id), Value: b})
	}
	_, _, err := tx.Records(kindCVEInfo).PutNew(recs)
	return err
}
