-- KoSync progress reports, any number of them, as one statement: authorise each, resolve its
-- book, upsert the current rows, fold the reports into the reading aggregates, append
-- history. Run by reading::batch (src/reading/batch.rs), for a lone report as for a batch of
-- 64; printed for pgbench by `libris bench-sql put`. Returns, for each report written, its
-- position in the arrays (from 1), the reader's api_key_id and the report's book.
--
-- Parameters (bound in this order by reading::progress::BatchParams, named the same); the
-- arrays are of equal length, one element per report, in arrival order:
-- $1 documents
-- $2 usernames
-- $3 password_hashes
-- $4 devices
-- $5 device_ids
-- $6 progresses
-- $7 percentages
-- $8 timestamps
-- $9 raw_payloads
-- $10 titles
-- $11 authors
-- $12 finished_threshold
-- $13 paused_after_days
--
-- A report is written only while its kosync username still has the password hash its key was
-- verified against (or its reader still holds the device password that opened it): when the
-- credential changed or went away, that report writes nothing and returns no row, so a cached
-- verification never outlives the credential.
--
-- The book comes from document_links (libris_document_book, migration 11). A document tied
-- to no book, reported with a title and authors, links to the one organized book with the
-- same normalised title and author, if exactly one exists; the first such report records the
-- link, and the reports after it in the batch resolve through it, as they would one by one.
--
-- Reports of one (reader, document, device) apply in arrival order: the last is the current
-- row (device_id and book_id keep the last known value when a report has none), each has its
-- history row. The aggregate is a merge that does not depend on order (reading::derive):
-- started_at and finished_at are the earliest, last_read_at the newest, percentage that of
-- the newest report (equal times: the highest), max_percentage the highest. A report's
-- book is the one it resolves to, else the one its current row has once the batch is written
-- (so a report made just before its device's next report found the book counts for that
-- book, unlike one by one; history and aggregate always agree); with no book, no aggregate.
-- The aggregate's status is a generated column.
--
-- Rows are locked in key order (current rows, then aggregates), so two batches never wait
-- for each other in a cycle.
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::float8[], $8::int8[], $9::jsonb[], $10::text[], $11::text[])
        WITH ORDINALITY AS r(document, username, password_hash, device, device_id, progress,
            percentage, "timestamp", raw_payload, title, authors, i)
), reader AS (
    -- Lateral lookups by index, one per report, whatever the number of readers.
    SELECT r.*, c.api_key_id, l.links, l.book_id AS linked_book
    FROM input r
    CROSS JOIN LATERAL (
        SELECT c.api_key_id FROM service_credentials c
        WHERE c.service = 'kosync' AND c.username = r.username AND c.password_hash = r.password_hash
        UNION ALL
        -- A device password's key (auth::device_passwords): 'device:' and its key_sha256, of
        -- a password still held by the reader of this KoSync username. Reached only when the
        -- first branch found nothing (LIMIT 1 stops the append there).
        SELECT d.api_key_id FROM device_passwords d
        JOIN service_credentials c ON c.api_key_id = d.api_key_id
        WHERE left(r.password_hash, 7) = 'device:' AND d.key_sha256 = substr(r.password_hash, 8)
          AND c.service = 'kosync' AND c.username = r.username
        LIMIT 1
    ) c
    CROSS JOIN LATERAL libris_document_book(r.document) l
), by_metadata AS (
    SELECT DISTINCT ON (r.document) r.document, r.i, m.book_id
    FROM reader r,
    LATERAL (
        SELECT min(b.id::text)::uuid AS book_id FROM books b
        WHERE b.status = 'organized'
          AND libris_norm(b.title) = libris_norm(r.title) AND libris_norm(b.author) = libris_norm(r.authors)
        HAVING count(*) = 1
    ) m
    WHERE r.title IS NOT NULL AND r.links = 0
    ORDER BY r.document, r.i
), metadata_link AS (
    INSERT INTO document_links (document, book_id, source)
    SELECT document, book_id, 'metadata' FROM by_metadata ORDER BY document
    ON CONFLICT DO NOTHING
), resolved AS (
    SELECT r.*, coalesce(r.linked_book, CASE WHEN r.i >= m.i THEN m.book_id END) AS book_id
    FROM reader r LEFT JOIN by_metadata m ON m.document = r.document
), latest AS (
    -- The last report of each (reader, document, device), with the last book and device id
    -- any report of it named.
    SELECT DISTINCT ON (api_key_id, document, device) api_key_id, document, device, i, progress,
        percentage, "timestamp", raw_payload, books[cardinality(books)] AS book_id,
        device_ids[cardinality(device_ids)] AS device_id
    FROM (
        SELECT r.*,
            array_agg(book_id) FILTER (WHERE book_id IS NOT NULL) OVER w AS books,
            array_agg(device_id) FILTER (WHERE device_id IS NOT NULL) OVER w AS device_ids
        FROM resolved r
        WINDOW w AS (PARTITION BY api_key_id, document, device ORDER BY i)
    ) g
    ORDER BY api_key_id, document, device, i DESC
), current AS (
    INSERT INTO reading_progress AS rp
        (book_id, api_key_id, document, device, device_id, progress, percentage, "timestamp", raw_payload, updated_at)
    -- updated_at follows arrival (a microsecond per place in the batch): the GET breaks
    -- equal timestamps by it, so of two devices reporting in one batch the later one wins.
    SELECT book_id, api_key_id, document, device, device_id, progress, percentage,
        "timestamp", raw_payload, now() + make_interval(secs => i / 1000000.0)
    FROM latest
    ORDER BY api_key_id, document, device
    ON CONFLICT (api_key_id, document, device) DO UPDATE SET
        book_id = coalesce(EXCLUDED.book_id, rp.book_id),
        device_id = coalesce(EXCLUDED.device_id, rp.device_id),
        progress = EXCLUDED.progress,
        percentage = EXCLUDED.percentage,
        "timestamp" = EXCLUDED."timestamp",
        raw_payload = EXCLUDED.raw_payload,
        updated_at = EXCLUDED.updated_at
    RETURNING api_key_id, document, device, book_id
), effective AS (
    SELECT r.i, r.api_key_id, r.document, r.device, r.progress, r.percentage, r."timestamp",
        coalesce(r.book_id, c.book_id) AS book_id
    FROM resolved r
    JOIN current c ON c.api_key_id = r.api_key_id AND c.document = r.document AND c.device = r.device
), history AS (
    -- created_at is the moment each row is written, not the transaction's start: the
    -- history of a batch keeps its arrival order.
    INSERT INTO reading_progress_history (book_id, api_key_id, document, device, progress, percentage, "timestamp", created_at)
    SELECT book_id, api_key_id, document, device, progress, percentage, "timestamp", clock_timestamp()
    FROM effective ORDER BY i
), merged AS (
    SELECT api_key_id, book_id,
        min(to_timestamp("timestamp")) FILTER (WHERE percentage > 0) AS started_at,
        min(to_timestamp("timestamp")) FILTER (WHERE percentage >= $12) AS finished_at,
        max(to_timestamp("timestamp")) AS last_read_at,
        (max(ARRAY["timestamp"::float8, percentage]))[2] AS percentage,
        max(percentage) AS max_percentage
    FROM effective WHERE book_id IS NOT NULL
    GROUP BY api_key_id, book_id
), aggregate AS (
    INSERT INTO reading_aggregate AS ra (api_key_id, book_id, started_at, finished_at,
        percentage, max_percentage, last_read_at, paused_at, derived_status, updated_at)
    SELECT m.api_key_id, m.book_id, m.started_at, m.finished_at, m.percentage, m.max_percentage,
        m.last_read_at,
        CASE WHEN s.derived = 'paused' THEN m.last_read_at + make_interval(days => $13) END,
        s.derived, now()
    FROM merged m, LATERAL (
        SELECT libris_derived_status(m.started_at, m.finished_at, m.last_read_at, $13, now()) AS derived
    ) s
    ORDER BY m.api_key_id, m.book_id
    ON CONFLICT (api_key_id, book_id) DO UPDATE SET
        started_at = least(ra.started_at, EXCLUDED.started_at),
        finished_at = least(ra.finished_at, EXCLUDED.finished_at),
        percentage = CASE WHEN ra.last_read_at IS NULL OR EXCLUDED.last_read_at > ra.last_read_at
                OR (EXCLUDED.last_read_at = ra.last_read_at
                    AND (ra.percentage IS NULL OR EXCLUDED.percentage >= ra.percentage))
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
SELECT i, api_key_id, book_id FROM effective;
