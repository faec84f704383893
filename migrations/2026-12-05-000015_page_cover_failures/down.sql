DROP INDEX books_without_cover_idx;
ALTER TABLE book_files DROP COLUMN page_cover_failures;
