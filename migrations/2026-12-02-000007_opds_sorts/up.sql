-- All books sorted by author or by publication year, a page at a time from a boundary row.
CREATE INDEX books_opds_author_idx ON books (coalesce(libris_norm(author), ''), id)
    WHERE status = 'organized';
CREATE INDEX books_opds_published_idx ON books (coalesce(published_year, 0) DESC, id DESC)
    WHERE status = 'organized';
