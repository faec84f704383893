-- One failed login counted against each key ($1), with the keyed fingerprint of its secret
-- ($2), in windows of $3 seconds, at the time $4 (a test's clock; NULL: the database's, one
-- clock for every instance whatever theirs say): the rules of src/http/throttle/ledger.rs, in
-- one statement every instance shares. Keys are taken in order, so two instances never wait
-- on each other in a cycle. EXCLUDED is the row a first failure would write: its window
-- starts now, with this secret alone seen.
INSERT INTO login_failures AS f (key, window_start, failures, seen)
SELECT k, coalesce($4::timestamptz, statement_timestamp()), 1, ARRAY[$2::bytea]
FROM (SELECT DISTINCT unnest($1::text[]) AS k) AS keys
ORDER BY k
ON CONFLICT (key) DO UPDATE SET
    window_start = CASE
        WHEN f.window_start <= EXCLUDED.window_start - make_interval(secs => $3) THEN EXCLUDED.window_start
        ELSE f.window_start END,
    failures = CASE
        WHEN f.window_start <= EXCLUDED.window_start - make_interval(secs => $3) THEN 1
        WHEN $2::bytea = ANY (f.seen) THEN f.failures
        ELSE f.failures + 1 END,
    -- At most 32 remembered, as the ledger's MAX_SEEN: past it repeats count again.
    seen = CASE
        WHEN f.window_start <= EXCLUDED.window_start - make_interval(secs => $3) THEN EXCLUDED.seen
        WHEN $2::bytea = ANY (f.seen) OR cardinality(f.seen) >= 32 THEN f.seen
        ELSE f.seen || $2::bytea END
RETURNING key, failures, extract(epoch FROM coalesce($4::timestamptz, statement_timestamp()) - window_start)::float8 AS age
