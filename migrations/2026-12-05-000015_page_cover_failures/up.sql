-- Failed renderings of a file's first page as its book's cover (library::page_covers). A file
-- that failed page_covers::MAX_FAILURES passes is not tried again: a hostile file costs its
-- time limit a few times, not once a pass for ever. A failure belongs to the file, so another
-- file of the same book is still tried.
ALTER TABLE book_files ADD COLUMN page_cover_failures smallint NOT NULL DEFAULT 0
    CONSTRAINT book_files_page_cover_failures_check CHECK (page_cover_failures >= 0);
-- What the job looks for, every pass: books without a cover, which are few once it has run.
CREATE INDEX books_without_cover_idx ON books (created_at) WHERE cover_path IS NULL;
