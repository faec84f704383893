-- How authors sort, where a source said so: an EPUB's file-as, calibre's author_sort, a person
-- ("Doe, Jane" for "Jane Doe"). Keyed by the name as books' author field carries it (one
-- element of libris_authors()). Names without a row sort by library::author_sort::derive,
-- computed when read: nothing derived is stored, so there is nothing to backfill and a better
-- rule reaches every name at once.
CREATE TABLE author_sort_names (
    name text PRIMARY KEY,
    sort_name text NOT NULL CHECK (sort_name <> '')
);

-- Lists sort by these names: a change to them is a change of the library, for the catalog's
-- caches (migration 8).
CREATE CONSTRAINT TRIGGER author_sort_names_library_changed
    AFTER INSERT OR UPDATE OR DELETE ON author_sort_names
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION libris_library_changed();
CREATE TRIGGER author_sort_names_library_truncated AFTER TRUNCATE ON author_sort_names
    FOR EACH STATEMENT EXECUTE FUNCTION libris_library_changed();

-- All books by author orders by these sort names, made in Rust (library::catalog::by_author):
-- the index on the author field as written serves nothing any more.
DROP INDEX books_opds_author_idx;
