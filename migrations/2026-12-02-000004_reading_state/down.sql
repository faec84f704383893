DROP INDEX reading_aggregate_sweep_idx;
DROP INDEX reading_aggregate_shelf_idx;
DROP FUNCTION libris_effective_status(reading_status, reading_status, reading_status);
DROP FUNCTION libris_derived_status(timestamptz, timestamptz, timestamptz, integer, timestamptz);
ALTER TABLE reading_aggregate
    DROP COLUMN status,
    DROP COLUMN derived_status,
    DROP COLUMN paused_at,
    DROP COLUMN last_read_at,
    DROP COLUMN max_percentage,
    DROP COLUMN percentage;
