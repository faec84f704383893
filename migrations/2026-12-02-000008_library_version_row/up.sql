-- The library version becomes a row. A sequence moves at nextval(), before the change it
-- announces is committed: a catalog request could read the new version, then the old
-- books, and keep the old page under the new version. A row moves when its transaction
-- commits, so whatever is read after the version is at least as new as that version.
-- The row is updated by deferred triggers, at commit and once per transaction, so writers of
-- books wait on each other only for the commit itself (not while, say, an approval moves
-- its files).
CREATE TABLE library_state (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL
);
INSERT INTO library_state (version) SELECT last_value FROM library_version;

CREATE OR REPLACE FUNCTION libris_library_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A transaction-local mark: one bump however many rows changed.
    IF current_setting('libris.library_changed', true) IS DISTINCT FROM 'yes' THEN
        PERFORM set_config('libris.library_changed', 'yes', true);
        UPDATE library_state SET version = version + 1;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER books_library_changed ON books;
DROP TRIGGER book_files_library_changed ON book_files;
CREATE CONSTRAINT TRIGGER books_library_changed AFTER INSERT OR UPDATE OR DELETE ON books
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION libris_library_changed();
CREATE CONSTRAINT TRIGGER book_files_library_changed AFTER INSERT OR UPDATE OR DELETE ON book_files
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION libris_library_changed();
-- Constraint triggers cannot fire on TRUNCATE.
CREATE TRIGGER books_library_truncated AFTER TRUNCATE ON books
    FOR EACH STATEMENT EXECUTE FUNCTION libris_library_changed();
CREATE TRIGGER book_files_library_truncated AFTER TRUNCATE ON book_files
    FOR EACH STATEMENT EXECUTE FUNCTION libris_library_changed();

DROP SEQUENCE library_version;
