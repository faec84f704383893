-- A reader's devices, from their KoSync reports: each (name KOReader sends, device id) with
-- its current rows (one per document), newest first. For each: the last report, the first
-- one and the reports of the last 30 days (history keeps the name, not the device id, so two
-- devices of one name share these), how many books (a document matched to none counts as its
-- own), how its documents matched a book (the link each current row's book came by; none:
-- unmatched), and the seconds of the last 30 days in which it sent three reports or more: a
-- burst, as when KOReader replays reports it could not send (each is stamped when it
-- arrives, not when it was read).
-- $1 the reader's api_key_id
WITH current AS (
    SELECT p.device, p.device_id, p.document, p.book_id, p.updated_at, l.source
    FROM reading_progress p
    LEFT JOIN document_links l ON l.document = p.document AND l.book_id = p.book_id
    WHERE p.api_key_id = $1
), history AS (
    SELECT device, min(created_at) AS first_report,
        count(*) FILTER (WHERE created_at > now() - interval '30 days') AS recent
    FROM reading_progress_history
    WHERE api_key_id = $1
    GROUP BY device
), bursts AS (
    SELECT device, count(*) AS bursts
    FROM (
        SELECT device FROM reading_progress_history
        WHERE api_key_id = $1 AND created_at > now() - interval '30 days'
        GROUP BY device, "timestamp"
        HAVING count(*) >= 3
    ) s
    GROUP BY device
)
SELECT c.device,
       c.device_id,
       max(c.updated_at) AS last_report,
       least(min(h.first_report), min(c.updated_at)) AS first_report,
       coalesce(min(h.recent), 0)::int8 AS reports_30_days,
       coalesce(min(b.bursts), 0)::int8 AS bursts_30_days,
       count(DISTINCT coalesce(c.book_id::text, c.document)) AS books,
       count(*) FILTER (WHERE c.source = 'content') AS by_content,
       count(*) FILTER (WHERE c.source = 'filename') AS by_filename,
       count(*) FILTER (WHERE c.source = 'metadata') AS by_metadata,
       count(*) FILTER (WHERE c.source = 'manual') AS by_hand,
       count(*) FILTER (WHERE c.book_id IS NULL) AS unmatched
FROM current c
LEFT JOIN history h ON h.device = c.device
LEFT JOIN bursts b ON b.device = c.device
GROUP BY c.device, c.device_id
ORDER BY last_report DESC, c.device, c.device_id
