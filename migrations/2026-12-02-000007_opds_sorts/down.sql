DROP INDEX books_opds_published_idx;
DROP INDEX books_opds_author_idx;
