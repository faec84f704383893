-- One KoSync progress report as one statement (one implicit transaction, one round trip):
-- authorise, resolve the book, upsert the current row, fold the report into the reading
-- aggregate, append history. Run by reading::record (src/reading/progress.rs), printed for
-- pgbench by `libris bench-sql put`. Returns the reader's api_key_id and the report's book.
--
-- Parameters (bound in this order by reading::progress::ReportParams, named the same):
-- $1 document
-- $2 username
-- $3 device
-- $4 device_id
-- $5 progress
-- $6 percentage
-- $7 timestamp
-- $8 raw_payload
-- $9 finished_threshold
-- $10 password_hash
-- $11 title
-- $12 authors
-- $13 paused_after_days
--
-- The reader is named by its kosync username and the password hash its key was verified
-- against: when the credential changed or went away since, nothing is written and no row
-- returned, so a cached verification never outlives the credential. The book comes from
-- document_links (libris_document_book, migration 11); a document tied to no book, reported
-- with a title and authors, links to the one organized book with the same normalised title
-- and author, if exactly one exists, and that link is recorded. The aggregate follows
-- reading::derive's rules: started_at and finished_at only move earlier; last_read_at and
-- percentage follow the newest report; manual_* and external_* are not touched; a document
-- linked to no book touches no aggregate. Its status is a generated column.
WITH reader AS (
    SELECT api_key_id FROM service_credentials
    WHERE service = 'kosync' AND username = $2 AND password_hash = $10
), linked AS (
    SELECT links, book_id FROM libris_document_book($1)
), by_metadata AS (
    SELECT min(b.id::text)::uuid AS book_id FROM books b, linked
    WHERE $11::text IS NOT NULL AND linked.links = 0 AND b.status = 'organized'
      AND libris_norm(b.title) = libris_norm($11) AND libris_norm(b.author) = libris_norm($12)
    HAVING count(*) = 1
), metadata_link AS (
    INSERT INTO document_links (document, book_id, source)
    SELECT $1, by_metadata.book_id, 'metadata' FROM by_metadata, reader
    ON CONFLICT DO NOTHING
), book AS (
    SELECT coalesce((SELECT book_id FROM linked), (SELECT book_id FROM by_metadata)) AS book_id
), current AS (
    INSERT INTO reading_progress AS rp
        (book_id, api_key_id, document, device, device_id, progress, percentage, "timestamp", raw_payload, updated_at)
    SELECT (SELECT book_id FROM book), reader.api_key_id, $1, $3, $4, $5, $6, $7, $8, now() FROM reader
    ON CONFLICT (api_key_id, document, device) DO UPDATE SET
        book_id = coalesce(EXCLUDED.book_id, rp.book_id),
        device_id = coalesce(EXCLUDED.device_id, rp.device_id),
        progress = EXCLUDED.progress,
        percentage = EXCLUDED.percentage,
        "timestamp" = EXCLUDED."timestamp",
        raw_payload = EXCLUDED.raw_payload,
        updated_at = now()
    RETURNING api_key_id, book_id
), aggregate AS (
    INSERT INTO reading_aggregate AS ra (api_key_id, book_id, started_at, finished_at,
        percentage, max_percentage, last_read_at, paused_at, derived_status, updated_at)
    SELECT current.api_key_id, current.book_id, r.started_at, r.finished_at,
        $6, $6, r.at,
        CASE WHEN r.derived = 'paused' THEN r.at + make_interval(days => $13) END,
        r.derived, now()
    FROM current, LATERAL (
        SELECT CASE WHEN $6 > 0 THEN to_timestamp($7) END AS started_at,
            CASE WHEN $6 >= $9 THEN to_timestamp($7) END AS finished_at,
            to_timestamp($7) AS at,
            libris_derived_status(CASE WHEN $6 > 0 THEN to_timestamp($7) END,
                CASE WHEN $6 >= $9 THEN to_timestamp($7) END, to_timestamp($7), $13, now()) AS derived
    ) r
    WHERE current.book_id IS NOT NULL
    ON CONFLICT (api_key_id, book_id) DO UPDATE SET
        started_at = least(ra.started_at, EXCLUDED.started_at),
        finished_at = least(ra.finished_at, EXCLUDED.finished_at),
        percentage = CASE WHEN ra.last_read_at IS NULL OR EXCLUDED.last_read_at >= ra.last_read_at
            THEN EXCLUDED.percentage ELSE ra.percentage END,
        max_percentage = greatest(ra.max_percentage, EXCLUDED.max_percentage),
        last_read_at = greatest(ra.last_read_at, EXCLUDED.last_read_at),
        derived_status = libris_derived_status(least(ra.started_at, EXCLUDED.started_at),
            least(ra.finished_at, EXCLUDED.finished_at),
            greatest(ra.last_read_at, EXCLUDED.last_read_at), $13, now()),
        paused_at = CASE WHEN libris_derived_status(least(ra.started_at, EXCLUDED.started_at),
                least(ra.finished_at, EXCLUDED.finished_at),
                greatest(ra.last_read_at, EXCLUDED.last_read_at), $13, now()) = 'paused'
            THEN greatest(ra.last_read_at, EXCLUDED.last_read_at) + make_interval(days => $13) END,
        updated_at = now()
)
INSERT INTO reading_progress_history (book_id, api_key_id, document, device, progress, percentage, "timestamp")
SELECT book_id, api_key_id, $1, $3, $5, $6, $7 FROM current
RETURNING api_key_id, book_id;
