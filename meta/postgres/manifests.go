package postgres

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// manifests is the meta.Manifests view of a tx.
type manifests struct{ t *tx }

// Manifests returns the manifests view of the transaction.
func (t *tx) Manifests() meta.Manifests { return manifests{t} }

// touchCTE is the part of a statement that records the digests in the
// text[] parameter $n as touched when a collection is active, provided
// the repository CTE r found the repository. Reading gc_state here is
// what makes a write that did not see a collection begin conflict with
// the Begin (see collection.Begin).
func touchCTE(n int) string {
	return fmt.Sprintf(`touch AS (
		INSERT INTO gc_touched (digest) SELECT DISTINCT d FROM r, unnest($%d::text[]) AS d
		WHERE d <> '' AND (SELECT active FROM gc_state) ON CONFLICT DO NOTHING)`, n)
}

// touchArgs returns the storable digests among ds, for touchCTE.
func touchArgs(ds ...digest.Digest) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		if d != "" && storable(string(d)) {
			out = append(out, string(d))
		}
	}
	return out
}

func manifestNotFound(repo string, d digest.Digest) error {
	return fmt.Errorf("meta/postgres: manifest %s in %q: %w", d, repo, meta.ErrNotFound)
}

// decodeManifest decodes a manifest record stored under d.
func decodeManifest(d string, body []byte) (meta.Manifest, error) {
	var m meta.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("meta/postgres: manifest %s: corrupt record: %w", d, err)
	}
	m.Digest = digest.Digest(d)
	m.PushedAt = m.PushedAt.UTC()
	return m, nil
}

// Get returns the manifest with digest d in repo, or meta.ErrNotFound.
func (m manifests) Get(repo string, d digest.Digest) (meta.Manifest, error) {
	if err := m.t.live(); err != nil {
		return meta.Manifest{}, err
	}
	if !storable(repo) || !storable(string(d)) {
		return meta.Manifest{}, manifestNotFound(repo, d)
	}
	if body, ok := m.t.fetched[manifestKey{repo, d}]; ok {
		return decodeManifest(string(d), body)
	}
	var body []byte
	found, err := m.t.one("get manifest", `
		SELECT m.body FROM manifests m JOIN repositories r ON r.id = m.repo_id
		WHERE r.name = $1 AND m.digest = $2`, []any{repo, string(d)}, &body)
	switch {
	case err != nil:
		return meta.Manifest{}, err
	case !found:
		return meta.Manifest{}, manifestNotFound(repo, d)
	}
	return decodeManifest(string(d), body)
}

// Put records rec in repo, replacing a record with the same digest; the
// referrers index (an index on the subject column) follows by itself.
// One statement (putManifestSQL): the upsert, the children's links and
// artifact flags, the counters and the touches, deferred to the
// transaction's next round trip when it has seen the repository.
func (m manifests) Put(repo string, rec meta.Manifest) error {
	if err := m.t.writable("put manifest"); err != nil {
		return err
	}
	m.t.wroteTo(repo)
	if rec.Digest == "" {
		return errors.New("meta/postgres: put manifest: empty digest")
	}
	if !storable(repo) {
		return repoNotFound(repo)
	}
	if err := checkText("manifest digest", string(rec.Digest)); err != nil {
		return err
	}
	if err := checkText("manifest subject", string(rec.Subject)); err != nil {
		return err
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("meta/postgres: put manifest %s in %q: %w", rec.Digest, repo, err)
	}
	var subject any
	if rec.Subject != "" {
		subject = string(rec.Subject)
	}
	refs := []digest.Digest{rec.Digest, rec.Subject, rec.Config.Digest}
	for _, l := range rec.Layers {
		refs = append(refs, l.Digest)
	}
	for _, c := range rec.Manifests {
		refs = append(refs, c.Digest)
	}
	found, err := m.t.upsert("put manifest", repo, putManifestSQL, repo, string(rec.Digest), subject, body,
		touchArgs(refs...), ts(rec.PushedAt), rec.IsAccessory(), children(rec), m.t.counterShard())
	if err != nil {
		return err
	}
	if !found {
		return repoNotFound(repo)
	}
	if m.t.put == nil {
		m.t.put = map[manifestKey]bool{}
	}
	m.t.put[manifestKey{repo, rec.Digest}] = true
	return nil
}

