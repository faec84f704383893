DROP INDEX reading_aggregate_shelf_idx;
ALTER TABLE reading_aggregate ADD COLUMN status_kept reading_status NOT NULL DEFAULT 'unread';
UPDATE reading_aggregate SET status_kept = status;
ALTER TABLE reading_aggregate DROP COLUMN status;
ALTER TABLE reading_aggregate RENAME COLUMN status_kept TO status;
CREATE INDEX reading_aggregate_shelf_idx
    ON reading_aggregate (api_key_id, status, last_read_at DESC NULLS LAST, book_id)
    WHERE book_id IS NOT NULL;
