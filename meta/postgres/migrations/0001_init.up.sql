-- Berth's metadata schema, version 1. See the package doc for what each
-- table holds. Every text column that is compared or ordered is COLLATE
-- "C": byte order, as Go compares strings and meta/bolt orders its keys.
-- The file runs as one implicit transaction (one simple-protocol query),
-- so it applies whole or not at all.

CREATE TABLE repositories (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text COLLATE "C" NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

-- body is the meta.Manifest as JSON; subject is copied out of it for the
-- referrers index.
CREATE TABLE manifests (
    repo_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest  text COLLATE "C" NOT NULL,
    subject text COLLATE "C",
    body    bytea NOT NULL,
    PRIMARY KEY (repo_id, digest)
);
CREATE INDEX manifests_referrers ON manifests (repo_id, subject, digest) WHERE subject IS NOT NULL;

-- A tag goes with its manifest (the foreign key cascades).
CREATE TABLE tags (
    repo_id bigint NOT NULL,
    tag     text COLLATE "C" NOT NULL,
    digest  text COLLATE "C" NOT NULL,
    PRIMARY KEY (repo_id, tag),
    FOREIGN KEY (repo_id, digest) REFERENCES manifests (repo_id, digest) ON DELETE CASCADE
);
CREATE INDEX tags_by_digest ON tags (repo_id, digest, tag);

-- Registry-wide blob records; a tombstone deletes the row.
CREATE TABLE blobs (
    digest     text COLLATE "C" PRIMARY KEY,
    size       bigint NOT NULL,
    created_at timestamptz NOT NULL
);

-- Repository links, each with the record it was linked with.
CREATE TABLE blob_links (
    repo_id    bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest     text COLLATE "C" NOT NULL,
    size       bigint NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (repo_id, digest)
);

CREATE TABLE uploads (
    id           text COLLATE "C" PRIMARY KEY,
    repository   text COLLATE "C" NOT NULL,
    "offset"     bigint NOT NULL,
    hash_state   bytea,
    driver_state bytea,
    started_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- The event log. seq comes from a sequence (no counter row), so numbers
-- are never reused and a rolled-back append leaves a gap. horizon is an
-- xid taken after seq: every transaction that took a smaller seq had its
-- xid before it, so once a reader's snapshot xmin reaches horizon, every
-- missing seq below this event is settled (rolled back or purged).
CREATE SEQUENCE event_seq AS bigint;
CREATE TABLE events (
    seq     bigint PRIMARY KEY,
    horizon xid8 NOT NULL,
    time    timestamptz NOT NULL,
    body    bytea NOT NULL
);

-- berth_event_append's source of fresh xids: a row inserted in a
-- sub-transaction that is rolled back at once (so its xid leaves the
-- transaction's sub-xid cache). UNLOGGED: nothing in it ever commits.
CREATE UNLOGGED TABLE event_xid_probe (x boolean);

-- berth_event_append appends one event and returns its seq. In this
-- order: it gives the transaction its xid, takes the seq, then takes a
-- fresh xid (the probe's sub-transaction) as the horizon. The
-- transaction's snapshot cannot serve: under REPEATABLE READ and
-- SERIALIZABLE, pg_current_snapshot() is the snapshot of the
-- transaction's first statement, taken before the seq.
CREATE FUNCTION berth_event_append(p_time timestamptz, p_body bytea) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    top  bigint;
    s    bigint;
    sub  bigint;
    h    bigint;
    x    xid;
BEGIN
    top := pg_current_xact_id()::text::bigint;
    s := nextval('event_seq');
    BEGIN
        INSERT INTO event_xid_probe VALUES (true) RETURNING xmin INTO x;
        RAISE SQLSTATE 'BXPRB';
    EXCEPTION WHEN SQLSTATE 'BXPRB' THEN
        NULL;
    END;
    -- Widen the 32-bit sub-xid with the epoch of the (earlier) top xid.
    sub := x::text::bigint;
    h := top - (top % 4294967296) + sub;
    IF h < top THEN
        h := h + 4294967296;
    END IF;
    INSERT INTO events (seq, horizon, time, body) VALUES (s, h::text::xid8, p_time, p_body);
    RETURN s;
END
$$;

CREATE TABLE cursors (
    name text COLLATE "C" PRIMARY KEY,
    body bytea NOT NULL
);

CREATE SEQUENCE job_id_seq AS bigint;
CREATE TABLE jobs (
    id           bigint PRIMARY KEY,
    kind         text COLLATE "C" NOT NULL,
    key          text COLLATE "C" UNIQUE,
    payload      bytea,
    state        text COLLATE "C" NOT NULL,
    attempts     integer NOT NULL,
    max_attempts integer NOT NULL,
    run_at       timestamptz NOT NULL,
    worker       text COLLATE "C" NOT NULL,
    lease_until  timestamptz,
    last_error   bytea,
    result       bytea,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz
);
-- Lease and Due walk the active jobs in due order; the per-kind limits
-- count the running ones.
CREATE INDEX jobs_active ON jobs (run_at, id) WHERE state IN ('pending', 'running');
CREATE INDEX jobs_running ON jobs (kind, lease_until) WHERE state = 'running';

-- Garbage collection's bookkeeping: one row says whether a collection is
-- active; the digests referenced since it began; claims; tombstones.
CREATE TABLE gc_state (
    id     integer PRIMARY KEY CHECK (id = 1),
    active boolean NOT NULL,
    since  timestamptz
);
INSERT INTO gc_state VALUES (1, false, NULL);
CREATE TABLE gc_touched (
    digest text COLLATE "C" PRIMARY KEY
);
CREATE TABLE gc_claims (
    digest text COLLATE "C" PRIMARY KEY,
    at     timestamptz NOT NULL
);
CREATE TABLE gc_tombstones (
    digest text COLLATE "C" PRIMARY KEY,
    at     timestamptz NOT NULL
);

-- The record space: opaque values by kind and key.
CREATE TABLE records (
    kind  text COLLATE "C" NOT NULL,
    key   text COLLATE "C" NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (kind, key)
);
