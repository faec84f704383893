-- A reader's reading goals (issue "Web app, part 2"): books a year, books a month, minutes a
-- day; at most one of each kind. Only the target is stored: progress is computed from the
-- reading state and the sessions each time (reading::goals), never kept twice.
CREATE TABLE reading_goals (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('books_per_year', 'books_per_month', 'minutes_per_day')),
    target integer NOT NULL CHECK (target > 0 AND target <= 10000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (api_key_id, kind)
);
