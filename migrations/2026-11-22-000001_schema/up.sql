-- The core schema of libris (see docs/database.md, generated from the live database).

CREATE TYPE book_status AS ENUM ('inbox', 'review', 'organized');
CREATE TYPE reading_status AS ENUM ('unread', 'reading', 'finished', 'paused');

-- Keeps updated_at true for writers that forget it (admin SQL, later tools). The hot KoSync
-- tables set it explicitly instead, so they pay no trigger.
CREATE FUNCTION libris_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TABLE api_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key_prefix text NOT NULL,
    key_hash text NOT NULL,
    label text NOT NULL,
    is_admin boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX api_keys_key_prefix_idx ON api_keys (key_prefix);

CREATE TABLE books (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    status book_status NOT NULL DEFAULT 'inbox',
    title text,
    author text,
    isbn_10 text,
    isbn_13 text,
    publisher text,
    published_year integer,
    language text,
    description text,
    cover_url text,
    cover_path text,
    page_count integer,
    series text,
    series_index real,
    genres text[] NOT NULL DEFAULT '{}',
    tags text[] NOT NULL DEFAULT '{}',
    hardcover_book_id integer,
    hardcover_edition_id integer,
    created_by uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    possible_duplicate_of uuid REFERENCES books (id) ON DELETE SET NULL,
    approved_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    search_vector tsvector
);
CREATE UNIQUE INDEX books_series_index_key ON books (series, series_index)
    WHERE series IS NOT NULL AND series_index IS NOT NULL;
CREATE INDEX books_status_idx ON books (status);
CREATE INDEX books_created_by_idx ON books (created_by);
CREATE INDEX books_possible_duplicate_of_idx ON books (possible_duplicate_of);
CREATE INDEX books_isbn_13_idx ON books (isbn_13);
CREATE TRIGGER books_touch_updated_at BEFORE UPDATE ON books
    FOR EACH ROW EXECUTE FUNCTION libris_touch_updated_at();

CREATE TABLE book_files (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    format text NOT NULL,
    original_name text NOT NULL,
    storage_path text,
    inbox_path text,
    file_size bigint NOT NULL DEFAULT 0,
    checksum text,
    content_hash text,
    original_content_hash text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX book_files_book_id_idx ON book_files (book_id);
CREATE INDEX book_files_checksum_idx ON book_files (checksum);
CREATE INDEX book_files_content_hash_idx ON book_files (content_hash);
CREATE INDEX book_files_original_content_hash_idx ON book_files (original_content_hash);
CREATE TRIGGER book_files_touch_updated_at BEFORE UPDATE ON book_files
    FOR EACH ROW EXECUTE FUNCTION libris_touch_updated_at();

CREATE TABLE book_metadata_candidates (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    source text NOT NULL,
    raw_response jsonb,
    normalized jsonb NOT NULL DEFAULT '{}',
    confidence numeric(5,4) NOT NULL DEFAULT 0,
    selected_fields text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX book_metadata_candidates_book_id_idx ON book_metadata_candidates (book_id);

CREATE TABLE reading_progress (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    book_id uuid REFERENCES books (id) ON DELETE SET NULL,
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    document text NOT NULL,
    device text NOT NULL,
    device_id text,
    progress text NOT NULL,
    percentage numeric(5,4) NOT NULL DEFAULT 0,
    "timestamp" bigint NOT NULL DEFAULT 0,
    raw_payload jsonb,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reading_progress_percentage_check CHECK (percentage BETWEEN 0 AND 1),
    CONSTRAINT reading_progress_api_key_id_document_device_key UNIQUE (api_key_id, document, device)
);
CREATE INDEX reading_progress_book_id_idx ON reading_progress (book_id);
-- Re-linking documents that were synced before their book arrived.
CREATE INDEX reading_progress_document_idx ON reading_progress (document);

CREATE TABLE reading_progress_history (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    book_id uuid REFERENCES books (id) ON DELETE SET NULL,
    api_key_id uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    document text NOT NULL,
    device text NOT NULL,
    progress text NOT NULL,
    percentage numeric(5,4) NOT NULL DEFAULT 0,
    "timestamp" bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reading_progress_history_percentage_check CHECK (percentage BETWEEN 0 AND 1)
);
CREATE INDEX reading_progress_history_key_book_time_idx
    ON reading_progress_history (api_key_id, book_id, "timestamp");
CREATE INDEX reading_progress_history_document_created_idx
    ON reading_progress_history (document, created_at);
CREATE INDEX reading_progress_history_book_id_idx ON reading_progress_history (book_id);

CREATE TABLE reading_aggregate (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    book_id uuid REFERENCES books (id) ON DELETE SET NULL,
    started_at timestamptz,
    finished_at timestamptz,
    manual_status reading_status,
    manual_started_at timestamptz,
    manual_finished_at timestamptz,
    manual_paused_at timestamptz,
    manual_set_at timestamptz,
    external_status reading_status,
    external_status_synced_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reading_aggregate_api_key_id_book_id_key UNIQUE (api_key_id, book_id)
);
CREATE INDEX reading_aggregate_book_id_idx ON reading_aggregate (book_id);

CREATE TABLE service_credentials (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    service text NOT NULL,
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    username text NOT NULL,
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_credentials_service_check CHECK (service IN ('opds', 'kosync', 'hardcover')),
    CONSTRAINT service_credentials_service_api_key_id_key UNIQUE (service, api_key_id),
    CONSTRAINT service_credentials_service_username_key UNIQUE (service, username)
);
CREATE INDEX service_credentials_api_key_id_idx ON service_credentials (api_key_id);
CREATE TRIGGER service_credentials_touch_updated_at BEFORE UPDATE ON service_credentials
    FOR EACH ROW EXECUTE FUNCTION libris_touch_updated_at();

CREATE TABLE app_settings (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER app_settings_touch_updated_at BEFORE UPDATE ON app_settings
    FOR EACH ROW EXECUTE FUNCTION libris_touch_updated_at();

CREATE TABLE upload_registry (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    checksum text NOT NULL,
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    filename text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT upload_registry_checksum_api_key_id_key UNIQUE (checksum, api_key_id)
);
CREATE INDEX upload_registry_api_key_id_idx ON upload_registry (api_key_id);

CREATE TABLE hardcover_sync_log (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    hardcover_user_book_id integer,
    hardcover_read_id integer,
    last_status text,
    last_progress numeric(5,4),
    last_rating numeric(3,1),
    last_synced_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT hardcover_sync_log_api_key_id_book_id_key UNIQUE (api_key_id, book_id)
);
CREATE INDEX hardcover_sync_log_book_id_idx ON hardcover_sync_log (book_id);
CREATE TRIGGER hardcover_sync_log_touch_updated_at BEFORE UPDATE ON hardcover_sync_log
    FOR EACH ROW EXECUTE FUNCTION libris_touch_updated_at();
