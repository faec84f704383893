-- Highlights and notes from KOReader's Exporter plugin (issue "KOReader's own data").
--
-- export_notes: notes as KOReader's Nextcloud target sent them to libris's Notes API, kept as
-- sent (the API lists and updates them; KOReader finds its note again by title). Integer ids,
-- as Nextcloud's.
CREATE TABLE export_notes (
    id bigserial PRIMARY KEY,
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    title text NOT NULL,
    content text NOT NULL,
    category text NOT NULL DEFAULT '',
    favorite boolean NOT NULL DEFAULT false,
    modified timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX export_notes_reader_idx ON export_notes (api_key_id, category);

-- What those notes and the JSON exports hold, one row a highlight (with its note, if any),
-- per reader. `fingerprint` (SHA-256 of the book's normalised title and authors, the page and
-- the text) makes a re-export update the row it made before instead of adding another.
-- book_id: the book it was linked to (by the file's digest, else by title and authors, else
-- by hand); NULL while it is to be linked by hand.
CREATE TABLE annotations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    book_id uuid REFERENCES books (id) ON DELETE SET NULL,
    book_title text NOT NULL,
    book_authors text NOT NULL,
    chapter text,
    page text,
    text text NOT NULL,
    note text,
    drawer text,
    color text,
    highlighted_at timestamptz,
    source text NOT NULL CHECK (source IN ('notes', 'json')),
    fingerprint text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (api_key_id, fingerprint)
);
CREATE INDEX annotations_reader_book_idx ON annotations (api_key_id, book_id);
