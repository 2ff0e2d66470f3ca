package label

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// The record kinds of attachments. An attachment is kept twice, so that
// both questions asked of it read only what they answer:
//
//   - kindOf, "<repository>@<digest>" → the artifact's label ids (a JSON
//     array, in id order): the labels of some artifacts are one GetMany;
//   - kindWith, "<idKey>/<repository>@<digest>" → empty: the artifacts of
//     a repository carrying a label are a prefix scan, and so are all the
//     artifacts carrying it (when it is deleted).
const (
	kindOf   = "artifactLabels"
	kindWith = "labelArtifacts"
)

// ofKey is the kindOf key of manifest d of repo.
func ofKey(repo string, d digest.Digest) string { return repo + "@" + d.String() }

// withKey is the kindWith key of label id on manifest d of repo.
func withKey(id int64, repo string, d digest.Digest) string { return idKey(id) + "/" + ofKey(repo, d) }

// idsOf reads the label ids stored under an ofKey.
func idsOf(key string, raw []byte) ([]int64, error) {
	var ids []int64
	if err := json.Unmarshal(raw, &ids); err != nil {
		return nil, fmt.Errorf("label: labels of %s: %w", key, err)
	}
	return ids, nil
}

// setIDs stores the label ids of the artifact under key (none: deletes
// the record).
func setIDs(tx meta.Tx, key string, ids []int64) error {
	if len(ids) == 0 {
		return ignoreMissing(tx.Records(kindOf).Delete(key))
	}
	raw, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	return tx.Records(kindOf).Put(key, raw)
}

// attachedIDs returns the label ids of manifest d of repo.
func attachedIDs(tx meta.Tx, repo string, d digest.Digest) ([]int64, error) {
	key := ofKey(repo, d)
	raw, err := tx.Records(kindOf).Get(key)
	if err != nil {
		return nil, ignoreMissing(err)
	}
	return idsOf(key, raw)
}

// attach attaches label id to manifest d of repo: ErrExists if it is.
func attach(tx meta.Tx, repo string, d digest.Digest, id int64) error {
	ids, err := attachedIDs(tx, repo, d)
	if err != nil {
		return err
	}
	i, found := slices.BinarySearch(ids, id)
	if found {
		return fmt.Errorf("%w: label %d is attached to %s@%s", ErrExists, id, repo, d)
	}
	if err := setIDs(tx, ofKey(repo, d), slices.Insert(ids, i, id)); err != nil {
		return err
	}
	return tx.Records(kindWith).Put(withKey(id, repo, d), []byte{})
}

// detach detaches label id from manifest d of repo: meta.ErrNotFound
// if it is not attached.
func detach(tx meta.Tx, repo string, d digest.Digest, id int64) error {
	ids, err := attachedIDs(tx, repo, d)
	if err != nil {
		return err
	}
	i, found := slices.BinarySearch(ids, id)
	if !found {
		return notFound("label %d on %s@%s", id, repo, d)
	}
	if err := setIDs(tx, ofKey(repo, d), slices.Delete(ids, i, i+1)); err != nil {
		return err
	}
	return ignoreMissing(tx.Records(kindWith).Delete(withKey(id, repo, d)))
}

// detachAll detaches label id from every artifact carrying it.
func detachAll(tx meta.Tx, id int64) error {
	prefix := idKey(id) + "/"
	recs, err := meta.RecordsWithPrefix(tx.Records(kindWith), prefix, 0)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		of := strings.TrimPrefix(rec.Key, prefix)
		at := strings.LastIndexByte(of, '@')
		if at < 0 {
			return fmt.Errorf("label: attachment key %q has no digest", rec.Key)
		}
		if err := detach(tx, of[:at], digest.Digest(of[at+1:]), id); ignoreMissing(err) != nil {
			return err
		}
		if err := ignoreMissing(tx.Records(kindWith).Delete(rec.Key)); err != nil {
			return err
		}
	}
	return nil
}

// Of returns the labels attached to the manifests ds of repository repo
// (a full name, "team/app"), by digest, each in id order; artifacts
// without labels are left out. It reads the attachments of ds with one
// GetMany, and the labels with another, whatever the repository's size.
// Labels deleted since, and labels of an earlier project of the name,
// are left out. No rights are checked: the caller has checked that whoever
// it answers may see repo.
func Of(tx meta.Tx, repo string, ds []digest.Digest) (map[digest.Digest][]Label, error) {
	keys := make([]string, len(ds))
	for i, d := range ds {
		keys[i] = ofKey(repo, d)
	}
	raw, err := tx.Records(kindOf).GetMany(keys)
	if err != nil {
		return nil, err
	}
	idsBy := make(map[digest.Digest][]int64, len(raw))
	var all []int64
	for i, d := range ds {
		v, ok := raw[keys[i]]
		if !ok {
			continue
		}
		ids, err := idsOf(keys[i], v)
		if err != nil {
			return nil, err
		}
		idsBy[d] = ids
		all = append(all, ids...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	labelKeys := make([]string, len(all))
	for i, id := range all {
		labelKeys[i] = idKey(id)
	}
	ls, err := getMany(tx, labelKeys)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]Label, len(ls))
	for _, l := range ls {
		byID[l.ID] = l
	}
	out := make(map[digest.Digest][]Label, len(idsBy))
	for d, ids := range idsBy {
		for _, id := range ids {
			if l, ok := byID[id]; ok {
				out[d] = append(out[d], l)
			}
		}
	}
	return out, nil
}

// Names returns the names of the labels attached to manifest d of repo,
// in id order: what a replication label filter matches (see
// replication.WithAttachedLabels).
func Names(tx meta.Tx, repo string, d digest.Digest) ([]string, error) {
	of, err := Of(tx, repo, []digest.Digest{d})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range of[d] {
		names = append(names, l.Name)
	}
	return names, nil
}

// ArtifactsWith returns the digests of the manifests of repository repo
// that carry label id, in digest order: a prefix scan of that label's
// attachments in repo, not a read of the repository. None when the label
// does not exist (or was deleted).
func ArtifactsWith(tx meta.Tx, repo string, id int64) ([]digest.Digest, error) {
	if _, err := load(tx, id); err != nil {
		return nil, ignoreMissing(err)
	}
	prefix := withKey(id, repo, "")
	recs, err := meta.RecordsWithPrefix(tx.Records(kindWith), prefix, 0)
	if err != nil {
		return nil, err
	}
	out := make([]digest.Digest, 0, len(recs))
	for _, rec := range recs {
		out = append(out, digest.Digest(strings.TrimPrefix(rec.Key, prefix)))
	}
	return out, nil
}

// Forget drops the attachments of manifest d of repo, in tx: call it in
// the transaction that deletes the manifest (Hooks does, for the
// registry's deletes), so that a manifest pushed again later starts with
// no labels.
func Forget(tx meta.Tx, repo string, d digest.Digest) error {
	ids, err := attachedIDs(tx, repo, d)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := ignoreMissing(tx.Records(kindWith).Delete(withKey(id, repo, d))); err != nil {
			return err
		}
	}
	return setIDs(tx, ofKey(repo, d), nil)
}

// ForgetRepository drops the attachments of every manifest of repo, in
// the transaction that deletes it: a prefix scan of its labelled
// artifacts.
func ForgetRepository(tx meta.Tx, repo string) error {
	recs, err := meta.RecordsWithPrefix(tx.Records(kindOf), repo+"@", 0)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if err := Forget(tx, repo, digest.Digest(strings.TrimPrefix(rec.Key, repo+"@"))); err != nil {
			return err
		}
	}
	return nil
}
