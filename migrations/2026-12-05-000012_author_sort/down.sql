CREATE INDEX books_opds_author_idx ON books (coalesce(libris_norm(author), ''), id)
    WHERE status = 'organized';
DROP TABLE author_sort_names;
