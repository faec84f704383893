UPDATE hardcover_sync_runs SET trigger = 'api' WHERE trigger = 'web';
ALTER TABLE hardcover_sync_runs DROP CONSTRAINT hardcover_sync_runs_trigger_check;
ALTER TABLE hardcover_sync_runs ADD CONSTRAINT hardcover_sync_runs_trigger_check
    CHECK (trigger IN ('schedule', 'api', 'cli'));
