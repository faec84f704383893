-- The authors, genres, language and page count of the books of a reader's reports, for the
-- statistics (top lists, pages read). $1 the books' ids.
SELECT b.id, libris_authors(b.author) AS authors, array_remove(b.genres, NULL) AS genres,
       b.language, b.page_count
FROM books b
WHERE b.id = ANY($1)
