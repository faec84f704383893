-- The books a reader finished (the effective finish and start: set by hand, else from their
-- reports), organized ones only, as every list of books is. $1 the reader.
SELECT a.book_id::text AS book, coalesce(a.manual_finished_at, a.finished_at) AS finished_at,
       coalesce(a.manual_started_at, a.started_at) AS started_at
FROM reading_aggregate a JOIN books b ON b.id = a.book_id AND b.status = 'organized'
WHERE a.api_key_id = $1 AND a.status = 'finished'
  AND coalesce(a.manual_finished_at, a.finished_at) IS NOT NULL
