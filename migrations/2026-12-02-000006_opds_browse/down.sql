DROP INDEX books_opds_series_idx;
DROP INDEX books_opds_publisher_idx;
DROP INDEX books_opds_language_idx;
DROP INDEX books_opds_genres_idx;
DROP INDEX books_opds_authors_idx;
DROP FUNCTION libris_authors(text);
