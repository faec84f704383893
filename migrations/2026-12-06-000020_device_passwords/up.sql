-- Device passwords (issue "KOReader's own data"): a password per device, made by libris
-- (about 100 random bits, shown once), that opens KoSync, OPDS, WebDAV and the Notes API for
-- its reader, so one device can be cut off alone.
--
-- Only a SHA-256 is kept, of md5_hex(password): KOReader's KoSync sends md5_hex(password) as
-- its key while HTTP Basic sends the password, and both reduce to this one value. A fast hash
-- is enough for a random secret of this size (an API key is kept the same way); it also makes
-- the lookup an index probe instead of a bcrypt per stored password.
--
-- last_* are written at most once a minute per password (auth::device_passwords::Uses): what
-- the web app shows as "last used", and which device (KoSync's device name and id) used it.
CREATE TABLE device_passwords (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    label text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 100),
    key_sha256 text NOT NULL UNIQUE CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    last_used_by text CHECK (last_used_by IN ('kosync', 'opds', 'webdav', 'notes')),
    last_device text,
    last_device_id text,
    UNIQUE (api_key_id, label)
);
