-- A file that arrives on its own (an upload, a single imported file) but is the same work
-- as a book already here, in a format that book lacks: review proposes it as another
-- format of that book (POST /api/books/{format_of}/merge) rather than as a duplicate.
ALTER TABLE books ADD COLUMN format_of uuid REFERENCES books (id) ON DELETE SET NULL;
CREATE INDEX books_format_of_idx ON books (format_of) WHERE format_of IS NOT NULL;
