-- The books of an uploaded statistics.sqlite3 (reading::page_events::ingest): stored per
-- reader by partial MD5, and a document tied to no book links by metadata, by the rule of the
-- KoSync report (record_batch.sql): the one organized book with the same normalised title and
-- author. This and record_batch.sql are the two statements outside library:: that write
-- document_links, both with source 'metadata' and ON CONFLICT DO NOTHING. Returns the
-- documents that gained a link (their rows elsewhere are relinked after).
--
-- $1 the reader; arrays of equal length, one element per book: $2 documents, $3 titles,
-- $4 authors, $5 pages (0: unknown), $6 last_open (Unix seconds, 0: unknown).
WITH input AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::int4[], $6::int8[])
        AS r(document, title, authors, pages, last_open)
), stored AS (
    INSERT INTO reading_stat_books (api_key_id, document, title, authors, pages, last_open)
    SELECT $1, document, title, authors, nullif(pages, 0),
        CASE WHEN last_open > 0 THEN to_timestamp(last_open) END
    FROM input ORDER BY document
    ON CONFLICT (api_key_id, document) DO UPDATE SET
        title = excluded.title, authors = excluded.authors,
        pages = coalesce(excluded.pages, reading_stat_books.pages),
        last_open = greatest(excluded.last_open, reading_stat_books.last_open)
)
INSERT INTO document_links (document, book_id, source)
SELECT r.document, m.book_id, 'metadata'
FROM input r
CROSS JOIN LATERAL libris_document_book(r.document) l
CROSS JOIN LATERAL (
    SELECT min(b.id::text)::uuid AS book_id FROM books b
    WHERE b.status = 'organized'
      AND libris_norm(b.title) = libris_norm(r.title) AND libris_norm(b.author) = libris_norm(r.authors)
    HAVING count(*) = 1
) m
WHERE l.links = 0 AND r.title <> ''
ORDER BY r.document
ON CONFLICT DO NOTHING
RETURNING document