// Delete removes the manifest and its tags, its children's links
// (showing the children no other index lists) and counts it all, in one
// statement (deleteManifestSQL); its referrers-index and artifact-index
// entries go with its row.
func (m manifests) Delete(repo string, d digest.Digest) error {
	if err := m.t.writable("delete manifest"); err != nil {
		return err
	}
	m.t.wroteTo(repo)
	if !storable(repo) || !storable(string(d)) {
		return manifestNotFound(repo, d)
	}
	var n, dropped int
	_, err := m.t.one("delete manifest", deleteManifestSQL, []any{repo, string(d), m.t.counterShard()}, &n, &dropped)
	if err != nil {
		return err
	}
	if n == 0 {
		return manifestNotFound(repo, d)
	}
	delete(m.t.put, manifestKey{repo, d})
	return nil
}

// Referrers returns the manifests in repo whose subject is subject, in
// digest order: one index range.
func (m manifests) Referrers(repo string, subject digest.Digest) ([]meta.Manifest, error) {
	if err := m.t.live(); err != nil {
		return nil, err
	}
	if !storable(repo) {
		return nil, repoNotFound(repo)
	}
	if !storable(string(subject)) {
		subject = "" // no manifest has it as subject; still check repo
	}
	repoFound := false
	var out []meta.Manifest
	_, err := m.t.run("referrers", `
		SELECT m.digest, m.body FROM repositories r
		LEFT JOIN manifests m ON m.repo_id = r.id AND m.subject = $2
		WHERE r.name = $1 ORDER BY m.digest`, []any{repo, string(subject)}, func(rows pgx.Rows) error {
		repoFound = true
		var d *string
		var body []byte
		if err := rows.Scan(&d, &body); err != nil || d == nil {
			return err
		}
		rec, err := decodeManifest(*d, body)
		out = append(out, rec)
		return err
	})
	if err == nil && !repoFound {
		err = repoNotFound(repo)
	}
	return out, err
}

// List returns up to limit manifest digests of repo sorting after "after".
func (m manifests) List(repo string, after digest.Digest, limit int) ([]digest.Digest, error) {
	if err := m.t.live(); err != nil {
		return nil, err
	}
	if !storable(repo) {
		return nil, repoNotFound(repo)
	}
	ds, found, err := listIn(m.t, "list manifests", `
		SELECT m.digest FROM repositories r
		LEFT JOIN LATERAL (
			SELECT digest FROM manifests WHERE repo_id = r.id AND digest >= $2 ORDER BY digest LIMIT $3
		) m ON true
		WHERE r.name = $1 ORDER BY m.digest`, repo, string(after), limit)
	if err == nil && !found {
		err = repoNotFound(repo)
	}
	out := make([]digest.Digest, len(ds))
	for i, d := range ds {
		out[i] = digest.Digest(d)
	}
	return out, err
}

// listIn runs a listing of one repository's names: sql takes the
// repository name ($1), the lower bound ($2) and the limit ($3), and
// returns one row with NULL when the repository exists but the page is
// empty, none when it does not exist (found false); extra parameters
// follow as $4, ….
func listIn(t *tx, op, sql, repo, after string, limit int, extra ...any) (names []string, found bool, err error) {
	bound, ok := lowerBound(after)
	if !ok {
		// Nothing sorts after "after": still report a missing repository.
		found, err = t.one(op, `SELECT true FROM repositories WHERE name = $1`, []any{repo}, new(bool))
		return nil, found, err
	}
	_, err = t.run(op, sql, append([]any{repo, bound, limitArg(limit)}, extra...), func(rows pgx.Rows) error {
		found = true
		var n *string
		if err := rows.Scan(&n); err != nil || n == nil {
			return err
		}
		names = append(names, *n)
		return nil
	})
	return names, found, err
}
