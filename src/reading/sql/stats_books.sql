-- The authors, genres and language of every book a reader has reports of, for the top lists
-- of the statistics. $1 the reader.
SELECT b.id::text AS book, libris_authors(b.author) AS authors,
       array_remove(b.genres, NULL) AS genres, b.language
FROM books b
WHERE b.id IN (SELECT DISTINCT book_id FROM reading_progress_history WHERE api_key_id = $1)
