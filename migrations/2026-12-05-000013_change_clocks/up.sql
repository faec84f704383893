-- When what a catalog document shows last changed, exactly enough for Last-Modified and
-- If-Modified-Since (src/opds/conditional.rs): never earlier than a change it shows, and moved by
-- what goes away as by what comes.

-- The library's: stamped with its version, at commit (migration 8's deferred trigger), so a
-- deleted book moves it as an added one does, and no later commit has an earlier stamp.
ALTER TABLE library_state ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now();

CREATE OR REPLACE FUNCTION libris_library_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A transaction-local mark: one bump however many rows changed.
    IF current_setting('libris.library_changed', true) IS DISTINCT FROM 'yes' THEN
        PERFORM set_config('libris.library_changed', 'yes', true);
        UPDATE library_state SET version = version + 1,
            changed_at = greatest(changed_at, clock_timestamp());
    END IF;
    RETURN NULL;
END
$$;

-- A reader's: what changes moves reading_aggregate.updated_at; what goes (a reader's reading
-- or a book's forgotten, an aggregate left without history) leaves its time here. Only
-- deletes fire it, so the KoSync report pays nothing.
CREATE TABLE reading_forgotten (
    api_key_id uuid PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
    forgotten_at timestamptz NOT NULL
);

CREATE FUNCTION libris_reading_forgotten() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reading_forgotten AS f (api_key_id, forgotten_at)
    SELECT g.api_key_id, clock_timestamp() FROM (SELECT DISTINCT api_key_id FROM gone) g
    -- Rows that go with their reader (a deleted key) leave nothing behind.
    WHERE EXISTS (SELECT 1 FROM api_keys k WHERE k.id = g.api_key_id)
    ON CONFLICT (api_key_id) DO UPDATE
        SET forgotten_at = greatest(f.forgotten_at, EXCLUDED.forgotten_at);
    RETURN NULL;
END
$$;

CREATE TRIGGER reading_aggregate_forgotten AFTER DELETE ON reading_aggregate
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION libris_reading_forgotten();
CREATE TRIGGER reading_progress_forgotten AFTER DELETE ON reading_progress
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION libris_reading_forgotten();
