CREATE SEQUENCE library_version;
SELECT setval('library_version', (SELECT version FROM library_state));

CREATE OR REPLACE FUNCTION libris_library_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('library_version');
    RETURN NULL;
END
$$;

DROP TRIGGER books_library_truncated ON books;
DROP TRIGGER book_files_library_truncated ON book_files;
DROP TRIGGER books_library_changed ON books;
DROP TRIGGER book_files_library_changed ON book_files;
CREATE TRIGGER books_library_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON books
    FOR EACH STATEMENT EXECUTE FUNCTION libris_library_changed();
CREATE TRIGGER book_files_library_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON book_files
    FOR EACH STATEMENT EXECUTE FUNCTION libris_library_changed();

DROP TABLE library_state;
