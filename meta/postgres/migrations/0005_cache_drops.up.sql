-- The read cache's drop log (see readcache.go). A write that changes
-- what an existing tag resolves to (a tag moved to another manifest or
-- deleted, a tagged manifest deleted, a repository deleted) appends the
-- repository's name here; every Store with a read cache reads the rows
-- it has not read yet once an interval and forgets that repository's
-- entries. A push of a new tag appends nothing: the cache keeps no
-- "not found". seq and horizon work as the event log's do, so a reader
-- never steps past a row that commits late.
CREATE SEQUENCE cache_drop_seq AS bigint;
CREATE TABLE cache_drops (
    seq     bigint PRIMARY KEY,
    horizon xid8 NOT NULL,
    at      timestamptz NOT NULL,
    repo    text COLLATE "C" NOT NULL
);

-- berth_seq_horizon gives the transaction its xid, takes the next value
-- of sequence p_seq, then takes a fresh xid as the horizon (see the
-- event log in 0001): every transaction that took a smaller value had
-- its xid before the horizon.
CREATE FUNCTION berth_seq_horizon(p_seq regclass, OUT seq bigint, OUT horizon xid8)
LANGUAGE plpgsql AS $$
DECLARE
    top  bigint;
    sub  bigint;
    h    bigint;
    x    xid;
BEGIN
    top := pg_current_xact_id()::text::bigint;
    seq := nextval(p_seq);
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
    horizon := h::text::xid8;
END
$$;

-- berth_event_append, now on berth_seq_horizon (same behaviour).
CREATE OR REPLACE FUNCTION berth_event_append(p_time timestamptz, p_body bytea) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s bigint;
    h xid8;
BEGIN
    SELECT * INTO s, h FROM berth_seq_horizon('event_seq');
    INSERT INTO events (seq, horizon, time, body) VALUES (s, h, p_time, p_body);
    RETURN s;
END
$$;

-- berth_cache_drop appends p_repo to the drop log and returns its seq.
CREATE FUNCTION berth_cache_drop(p_repo text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s bigint;
    h xid8;
BEGIN
    SELECT * INTO s, h FROM berth_seq_horizon('cache_drop_seq');
    INSERT INTO cache_drops (seq, horizon, at, repo) VALUES (s, h, clock_timestamp(), p_repo);
    RETURN s;
END
$$;

-- berth_tag_moved appends p_repo to the drop log and returns p_digest:
-- Tags.Put sets a tag's digest through it when it moves an existing tag,
-- so that only a move appends.
CREATE FUNCTION berth_tag_moved(p_repo text, p_digest text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM berth_cache_drop(p_repo);
    RETURN p_digest;
END
$$;
