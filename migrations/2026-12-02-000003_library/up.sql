-- The library: which KOReader documents belong to which book, and what a file is called.

-- KOReader's "file name" checksum mode identifies a document by md5(file name).
ALTER TABLE book_files ADD COLUMN filename_digest text;
CREATE INDEX book_files_filename_digest_idx ON book_files (filename_digest);

-- One stored copy of each file: ingest checks under a lock, this keeps it true anyway.
DROP INDEX book_files_checksum_idx;
CREATE UNIQUE INDEX book_files_checksum_key ON book_files (checksum);

-- Every way a KOReader document id is tied to a book. The KoSync write path resolves a
-- document through this table only; a document tied to several books resolves to none
-- (unless a person linked it by hand), because KOReader's partial MD5 is not unique.
CREATE TABLE document_links (
    document text NOT NULL,
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    source text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document, book_id),
    CONSTRAINT document_links_source_check
        CHECK (source IN ('content', 'filename', 'metadata', 'manual'))
);
CREATE INDEX document_links_book_id_idx ON document_links (book_id);

-- Titles and authors compared the way a person would: case, accents aside, punctuation and
-- spacing ignored. Used to link a KoSync document by its metadata to an organized book.
CREATE FUNCTION libris_norm(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT
RETURN btrim(regexp_replace(lower(value), '[^[:alnum:]]+', ' ', 'g'));

CREATE INDEX books_norm_title_author_idx ON books (libris_norm(title), libris_norm(author))
    WHERE status = 'organized';

-- Readers list books by title or newest first; admins the review queue.
CREATE INDEX books_status_created_idx ON books (status, created_at DESC, id);
