-- The effective status is a function of the three others (libris_effective_status, IMMUTABLE):
-- the database keeps it, so no statement can write one that disagrees with them.
DROP INDEX reading_aggregate_shelf_idx;
ALTER TABLE reading_aggregate DROP COLUMN status;
ALTER TABLE reading_aggregate ADD COLUMN status reading_status NOT NULL
    GENERATED ALWAYS AS (libris_effective_status(manual_status, derived_status, external_status)) STORED;
CREATE INDEX reading_aggregate_shelf_idx
    ON reading_aggregate (api_key_id, status, last_read_at DESC NULLS LAST, book_id)
    WHERE book_id IS NOT NULL;
