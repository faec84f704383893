-- A reader's documents that matched no book: the current row of each (document, device),
-- newest first, with the report's body for KOReader's optional metadata; and the documents
-- of their KOReader statistics (reading::page_events) that resolve to no book and that no
-- report of theirs names, as one row each (device "KOReader statistics", the furthest page
-- read as the percentage, the title and authors the statistics knew them by as metadata).
-- $1 the reader's api_key_id
SELECT document, device, device_id, progress, percentage, updated_at, raw_payload FROM (
    SELECT document, device, device_id, progress, percentage::float8 AS percentage,
           updated_at, raw_payload
    FROM reading_progress
    WHERE api_key_id = $1 AND book_id IS NULL
    UNION ALL
    SELECT s.document, 'KOReader statistics', NULL, '',
           coalesce((SELECT least(1, max(e.page)::float8 / nullif(max(e.total_pages), 0))
                     FROM reading_page_events e
                     WHERE e.api_key_id = s.api_key_id AND e.document = s.document), 0),
           s.updated_at,
           jsonb_build_object('metadata', jsonb_build_object('title', s.title, 'authors', s.authors))
    FROM reading_stat_books s
    WHERE s.api_key_id = $1
      AND (SELECT l.book_id FROM libris_document_book(s.document) l) IS NULL
      AND NOT EXISTS (SELECT 1 FROM reading_progress p
                      WHERE p.api_key_id = s.api_key_id AND p.document = s.document)
) u
ORDER BY updated_at DESC, document, device
