DROP INDEX books_opds_updated_idx;
DROP INDEX books_opds_added_idx;
DROP INDEX books_opds_title_idx;
DROP TRIGGER book_files_library_changed ON book_files;
DROP TRIGGER books_library_changed ON books;
DROP FUNCTION libris_library_changed();
DROP SEQUENCE library_version;
