//! The per-reader, per-book reading aggregate.
//!
//! A progress report folds into the aggregate inside the report's own SQL statement (see
//! [`super::sql::record_progress`]), so a warm PUT costs the database one statement and one
//! implicit transaction. The reading-state work replaces [`ON_REPORT`]; nothing else in the
//! write path knows how the aggregate is derived.

/// A percentage at or above this counts as finished.
pub const FINISHED_THRESHOLD: f64 = 0.95;

/// A CTE of the report statement. In scope: `current` (the upserted reading_progress row:
/// its `api_key_id` and `book_id`), $6 percentage, $7 timestamp, $9 finished threshold.
/// started_at and finished_at are set once and never overwritten; manual_* and external_*
/// are not touched; a document linked to no book touches nothing.
pub const ON_REPORT: &str = r#"aggregate AS (
    INSERT INTO reading_aggregate AS ra (api_key_id, book_id, started_at, finished_at, updated_at)
    SELECT current.api_key_id, current.book_id,
        CASE WHEN $6 > 0 THEN to_timestamp($7) END,
        CASE WHEN $6 >= $9 THEN to_timestamp($7) END,
        now()
    FROM current WHERE current.book_id IS NOT NULL
    ON CONFLICT (api_key_id, book_id) DO UPDATE SET
        started_at = coalesce(ra.started_at, EXCLUDED.started_at),
        finished_at = coalesce(ra.finished_at, EXCLUDED.finished_at),
        updated_at = now()
)"#;

/// Recomputes the aggregates of the readers of `$1` (a book id) from their history, after
/// documents were linked to or unlinked from it. A reader with no history left for the
/// book and nothing set by hand or by a sync loses the row.
pub const RECOMPUTE_BOOK: &str = r#"WITH derived AS (
    SELECT api_key_id,
        min(to_timestamp("timestamp")) FILTER (WHERE percentage > 0) AS started_at,
        min(to_timestamp("timestamp")) FILTER (WHERE percentage >= $2) AS finished_at
    FROM reading_progress_history
    WHERE book_id = $1 AND api_key_id IS NOT NULL
    GROUP BY api_key_id
), upserted AS (
    INSERT INTO reading_aggregate AS ra (api_key_id, book_id, started_at, finished_at, updated_at)
    SELECT api_key_id, $1, started_at, finished_at, now() FROM derived
    ON CONFLICT (api_key_id, book_id) DO UPDATE SET
        started_at = EXCLUDED.started_at,
        finished_at = EXCLUDED.finished_at,
        updated_at = now()
    WHERE (ra.started_at, ra.finished_at) IS DISTINCT FROM (EXCLUDED.started_at, EXCLUDED.finished_at)
)
DELETE FROM reading_aggregate ra
WHERE ra.book_id = $1
  AND ra.manual_status IS NULL AND ra.external_status IS NULL
  AND NOT EXISTS (SELECT 1 FROM derived d WHERE d.api_key_id = ra.api_key_id)"#;
