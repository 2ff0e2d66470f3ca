-- The artifact index and the counters (see the package doc, "Artifacts
-- and counters"), built here from the existing records.
--
-- manifests gains its push time (pushed_at, microseconds, as the
-- record's pushedAt), whether it is an accessory (meta.Manifest's
-- IsAccessory: a subject, or every layer of cosign's signature,
-- attestation and SBOM media types) and whether it is an artifact (not
-- an accessory and listed by no index of its repository); a partial
-- index of the artifacts in push order is what Manifests.Artifacts
-- pages through. replaced is how Manifests.Put learns what its upsert
-- replaced without reading the row first (RETURNING shows only the new
-- row): 0 nothing, 1 a record that was no artifact, 2 an artifact.
ALTER TABLE manifests
    ADD COLUMN pushed_at timestamptz,
    ADD COLUMN accessory boolean NOT NULL DEFAULT false,
    ADD COLUMN artifact  boolean NOT NULL DEFAULT false,
    ADD COLUMN replaced  smallint NOT NULL DEFAULT 0;

-- One row per child an index lists, whether or not the child has been
-- pushed: a manifest with a row as child is no artifact.
CREATE TABLE manifest_children (
    repo_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    child   text COLLATE "C" NOT NULL,
    parent  text COLLATE "C" NOT NULL,
    PRIMARY KEY (repo_id, child, parent)
);
-- By parent first (then repository), so that a lookup by child, which
-- every push of a manifest makes, can only use the primary key: a range
-- of this index would span the repository's every link.
CREATE INDEX manifest_children_by_parent ON manifest_children (parent, repo_id, child);

-- Counters in shards: a row per (repository, shard) and per (scope,
-- shard), summed on read. A transaction adds its changes to one shard,
-- which its Store hands out so that its concurrent transactions write
-- different rows. Room in each page for a row's next version keeps an
-- update HOT (no index entry added).
CREATE TABLE repo_stats (
    repo_id   bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    shard     smallint NOT NULL,
    manifests bigint NOT NULL DEFAULT 0,
    artifacts bigint NOT NULL DEFAULT 0,
    tags      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (repo_id, shard)
) WITH (fillfactor = 50);

-- scope is a project (the first component of repository names), or ''
-- for every repository.
CREATE TABLE repo_counts (
    scope text COLLATE "C" NOT NULL,
    shard smallint NOT NULL,
    n     bigint NOT NULL,
    PRIMARY KEY (scope, shard)
) WITH (fillfactor = 50);

-- Set by the Tags.Put that moved the tag to another manifest, so that
-- its statement tells a new tag (counted) from a moved one.
ALTER TABLE tags ADD COLUMN moved boolean NOT NULL DEFAULT false;

-- The children, from the records' JSON (body is meta.Manifest as
-- encoding/json writes it, UTF-8). json, not jsonb, so that a \u0000 in
-- a field not read here (jsonb refuses it) fails nothing; digests with
-- one are skipped, as no text column could hold them.
INSERT INTO manifest_children (repo_id, child, parent)
SELECT DISTINCT m.repo_id, c ->> 'digest', m.digest
FROM manifests m, json_array_elements(convert_from(m.body, 'UTF8')::json -> 'manifests') AS c
WHERE strpos((c -> 'digest')::text, '\u0000') = 0 AND coalesce(c ->> 'digest', '') <> '';

-- Push times cut to microseconds (as the store writes them: PostgreSQL
-- would round the nanoseconds encoding/json keeps), accessories, then
-- artifacts. The media types are meta's accessory layer types of this
-- version.
UPDATE manifests m SET pushed_at = j.pushed_at, accessory = j.accessory,
    artifact = NOT j.accessory AND NOT EXISTS (
        SELECT 1 FROM manifest_children c WHERE c.repo_id = m.repo_id AND c.child = m.digest)
FROM (
    SELECT repo_id, digest,
        coalesce(regexp_replace(b ->> 'pushedAt', '(\.[0-9]{6})[0-9]+', '\1')::timestamptz,
            '0001-01-01 00:00:00+00') AS pushed_at,
        subject IS NOT NULL OR CASE WHEN json_typeof(b -> 'layers') <> 'array' OR b -> 'layers' IS NULL THEN false ELSE
            json_array_length(b -> 'layers') > 0 AND NOT EXISTS (
                SELECT 1 FROM json_array_elements(b -> 'layers') AS l
                WHERE strpos((l -> 'mediaType')::text, '\u0000') > 0 OR coalesce(l ->> 'mediaType', '') NOT IN (
                    'application/vnd.dev.cosign.simplesigning.v1+json',
                    'application/vnd.dsse.envelope.v1+json',
                    'application/vnd.in-toto+json',
                    'text/spdx',
                    'text/spdx+xml',
                    'text/spdx+json',
                    'application/vnd.cyclonedx',
                    'application/vnd.cyclonedx+xml',
                    'application/vnd.cyclonedx+json',
                    'application/vnd.syft+json'))
            END AS accessory
    FROM (SELECT repo_id, digest, subject, convert_from(body, 'UTF8')::json AS b FROM manifests) AS parsed
) AS j
WHERE j.repo_id = m.repo_id AND j.digest = m.digest;
ALTER TABLE manifests ALTER COLUMN pushed_at SET NOT NULL;
CREATE INDEX manifests_artifacts ON manifests (repo_id, pushed_at, digest) WHERE artifact;

-- The counters, in shard 0.
INSERT INTO repo_stats (repo_id, shard, manifests, artifacts, tags)
SELECT r.id, 0,
    (SELECT count(*) FROM manifests m WHERE m.repo_id = r.id),
    (SELECT count(*) FROM manifests m WHERE m.repo_id = r.id AND m.artifact),
    (SELECT count(*) FROM tags t WHERE t.repo_id = r.id)
FROM repositories r;
INSERT INTO repo_counts (scope, shard, n)
SELECT '', 0, count(*) FROM repositories
UNION ALL
SELECT split_part(name, '/', 1), 0, count(*) FROM repositories WHERE split_part(name, '/', 1) <> '' GROUP BY 1;
