-- ledger_expect_rows fails the statement (and so the transaction) when a set-based update touched
-- fewer rows than it was given: the writer sends its updates and COMMIT in one round trip, so the
-- check must happen inside the database, before the COMMIT.
CREATE FUNCTION ledger_expect_rows(got bigint, want bigint, what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF got <> want THEN
        RAISE EXCEPTION 'ledger: % of % % found', got, want, what USING ERRCODE = 'P0002';
    END IF;
END
$$;
