-- Moves reading → paused as time passes: $1 paused_after_days. Set-based; the partial
-- index on last_read_at WHERE derived_status = 'reading' keeps it to the candidates.
UPDATE reading_aggregate SET
    derived_status = 'paused',
    paused_at = last_read_at + make_interval(days => $1),
    updated_at = now()
WHERE derived_status = 'reading' AND last_read_at < now() - make_interval(days => $1);
