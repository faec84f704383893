-- The OPDS catalog pages long lists from cached page boundaries; this counter tells it when
-- the library changed. A sequence, not a row: bumping it takes no lock, so concurrent
-- writers of books never wait on each other for it.
CREATE SEQUENCE library_version;

CREATE FUNCTION libris_library_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('library_version');
    RETURN NULL;
END
$$;

CREATE TRIGGER books_library_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON books
    FOR EACH STATEMENT EXECUTE FUNCTION libris_library_changed();
CREATE TRIGGER book_files_library_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON book_files
    FOR EACH STATEMENT EXECUTE FUNCTION libris_library_changed();

-- The catalog's lists, each a page at a time from a boundary row (keyset, never OFFSET).
CREATE INDEX books_opds_title_idx ON books (coalesce(libris_norm(title), ''), id)
    WHERE status = 'organized';
CREATE INDEX books_opds_added_idx ON books (created_at DESC, id DESC)
    WHERE status = 'organized';
-- The newest change among organized books: when the catalog's root last changed.
CREATE INDEX books_opds_updated_idx ON books (updated_at) WHERE status = 'organized';
