-- A reader's documents that matched no book: the current row of each (document, device),
-- newest first, with the report's body for KOReader's optional metadata.
-- $1 the reader's api_key_id
SELECT document, device, device_id, progress, percentage::float8 AS percentage,
       updated_at, raw_payload
FROM reading_progress
WHERE api_key_id = $1 AND book_id IS NULL
ORDER BY updated_at DESC, document, device
