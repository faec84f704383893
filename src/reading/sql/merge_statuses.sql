-- Books $2 are merged into book $1: each reader's statuses set by a person or a sync
-- service move to the one book, the newest decision winning (the book's own included).
-- The derived values are rebuilt from history afterwards.
WITH src AS (
    SELECT * FROM reading_aggregate WHERE book_id = $1 OR book_id = ANY($2)
), manual AS (
    SELECT DISTINCT ON (api_key_id) api_key_id, manual_status, manual_started_at,
        manual_finished_at, manual_paused_at, manual_set_at
    FROM src WHERE manual_status IS NOT NULL
    ORDER BY api_key_id, manual_set_at DESC NULLS LAST, book_id = $1 DESC
), external AS (
    SELECT DISTINCT ON (api_key_id) api_key_id, external_status, external_status_synced_at
    FROM src WHERE external_status IS NOT NULL
    ORDER BY api_key_id, external_status_synced_at DESC NULLS LAST, book_id = $1 DESC
), readers AS (
    SELECT api_key_id FROM manual UNION SELECT api_key_id FROM external
)
INSERT INTO reading_aggregate AS ra (api_key_id, book_id, manual_status, manual_started_at,
    manual_finished_at, manual_paused_at, manual_set_at, external_status,
    external_status_synced_at, updated_at)
SELECT r.api_key_id, $1, m.manual_status, m.manual_started_at, m.manual_finished_at,
    m.manual_paused_at, m.manual_set_at, e.external_status, e.external_status_synced_at, now()
FROM readers r
LEFT JOIN manual m ON m.api_key_id = r.api_key_id
LEFT JOIN external e ON e.api_key_id = r.api_key_id
ON CONFLICT (api_key_id, book_id) DO UPDATE SET
    manual_status = EXCLUDED.manual_status,
    manual_started_at = EXCLUDED.manual_started_at,
    manual_finished_at = EXCLUDED.manual_finished_at,
    manual_paused_at = EXCLUDED.manual_paused_at,
    manual_set_at = EXCLUDED.manual_set_at,
    external_status = EXCLUDED.external_status,
    external_status_synced_at = EXCLUDED.external_status_synced_at,
    updated_at = now()
