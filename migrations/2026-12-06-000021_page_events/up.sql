-- KOReader's own reading statistics (issue "KOReader's own data"): what its Statistics
-- plugin records, uploaded as statistics.sqlite3 over WebDAV and read by libris
-- (reading::page_events). The file itself stays in the reader's WebDAV space, byte for byte.
--
-- reading_stat_books: the plugin's books by their partial MD5 (the KoSync document id), with
-- the title and authors it knew them by (for linking by metadata and for the documents that
-- matched no book). updated_at moves when an upload added events: the statistics' version.
CREATE TABLE reading_stat_books (
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    document text NOT NULL,
    title text NOT NULL,
    authors text NOT NULL,
    pages integer,
    last_open timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, document)
);

-- One page on screen: from start_time for duration seconds, when the document had
-- total_pages pages. KOReader's own key is (book, page, start_time): an upload that repeats
-- rows adds nothing. Keyed by reader and time first, the order the statistics read them in.
CREATE TABLE reading_page_events (
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    start_time timestamptz NOT NULL,
    document text NOT NULL,
    page integer NOT NULL,
    duration integer NOT NULL CHECK (duration >= 0),
    total_pages integer NOT NULL,
    PRIMARY KEY (api_key_id, start_time, document, page)
);
