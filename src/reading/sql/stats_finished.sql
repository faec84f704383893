SELECT book_id::text AS book, coalesce(manual_finished_at, finished_at) AS finished_at,
       coalesce(manual_started_at, started_at) AS started_at
FROM reading_aggregate
WHERE api_key_id = $1 AND status = 'finished' AND book_id IS NOT NULL
  AND coalesce(manual_finished_at, finished_at) IS NOT NULL
