-- Failed logins counted where every libris instance on this database sees them: the login
-- throttle's windows (src/http/throttle/ledger.rs), one row per key a failure counts against
-- (an address, a username, or the pair). Owned by auth::login_failures.
CREATE TABLE login_failures (
    -- "addr <ip>", "user <namespace> <name>" or "pair <ip> <namespace> <name>".
    key text PRIMARY KEY,
    -- The window's first failure; the window lasts a minute from it.
    window_start timestamptz NOT NULL,
    failures integer NOT NULL CHECK (failures >= 0),
    -- Keyed fingerprints of the wrong secrets counted in this window (never the secrets):
    -- the same wrong secret again counts once.
    seen bytea[] NOT NULL
);

CREATE INDEX login_failures_window_start ON login_failures (window_start);
