CREATE SEQUENCE library_version;
SELECT setval('library_version', (SELECT version FROM library_state));

CREATE OR REPLACE FUNCTION libris_library_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('library_version');
    RETURN NULL;
END
$$;

DROP TABLE library_state;
