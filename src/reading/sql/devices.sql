-- A reader's devices, from their KoSync reports (one reading_progress row per document and
-- device): the name KOReader sends, its device id, the last report, and how many books (a
-- document not matched to a book counts as its own). Newest first.
-- $1 the reader's api_key_id
SELECT device,
       device_id,
       max(updated_at) AS last_report,
       count(DISTINCT coalesce(book_id::text, document)) AS books
FROM reading_progress
WHERE api_key_id = $1
GROUP BY device, device_id
ORDER BY last_report DESC, device, device_id
