-- The book a new one is probably another format of. $1 the new book, $2 its ISBN-13,
-- $3 its title, $4 its author field, $5 its files' formats. Each branch is an index lookup
-- (the ISBN index; the normalised title and author index of organized books; the status
-- index for the review queue).
WITH matches AS (
    SELECT id FROM books WHERE isbn_13 = $2
    UNION
    SELECT id FROM books
    WHERE status = 'organized'
      AND libris_norm(title) = libris_norm($3) AND libris_norm(author) = libris_norm($4)
    UNION
    SELECT id FROM books
    WHERE status = 'review'
      AND libris_norm(title) = libris_norm($3) AND libris_norm(author) = libris_norm($4)
)
SELECT b.id FROM matches m JOIN books b ON b.id = m.id
WHERE b.id <> $1
  AND NOT EXISTS (SELECT 1 FROM book_files f WHERE f.book_id = b.id AND f.format = ANY($5))
ORDER BY b.status = 'organized' DESC, b.isbn_13 = $2 DESC NULLS LAST, b.created_at, b.id
LIMIT 1
