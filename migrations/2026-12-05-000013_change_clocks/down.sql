DROP TRIGGER reading_progress_forgotten ON reading_progress;
DROP TRIGGER reading_aggregate_forgotten ON reading_aggregate;
DROP FUNCTION libris_reading_forgotten();
DROP TABLE reading_forgotten;

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

ALTER TABLE library_state DROP COLUMN changed_at;
