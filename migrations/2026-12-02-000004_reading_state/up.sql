-- Reading state: the derived and effective values of each reader's aggregate for a book.
-- The rules live in src/reading/derive.rs; these SQL functions are the same rules for the
-- set-based paths (the KoSync write, the rebuild, the sweep), and tests hold them equal.

ALTER TABLE reading_aggregate
    ADD COLUMN percentage numeric(5,4),
    ADD COLUMN max_percentage numeric(5,4),
    ADD COLUMN last_read_at timestamptz,
    ADD COLUMN paused_at timestamptz,
    ADD COLUMN derived_status reading_status NOT NULL DEFAULT 'unread',
    ADD COLUMN status reading_status NOT NULL DEFAULT 'unread';

-- unread until something was read; finished once the threshold was reached; paused when the
-- last report is more than paused_after_days old; reading otherwise. STABLE, not IMMUTABLE:
-- timestamptz + interval is stable, and only a function no stricter than its body is
-- inlined (a function call per use would cost the KoSync write a third of its speed).
CREATE FUNCTION libris_derived_status(
    started_at timestamptz, finished_at timestamptz, last_read_at timestamptz,
    paused_after_days integer, now timestamptz
) RETURNS reading_status
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE
    WHEN started_at IS NULL THEN 'unread'::reading_status
    WHEN finished_at IS NOT NULL THEN 'finished'::reading_status
    WHEN now > last_read_at + make_interval(days => paused_after_days) THEN 'paused'::reading_status
    ELSE 'reading'::reading_status
END;

-- What a person set wins; then what the history shows; then what a sync service says.
CREATE FUNCTION libris_effective_status(
    manual reading_status, derived reading_status, external reading_status
) RETURNS reading_status
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(manual, nullif(derived, 'unread'::reading_status), external, 'unread'::reading_status);

-- The OPDS shelves: a reader's books by status, most recently read first.
CREATE INDEX reading_aggregate_shelf_idx
    ON reading_aggregate (api_key_id, status, last_read_at DESC NULLS LAST, book_id)
    WHERE book_id IS NOT NULL;
-- The sweep visits only aggregates that may have become paused.
CREATE INDEX reading_aggregate_sweep_idx
    ON reading_aggregate (last_read_at) WHERE derived_status = 'reading';
