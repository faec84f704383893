-- Page-read events of an uploaded statistics.sqlite3 (reading::page_events::ingest), a chunk
-- at a time. KOReader's own merge keeps the longer duration of a repeated (book, page,
-- start_time); so does this, and a row repeated as it was changes nothing. The caller
-- removes repeats within a chunk first (an upsert may touch a row once). Returns one row per
-- event added or lengthened.
--
-- $1 the reader; arrays of equal length: $2 documents, $3 start times (Unix seconds),
-- $4 pages, $5 durations (seconds), $6 the documents' page counts then.
INSERT INTO reading_page_events (api_key_id, start_time, document, page, duration, total_pages)
SELECT $1, to_timestamp(s), d, p, du, t
FROM unnest($2::text[], $3::int8[], $4::int4[], $5::int4[], $6::int4[]) AS r(d, s, p, du, t)
ON CONFLICT (api_key_id, start_time, document, page) DO UPDATE
    SET duration = excluded.duration, total_pages = excluded.total_pages
    WHERE excluded.duration > reading_page_events.duration
RETURNING 1 AS changed
