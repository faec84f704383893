-- Every report of a reader, for the statistics: by the (api_key_id, …) index, no join and no
-- sort (reading::state::statistics orders them by time, then by when each was written, and
-- takes the books' page counts from stats_books.sql). $1 the reader.
SELECT h.book_id, h.document, h."timestamp", h.percentage::float8 AS percentage,
       (extract(epoch FROM h.created_at) * 1000000)::int8 AS written
FROM reading_progress_history h
WHERE h.api_key_id = $1
