-- Hardcover: which books in review have been looked up (so a restart resumes the lookups
-- and a book with no match is not asked about again), and one row per sync run per reader.
ALTER TABLE books ADD COLUMN hardcover_searched_at timestamptz;
CREATE INDEX books_hardcover_unsearched_idx ON books (created_at)
    WHERE status = 'review' AND hardcover_searched_at IS NULL;

CREATE TABLE hardcover_sync_runs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    -- 'schedule', 'api' or 'cli'
    trigger text NOT NULL CHECK (trigger IN ('schedule', 'api', 'cli')),
    started_at timestamptz NOT NULL DEFAULT now(),
    -- Moved as the run goes: an open run whose heartbeat stopped belonged to a server that
    -- stopped during it.
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    linked integer NOT NULL DEFAULT 0,
    pulled integer NOT NULL DEFAULT 0,
    pushed integer NOT NULL DEFAULT 0,
    unchanged integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    -- Why the whole run stopped (a refused token, Hardcover unreachable), when it did.
    error text,
    -- Per book: {"book_id", "title", "error"}.
    failures jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX hardcover_sync_runs_key_idx ON hardcover_sync_runs (api_key_id, started_at DESC);
-- One open run per reader, whichever process (serve, `libris hardcover sync`) started it.
CREATE UNIQUE INDEX hardcover_sync_runs_open_idx ON hardcover_sync_runs (api_key_id)
    WHERE finished_at IS NULL;
