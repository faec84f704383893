DROP TABLE hardcover_sync_runs;
DROP INDEX books_hardcover_unsearched_idx;
ALTER TABLE books DROP COLUMN hardcover_searched_at;
