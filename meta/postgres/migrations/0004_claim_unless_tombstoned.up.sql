-- berth_tombstoned fails the statement (and its transaction) with
-- SQLSTATE BT001: Claims.ClaimUnlessTombstoned calls it for a digest
-- garbage collection has tombstoned, so that the check and the claim
-- are one statement, sent with the COMMIT.
CREATE FUNCTION berth_tombstoned(digest text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = 'BT001', MESSAGE = 'blob ' || digest || ' is being garbage collected';
END
$$;
