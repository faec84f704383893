-- The web app: a reader signs in with a web login (a service credential like KoSync's and
-- OPDS's) and holds a session. A session's id is random and only its SHA-256 is stored, so
-- the table leaked says nothing a cookie could be made from. Deleting a reader (an API key)
-- ends their sessions at once.
ALTER TABLE service_credentials DROP CONSTRAINT service_credentials_service_check;
ALTER TABLE service_credentials ADD CONSTRAINT service_credentials_service_check
    CHECK (service IN ('opds', 'kosync', 'hardcover', 'web'));

CREATE TABLE web_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash text NOT NULL UNIQUE,
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    -- The absolute end; idle expiry is last_seen_at plus the configured idle time.
    expires_at timestamptz NOT NULL,
    user_agent text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512)
);
CREATE INDEX web_sessions_api_key_id_idx ON web_sessions (api_key_id);
