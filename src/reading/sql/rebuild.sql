-- Recomputes aggregates from history: $1 finished threshold, $2 paused_after_days, and
-- the scope: $3 a reader (api_key_id) or NULL for all, $4 a book or NULL for all.
-- Idempotent; writes only rows that change. A reader left with no history for a book keeps
-- the aggregate only when a person or a sync set a status on it (its derived values reset).
WITH derived AS (
    SELECT api_key_id, book_id,
        min(to_timestamp("timestamp")) FILTER (WHERE percentage > 0) AS started_at,
        min(to_timestamp("timestamp")) FILTER (WHERE percentage >= $1) AS finished_at,
        max(percentage) AS max_percentage,
        max(to_timestamp("timestamp")) AS last_read_at,
        -- The newest report's percentage (equal times: the highest, reading::derive's rule,
        -- which no order of arrival changes). An ordered array_agg would sort every group;
        -- max over arrays does not, and runs in parallel.
        (max(ARRAY["timestamp"::numeric, percentage]))[2]::numeric(5,4) AS percentage
    FROM reading_progress_history
    WHERE book_id IS NOT NULL AND api_key_id IS NOT NULL
      AND ($3::uuid IS NULL OR api_key_id = $3) AND ($4::uuid IS NULL OR book_id = $4)
    GROUP BY api_key_id, book_id
), computed AS (
    SELECT d.*, libris_derived_status(started_at, finished_at, last_read_at, $2, now()) AS derived_status
    FROM derived d
), changed AS (
    -- Only what differs from the stored row goes on to the write: a rebuild that changes
    -- nothing reads and compares, and locks and writes no row.
    SELECT c.*, CASE WHEN c.derived_status = 'paused' THEN c.last_read_at + make_interval(days => $2) END AS paused_at
    FROM computed c
    LEFT JOIN reading_aggregate ra ON ra.api_key_id = c.api_key_id AND ra.book_id = c.book_id
    WHERE ra.id IS NULL
       OR (ra.started_at, ra.finished_at, ra.percentage, ra.max_percentage, ra.last_read_at,
           ra.paused_at, ra.derived_status)
          IS DISTINCT FROM (c.started_at, c.finished_at, c.percentage, c.max_percentage, c.last_read_at,
           CASE WHEN c.derived_status = 'paused' THEN c.last_read_at + make_interval(days => $2) END,
           c.derived_status)
), upserted AS (
    INSERT INTO reading_aggregate AS ra (api_key_id, book_id, started_at, finished_at,
        percentage, max_percentage, last_read_at, paused_at, derived_status, updated_at)
    SELECT api_key_id, book_id, started_at, finished_at, percentage, max_percentage, last_read_at,
        paused_at, derived_status, now()
    FROM changed
    ON CONFLICT (api_key_id, book_id) DO UPDATE SET
        started_at = EXCLUDED.started_at,
        finished_at = EXCLUDED.finished_at,
        percentage = EXCLUDED.percentage,
        max_percentage = EXCLUDED.max_percentage,
        last_read_at = EXCLUDED.last_read_at,
        paused_at = EXCLUDED.paused_at,
        derived_status = EXCLUDED.derived_status,
        updated_at = now()
    RETURNING 1
), orphans AS (
    DELETE FROM reading_aggregate ra
    WHERE ra.book_id IS NOT NULL
      AND ($3::uuid IS NULL OR ra.api_key_id = $3) AND ($4::uuid IS NULL OR ra.book_id = $4)
      AND ra.manual_status IS NULL AND ra.external_status IS NULL
      AND NOT EXISTS (SELECT 1 FROM reading_progress_history h
                      WHERE h.api_key_id = ra.api_key_id AND h.book_id = ra.book_id)
    RETURNING 1
), kept AS (
    UPDATE reading_aggregate ra SET started_at = NULL, finished_at = NULL, percentage = NULL,
        max_percentage = NULL, last_read_at = NULL, paused_at = NULL, derived_status = 'unread',
        updated_at = now()
    WHERE ra.book_id IS NOT NULL
      AND ($3::uuid IS NULL OR ra.api_key_id = $3) AND ($4::uuid IS NULL OR ra.book_id = $4)
      AND (ra.manual_status IS NOT NULL OR ra.external_status IS NOT NULL)
      AND (ra.last_read_at IS NOT NULL OR ra.started_at IS NOT NULL OR ra.derived_status <> 'unread')
      AND NOT EXISTS (SELECT 1 FROM reading_progress_history h
                      WHERE h.api_key_id = ra.api_key_id AND h.book_id = ra.book_id)
    RETURNING 1
)
SELECT (SELECT count(*) FROM computed) AS scanned,
       (SELECT count(*) FROM upserted) + (SELECT count(*) FROM orphans) + (SELECT count(*) FROM kept) AS changed;
