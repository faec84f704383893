-- A Hardcover sync a reader starts from the web app says so in its run ("web"), as runs from
-- the REST API say "api".
ALTER TABLE hardcover_sync_runs DROP CONSTRAINT hardcover_sync_runs_trigger_check;
ALTER TABLE hardcover_sync_runs ADD CONSTRAINT hardcover_sync_runs_trigger_check
    CHECK (trigger IN ('schedule', 'api', 'cli', 'web'));
