-- The library version becomes a row. A sequence moves at nextval(), before the change it
-- announces is committed: a catalog request could read the new version, then the old
-- books, and keep the old page under the new version. A row moves when its transaction
-- commits, so whatever is read after the version is at least as new as that version.
-- The price is that writers of books wait on each other from their change to their commit
-- (transactions that store a book are short).
CREATE TABLE library_state (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL
);
INSERT INTO library_state (version) SELECT last_value FROM library_version;

CREATE OR REPLACE FUNCTION libris_library_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE library_state SET version = version + 1;
    RETURN NULL;
END
$$;

DROP SEQUENCE library_version;
