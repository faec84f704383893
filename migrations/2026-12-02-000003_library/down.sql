DROP INDEX books_status_created_idx;
DROP INDEX books_norm_title_author_idx;
DROP FUNCTION libris_norm(text);
DROP TABLE document_links;
DROP INDEX book_files_checksum_key;
CREATE INDEX book_files_checksum_idx ON book_files (checksum);
DROP INDEX book_files_filename_digest_idx;
ALTER TABLE book_files DROP COLUMN filename_digest;
